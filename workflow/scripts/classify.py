"""Rule classify: LOSO random-forest probabilities of one run and task, for every landmark source."""

import _bootstrap  # noqa: F401
import pandas as pd

from neuroface.classification.forest import classify_sources
from neuroface.io import setup_logging, write_table

snakemake = globals()["snakemake"]
setup_logging(snakemake.log[0])
params = snakemake.params
tables = {source: pd.read_csv(path, sep="\t") for source, path in zip(params.sources, snakemake.input, strict=True)}
out = classify_sources(
    tables,
    list(params.features),
    params.disease,
    snakemake.wildcards.comparison,
    snakemake.wildcards.task,
    rf_params={**params.random_forest, "n_jobs": snakemake.threads},
    seed=params.seed,
)
write_table(out, snakemake.output[0])
