"""Rule reconstruct_3d: both models' 3D landmarks of one recording, from one pass over its bag."""

import _bootstrap  # noqa: F401
import pandas as pd

from neuroface.io import setup_logging, write_table
from neuroface.realsense.bag import open_bag
from neuroface.tracking.reconstruct import V_COLUMNS, reconstruct_tracks

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
models = snakemake.params.models
tables = reconstruct_tracks(
    open_bag(snakemake.input.bag, snakemake.params.backend),
    {m: pd.read_parquet(path) for m, path in zip(models, snakemake.input.tracks, strict=True)},
    snakemake.params.radius,
    snakemake.params.tolerance_ms,
)
for model, path in zip(models, snakemake.output, strict=True):
    table = tables[model]
    log.info("%s: %d frames; landmarks with valid depth: %.3f", model, len(table), table[V_COLUMNS].to_numpy().mean())
    write_table(table, path)
