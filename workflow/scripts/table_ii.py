"""Rule table_ii."""

import _bootstrap  # noqa: F401
import pandas as pd

from neuroface.classification.evaluation import table_ii, table_ii_markdown
from neuroface.io import atomic_path, setup_logging, write_table

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
level = snakemake.params.level
probabilities = pd.concat([pd.read_csv(p, sep="\t") for p in snakemake.input], ignore_index=True)
table = table_ii(probabilities, level)
write_table(table, snakemake.output.tsv)
markdown = table_ii_markdown(table, level)
with atomic_path(snakemake.output.md) as tmp:
    tmp.write_text(markdown)
log.info("\n%s", markdown)
