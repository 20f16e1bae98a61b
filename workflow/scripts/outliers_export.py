"""Rule export_outliers."""

import _bootstrap  # noqa: F401
import pandas as pd

from neuroface.io import setup_logging
from neuroface.tracking.outliers import export_outliers

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
export_outliers(
    snakemake.wildcards.recording,
    snakemake.input.bag,
    pd.read_parquet(snakemake.input.pretrained),
    pd.read_parquet(snakemake.input.finetuned),
    snakemake.output[0],
    snakemake.params.frames,
    snakemake.params.weights,
    snakemake.params.backend,
)
