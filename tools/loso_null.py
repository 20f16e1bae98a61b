"""How far from chance a leave-one-subject-out forest lands when its features carry no group signal: one
Table II cell's AUC beside its distribution under permuted participant labels.

    PYTHONPATH=src python tools/loso_null.py WORKDIR --run HC_vs_PS --task SPREAD --source finetuned
        [--permutations 100] [--seed 1]

Reads WORKDIR's config.yaml, with the schema's defaults as the workflow fills them in (the run's disease group and
feature set, the forest's settings and seed) and the features of the cell
(results/features/<source>/<task>.<set>.tsv), classifies them exactly as rule classify does
(``neuroface.classification.forest.classify``) and then again after each seeded permutation of the group labels
among the run's participants (each participant keeps all its repetitions; group sizes are kept). Under the
permutations no feature can carry group information, so their AUCs are the null distribution of this cell's AUC for
these features, participants and repetitions. Prints the observed AUC, the null's mean, median and 5th/95th
percentiles, and the share of permutations at or below (and at or above) the observed AUC.

Leave-one-out estimates are biased below chance on features without signal: holding out a participant of one
group leaves the training set tilted towards the other, so the held-out participant's predicted probability
leans the wrong way (the known negative bias of leave-one-out cross-validation in small samples)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from neuroface.classification.forest import classify
from neuroface.classification.roc import auc
from neuroface.config import read_config


def null_aucs(
    table: pd.DataFrame,
    features: list[str],
    disease: str,
    rf_params: dict,
    seed: int,
    permutations: int,
    permutation_seed: int,
) -> tuple[float, np.ndarray]:
    """The observed LOSO AUC of HC vs ``disease`` on ``table`` and the AUCs after ``permutations`` seeded
    permutations of the participants' group labels."""
    rows = table[table["group"].isin(["HC", disease])]
    observed = classify(rows, features, disease, rf_params=rf_params, seed=seed)
    groups = rows.drop_duplicates("participant_id").set_index("participant_id")["group"]
    rng = np.random.default_rng(permutation_seed)
    out = np.empty(permutations)
    for k in range(permutations):
        shuffled = dict(zip(groups.index, rng.permutation(groups.to_numpy()), strict=True))
        permuted = classify(
            rows.assign(group=rows["participant_id"].map(shuffled)), features, disease, rf_params=rf_params, seed=seed
        )
        out[k] = auc(permuted["label"], permuted["probability"])
    return auc(observed["label"], observed["probability"]), out


def summary(observed: float, null: np.ndarray) -> str:
    if null.size == 0:  # --permutations 0: the cell's AUC alone
        return f"observed AUC {observed:.3f}; 0 permutations"
    p5, p50, p95 = np.percentile(null, [5, 50, 95])
    return (
        f"observed AUC {observed:.3f}; {null.size} permutations: mean {null.mean():.3f}, median {p50:.3f}, "
        f"5th-95th percentile {p5:.3f}-{p95:.3f}; share <= observed {np.mean(null <= observed):.3f}, "
        f">= observed {np.mean(null >= observed):.3f}, < 0.5 {np.mean(null < 0.5):.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--run", required=True, help="a comparison of classification.runs, e.g. HC_vs_PS")
    parser.add_argument("--task", required=True)
    parser.add_argument("--source", required=True, help="landmark source: pretrained, finetuned, true2d, ...")
    parser.add_argument("--permutations", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1, help="seed of the permutations")
    args = parser.parse_args()
    config_path = args.workdir / "config.yaml"
    if not config_path.is_file():
        parser.error(f"{config_path}: no config.yaml in the work directory")
    cfg = read_config(config_path)  # as the workflow reads it: the schema's defaults fill in what it leaves out
    runs = cfg["classification"]["runs"]
    if args.run not in runs:
        parser.error(f"{config_path}: classification.runs has no {args.run!r} (it has {', '.join(runs)})")
    disease, feature_set = runs[args.run]
    path = args.workdir / "results" / "features" / args.source / f"{args.task}.{feature_set}.tsv"
    if not path.is_file():
        parser.error(f"{path}: no features of source {args.source!r} and task {args.task!r}; run the workflow first")
    observed, null = null_aucs(
        pd.read_csv(path, sep="\t"),
        list(cfg["features"]["sets"][feature_set]),
        disease,
        {**cfg["classification"]["random_forest"], "n_jobs": 1},
        int(cfg["classification"]["seed"]),
        args.permutations,
        args.seed,
    )
    print(f"{args.source} {args.task} {args.run}: {summary(observed, null)}")


if __name__ == "__main__":
    main()
