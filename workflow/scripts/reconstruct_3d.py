"""Rule reconstruct_3d."""

import _bootstrap  # noqa: F401
import pandas as pd

from neuroface.io import setup_logging, write_table
from neuroface.realsense.bag import open_bag
from neuroface.reconstruct import V_COLUMNS, reconstruct

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
table = reconstruct(
    open_bag(snakemake.input.bag, snakemake.params.backend),
    pd.read_parquet(snakemake.input.track),
    snakemake.params.radius,
    snakemake.params.tolerance_ms,
)
log.info("%d frames; landmarks with valid depth: %.3f", len(table), table[V_COLUMNS].to_numpy().mean())
write_table(table, snakemake.output[0])
