"""Rule roc_figure: Fig. 3 or 4."""

import _bootstrap  # noqa: F401
import pandas as pd

from neuroface.classification.figures import roc_figure
from neuroface.io import setup_logging
from neuroface.plotting import save

snakemake = globals()["snakemake"]
setup_logging(snakemake.log[0])
comparison = snakemake.params.comparison
probabilities = pd.concat([pd.read_csv(p, sep="\t") for p in snakemake.input.probabilities], ignore_index=True)
table = pd.read_csv(snakemake.input.table, sep="\t")
title = f"Fig. {snakemake.params.figure.removeprefix('fig')}: {comparison.replace('_', ' ')}"
save(
    roc_figure(probabilities, table[table["comparison"] == comparison], title),
    snakemake.output.pdf,
    snakemake.output.png,
)
