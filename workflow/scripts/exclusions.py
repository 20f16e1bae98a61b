"""Rule exclusions: the exclusion counts table."""

import _bootstrap  # noqa: F401
import pandas as pd

from neuroface.features.exclusions import exclusion_table
from neuroface.io import setup_logging, write_table

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
dropped = {
    source: pd.read_csv(path, sep="\t")
    for source, path in zip(snakemake.params.sources, snakemake.input.dropped, strict=True)
}
table = exclusion_table(
    pd.DataFrame(snakemake.params.participants),
    pd.DataFrame(snakemake.params.recordings),
    pd.read_csv(snakemake.input.segmentation, sep="\t"),
    dropped,
)
write_table(table, snakemake.output[0])
log.info("\n%s", table.to_string(index=False))
