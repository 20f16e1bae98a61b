"""Rule table_iii."""

import _bootstrap  # noqa: F401
import pandas as pd

from neuroface.fan.accuracy import table_iii, table_iii_markdown
from neuroface.io import atomic_path, setup_logging, write_table

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
per_image = pd.read_csv(snakemake.input[0], sep="\t")
detected = per_image[per_image["detected"]]
tables = table_iii(detected, alpha=snakemake.params.alpha)
long = pd.concat([t.assign(part=name) for name, t in tables.items()], ignore_index=True)
write_table(long, snakemake.output.tsv)
failures = per_image[~per_image["detected"]].drop_duplicates("image").groupby("group").size()
markdown = table_iii_markdown(tables)
markdown += f"\nFace detector failures (images excluded): {failures.to_dict() or 'none'}\n"
with atomic_path(snakemake.output.md) as tmp:
    tmp.write_text(markdown)
log.info("\n%s", markdown)
