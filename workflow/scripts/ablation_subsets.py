"""Rule ablation_subsets."""

import _bootstrap  # noqa: F401
import pandas as pd

from neuroface.inputs.annotated import ablation_subsets
from neuroface.io import setup_logging, write_table

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
p = snakemake.params
subsets = ablation_subsets(
    pd.read_parquet(snakemake.input.annotations),
    pd.read_csv(snakemake.input.split, sep="\t"),
    [list(c) for c in p.compositions],
    list(p.participants_per_group),
    p.seed,
)
counts = subsets.groupby(["arm", "group"]).agg(images=("frame", "size"), participants=("participant_id", "nunique"))
log.info("training images and participants per arm and group:\n%s", counts.to_string())
write_table(subsets, snakemake.output[0])
