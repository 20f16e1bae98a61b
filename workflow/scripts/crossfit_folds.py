"""Rule crossfit_folds: the folds planned when the DAG was built, with each fold's training set."""

import _bootstrap  # noqa: F401
import pandas as pd

from neuroface.io import setup_logging, write_table

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
p = snakemake.params
annotated = set(p.annotated)
folds = pd.DataFrame(
    [(pid, p.groups[pid], fold, pid in annotated) for pid, fold in sorted(p.fold_of.items())],
    columns=["participant_id", "group", "fold", "annotated"],
)
log.info("participants per fold and group: %s", folds.groupby(["fold", "group"]).size().to_dict())
write_table(folds, snakemake.output[0])
