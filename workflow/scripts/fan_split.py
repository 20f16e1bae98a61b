"""Rule fan_split."""

import _bootstrap  # noqa: F401
import pandas as pd

from neuroface.inputs import tables
from neuroface.inputs.annotated import split_participants
from neuroface.io import setup_logging, write_table

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
participants = tables.read_participants(snakemake.input.participants)
annotated = set(pd.read_parquet(snakemake.input.annotations, columns=["participant_id"])["participant_id"])
split = split_participants(participants, snakemake.params.per_group, snakemake.params.seed, annotated)
log.info("%s", split.groupby(["group", "set"]).size().to_dict())
write_table(split, snakemake.output[0])
