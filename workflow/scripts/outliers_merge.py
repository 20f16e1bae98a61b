"""Rule relabelled_annotations."""

import _bootstrap  # noqa: F401
import pandas as pd

from neuroface.inputs.annotated import merge_relabelled, read_relabelled
from neuroface.io import setup_logging, write_table

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
frames = pd.concat([pd.read_csv(f, sep="\t") for f in snakemake.input.frames], ignore_index=True)
relabelled = read_relabelled(
    snakemake.params.directory, snakemake.params.owners, frames.groupby("recording_id").size().to_dict()
)
merged, replaced = merge_relabelled(pd.read_parquet(snakemake.input.annotations), relabelled)
for row in replaced.itertuples(index=False):
    log.info(
        "%s frame %d: annotated in %s and corrected in the relabelled files; the correction wins",
        row.recording_id,
        row.frame,
        row.source,
    )
log.info(
    "%d corrected frames in %d recordings (%d replace annotated frames): %d annotated frames in all",
    len(relabelled),
    relabelled["recording_id"].nunique(),
    len(replaced),
    len(merged),
)
write_table(merged, snakemake.output[0])
