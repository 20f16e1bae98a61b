"""Rule table_iii_crossfit."""

import _bootstrap  # noqa: F401
import pandas as pd

from neuroface.fan.accuracy import crossfit_markdown, crossfit_table
from neuroface.io import atomic_path, setup_logging, write_table

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
per_image = pd.read_csv(snakemake.input[0], sep="\t")
tables = crossfit_table(per_image[per_image["detected"]], alpha=snakemake.params.alpha)
write_table(pd.concat([t.assign(part=name) for name, t in tables.items()], ignore_index=True), snakemake.output.tsv)
markdown = crossfit_markdown(tables)
failures = per_image[~per_image["detected"]].drop_duplicates("image").groupby("group").size()
markdown += f"\nFace detector failures (images excluded): {failures.to_dict() or 'none'}\n"
with atomic_path(snakemake.output.md) as tmp:
    tmp.write_text(markdown)
log.info("\n%s", markdown)
