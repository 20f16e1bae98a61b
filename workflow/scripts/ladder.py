"""Rule ladder: the signal ladder's table and figure (AUC per rung, feature correlations with R1,
landmark bias and jitter per rung, identity-only check, best single feature per rung, the design's
own separation)."""

import itertools

import _bootstrap  # noqa: F401
import numpy as np
import pandas as pd

from neuroface.classification.forest import classify_sources
from neuroface.classification.ladder import (
    RUNGS,
    design_aucs,
    error_summary,
    feature_correlations,
    identity_aucs,
    ladder_figure,
    ladder_markdown,
    rung_aucs,
)
from neuroface.classification.univariate import best_features
from neuroface.features.registry import USED_LANDMARKS
from neuroface.features.rungs import error_split
from neuroface.io import atomic_path, setup_logging, write_table
from neuroface.plotting import save
from neuroface.synthetic.cohort import plan_cohort
from neuroface.synthetic.generate import identity_table
from neuroface.tracks import median_smooth, points, points3d, read_recordings, track_table

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
p = snakemake.params
rung_of = {source: rung for rung, source in RUNGS.items()}
keys = [(source, t, s) for source in p.sources for t, s in p.feature_keys]
features = {k: pd.read_csv(path, sep="\t") for k, path in zip(keys, snakemake.input.features, strict=True)}

# AUC per rung: R1-R4 from the classify rule, R0 classified here the same way
probabilities = pd.concat([pd.read_csv(f, sep="\t") for f in snakemake.input.probabilities], ignore_index=True)
r0 = []
for comparison, (disease, feature_set) in p.runs.items():
    for task in sorted(probabilities["task"].unique()):
        r0.append(
            classify_sources(
                {"true3d_50fps": features[("true3d_50fps", task, feature_set)]},
                list(p.sets[feature_set]),
                disease,
                comparison,
                task,
                rf_params=p.random_forest,
                seed=p.seed,
            )
        )
probabilities = pd.concat([probabilities, *r0], ignore_index=True)
aucs = rung_aucs(probabilities, p.level)
write_table(aucs, snakemake.output.aucs)

correlations = pd.concat(
    [
        feature_correlations(
            {rung_of[s]: features[(s, task, feature_set)] for s in p.sources},
            p.sets[feature_set],
            comparison,
            task,
        )
        for comparison, (_, feature_set) in p.runs.items()
        for task in aucs.loc[aucs["comparison"] == comparison, "task"].unique()
    ],
    ignore_index=True,
)
write_table(correlations, snakemake.output.correlations)

# landmark error per rung and recording, on the landmarks the features read
# the inputs are in CLASSIFIED_RECORDINGS' order (sorted ids), not the recordings table's
ids = sorted(r["recording_id"] for r in p.recordings)
recordings = pd.DataFrame(p.recordings).set_index("recording_id").loc[ids].reset_index()
# the inputs: one file per (model or source, participant), in the rule's expand() order
participants = sorted(recordings["participant_id"].unique())
tracks = {
    (m, r): table
    for (m, _), path in zip(itertools.product(p.models, participants), snakemake.input.tracks, strict=True)
    for r, table in read_recordings(path).items()
}
sources3d = itertools.product((*p.models, "true2d"), participants)
pts3d = {
    (s, r): table
    for (s, _), path in zip(sources3d, snakemake.input.points3d, strict=True)
    for r, table in read_recordings(path).items()
}
rows = []
used = list(USED_LANDMARKS)
for rec, truth_path in zip(recordings.itertuples(), snakemake.input.truth, strict=True):
    truth = np.load(truth_path)
    t2, t3 = truth["landmarks_2d"].astype(np.float64), truth["landmarks_3d"].astype(np.float64)
    smoothed_truth = points(median_smooth(track_table(truth["frame_number"], truth["timestamp_ms"], t2), p.window_s))
    estimates = {
        "R2": (smoothed_truth, points3d(pts3d[("true2d", rec.recording_id)])),
        **{
            rung_of[m]: (
                points(tracks[(m, rec.recording_id)]),
                points3d(pts3d[(m, rec.recording_id)]),
            )
            for m in p.models
        },
    }
    for rung, (e2, e3) in estimates.items():
        for space, est, ref in (("2d px", e2, t2), ("3d mm", e3, t3)):
            bias, jitter = error_split(est[:, used], ref[:, used])
            rows.append((rung, rec.recording_id, rec.group, rec.task, space, bias, jitter))
errors = pd.DataFrame(rows, columns=["rung", "recording_id", "group", "task", "space", "bias", "jitter"])
summary = error_summary(errors)
write_table(errors, snakemake.output.errors)

# identity-only classifier: participants of each run as classified from the true 3D (R1)
plan = plan_cohort(p.synthetic)
r1 = probabilities[probabilities["source"] == "true3d"]
by_run = {c: sorted(r1.loc[r1["comparison"] == c, "participant_id"].unique()) for c in p.runs}
identity = identity_aucs(identity_table(plan), p.runs, by_run, p.random_forest, p.seed, p.level)
write_table(identity, snakemake.output.identity)

# per rung the best single feature (max-statistic permutation test); the design's knobs per run and task
best = pd.concat(
    [
        best_features(
            {s: features[(s, task, feature_set)] for s in sorted(p.sources, key=list(RUNGS.values()).index)},
            p.sets[feature_set],
            disease,
            comparison,
            task,
            permutations=2000,
            seed=p.seed,
        )
        for comparison, (disease, feature_set) in p.runs.items()
        for task in aucs.loc[aucs["comparison"] == comparison, "task"].unique()
    ],
    ignore_index=True,
)
write_table(best, snakemake.output.best)
classified = {
    (c, t): sorted(g["participant_id"].unique()) for (c, t), g in r1.groupby(["comparison", "task"], sort=False)
}
design = design_aucs(plan, p.runs, classified, draws=2000, seed=p.seed)
write_table(design, snakemake.output.design)

markdown = ladder_markdown(aucs, summary, identity, p.level, best, design)
with atomic_path(snakemake.output.md) as tmp:
    tmp.write_text(markdown)
save(ladder_figure(aucs, summary), snakemake.output.pdf, snakemake.output.png)
log.info("\n%s", markdown)
