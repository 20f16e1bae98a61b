"""Rule classify: LOSO random-forest probabilities of one run and task, for every landmark source."""

import _bootstrap  # noqa: F401
import pandas as pd

from neuroface.classification import classify
from neuroface.io import setup_logging, write_table

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
params = snakemake.params
rf = {**params.random_forest, "n_jobs": snakemake.threads}
parts = []
for source, path in zip(params.sources, snakemake.input, strict=True):
    table = pd.read_csv(path, sep="\t")
    counts = table.groupby("group")["participant_id"].nunique()
    if min(counts.get("HC", 0), counts.get(params.disease, 0)) < 2:
        log.warning(
            "%s: too few participants with classified repetitions (%s): no AUC for this source",
            source,
            counts.to_dict(),
        )
        continue
    probabilities = classify(table, list(params.features), params.disease, rf_params=rf, seed=params.seed)
    log.info(
        "%s: %d participants (%s) from %d repetitions",
        source,
        len(probabilities),
        probabilities["group"].value_counts().to_dict(),
        int(probabilities["n_repetitions"].sum()),
    )
    parts.append(probabilities.assign(source=source))
empty = pd.DataFrame(columns=["participant_id", "group", "label", "probability", "n_repetitions", "source"])
out = pd.concat(parts or [empty], ignore_index=True).assign(
    comparison=snakemake.wildcards.comparison, task=snakemake.wildcards.task
)
write_table(
    out[["comparison", "task", "source", *[c for c in out.columns if c not in ("comparison", "task", "source")]]],
    snakemake.output[0],
)
