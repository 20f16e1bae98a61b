"""Which single features separate the groups, for each landmark source, and whether the best of them separates them
better than chance lets the best of that many features do.

    PYTHONPATH=src python tools/feature_auc.py WORKDIR --run HC_vs_PS [--tasks BBP OPEN SPREAD]
        [--sources true3d_50fps true3d true2d finetuned pretrained] [--permutations 2000] [--seed 1] [--all]
        [--mechanism [--draws 5000]]

Reads WORKDIR's config.yaml as the workflow fills it in (the run's disease group and feature set) and, per task and
source, the features the forests of Table II and the ladder classify (``results/features/<source>/<task>.<set>.tsv``,
HC and the run's disease group). Each participant is one case: its feature values are the mean over its repetitions
(the forest's probability is the mean over them too). For each feature, the AUC over participants of the disease
group against HC (:func:`neuroface.classification.roc.auc`; 0.5 = no separation, below 0.5 = lower in the disease
group). The *best* feature is the one farthest from 0.5.

The best of k features is far from 0.5 even without any group signal: with 13 features and 22 participants it is
often 0.25 or 0.75. So its p-value is the max-statistic permutation test (Westfall & Young 1993, *Resampling-Based
Multiple Testing*, ch. 2): the participants' group labels are permuted (group sizes kept), each permutation's
largest ``|AUC - 0.5|`` over the features is recorded, and ``p = (1 + #{permutations whose largest >= the observed
best}) / (1 + permutations)``, which is the family-wise p-value of the best feature. The 95th percentile of the
permuted largest is printed as the AUC a best feature must pass (``0.5 +`` or ``0.5 -`` it).

With ``--mechanism`` (a synthetic cohort), the tool first prints how well the motion model's disease knobs themselves
separate the groups, before anything is rendered, sampled or measured: the left-right gain ``|log(right / left)|`` of
the active lip movements (PS weakness against everyone's natural asymmetry), the amplitude gain ``expressivity (1 -
range_reduction)`` and the speed gain ``amplitude / (rate (1 + slowness))`` (ALS), each as an AUC in the population
(``--draws`` participants per group from the run's ``synthetic.disease`` model) and over the participants each task's
forest classifies (their knobs, from :func:`neuroface.synthetic.generate.participant`). They summarise the knobs, not
every way a knob shows in the movements (PS droop and slowing, ALS rounding and timing are left out), so a feature may
do better than they do; they say how strong the design made each group's signal.

Beside each line, the forest's leave-one-subject-out AUC of the same cell from ``results/ladder/auc.tsv`` (the
forest sees every feature and the repetitions, not one feature's participant means), when the run wrote it."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from neuroface.classification.roc import auc
from neuroface.config import read_config
from neuroface.synthetic.cohort import plan_cohort
from neuroface.synthetic.generate import participant
from neuroface.synthetic.motion import DiseaseModel

#: The ladder's sources, from the truth at 50 fps to the pre-trained model (README "Where the signal goes").
SOURCES = ("true3d_50fps", "true3d", "true2d", "finetuned", "pretrained")


def participant_means(table: pd.DataFrame, features: list[str], disease: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Per participant of HC and ``disease``, sorted by id: the mean of each feature over its repetitions, and the
    0/1 label (1 = ``disease``)."""
    rows = table[table["group"].isin(["HC", disease])]
    missing = [c for c in ("participant_id", "group", *features) if c not in rows.columns]
    if missing:
        raise ValueError(f"table lacks column(s): {', '.join(missing)}")
    means = rows.groupby("participant_id", sort=True)[features].mean()
    labels = (rows.groupby("participant_id", sort=True)["group"].first() == disease).to_numpy(dtype=np.int64)
    if means.isna().any().any():
        bad = means.columns[means.isna().any()].tolist()
        raise ValueError(f"feature(s) {', '.join(bad)} have no value for some participant")
    return means, labels


def feature_aucs(means: pd.DataFrame, labels: np.ndarray) -> pd.Series:
    """AUC of each feature column of ``means`` over the participants, disease (label 1) as the positive class."""
    return pd.Series({f: auc(labels, means[f].to_numpy()) for f in means.columns}, dtype=float)


def max_null(means: pd.DataFrame, labels: np.ndarray, permutations: int, seed: int) -> np.ndarray:
    """The largest ``|AUC - 0.5|`` over the features after each of ``permutations`` seeded permutations of the
    labels, ``(permutations,)``. The AUC is Mann-Whitney's from midranks, ``(sum of the positives' ranks -
    m (m + 1) / 2) / (m n)``: the ranks do not change under a permutation of the labels, so they are computed once."""
    ranks = stats.rankdata(means.to_numpy(dtype=np.float64), axis=0)  # (P, F) midranks within each feature
    m = int(labels.sum())
    n = labels.size - m
    rng = np.random.default_rng(seed)
    out = np.empty(permutations)
    for k in range(permutations):
        positive = rng.permutation(labels).astype(bool)
        aucs = (ranks[positive].sum(axis=0) - m * (m + 1) / 2) / (m * n)
        out[k] = np.max(np.abs(aucs - 0.5))
    return out


def best_feature(aucs: pd.Series, null: np.ndarray) -> dict:
    """The feature farthest from 0.5, its AUC, the family-wise permutation p-value and the null's 95th percentile."""
    distance = (aucs - 0.5).abs()
    name = str(distance.idxmax())
    observed = float(distance.max())
    return {
        "best_feature": name,
        "best_auc": float(aucs[name]),
        "p_family": float((1 + np.sum(null >= observed - 1e-12)) / (1 + null.size)),
        "null_95": float(np.percentile(null, 95)),
    }


def knob_scores(params) -> tuple[float, float, float]:
    """One participant's disease knobs as the movements carry them (:class:`~neuroface.synthetic.motion.DiseaseParams`):
    the left-right gain ``|log(right / left)|`` of the active lip movements, the amplitude gain ``expressivity (1 -
    range_reduction)`` and the speed gain ``amplitude / (rate (1 + slowness))``."""
    right, left = params.side_factors()
    amplitude = params.expressivity * (1.0 - params.range_reduction)
    return abs(float(np.log(right / left))), amplitude, amplitude / (params.rate * (1.0 + params.slowness))


KNOBS = ("left-right gain |log(right / left)|", "amplitude gain", "speed gain")


def knob_aucs(control: np.ndarray, disease: np.ndarray) -> dict[str, float]:
    """AUC of each knob score (columns of the ``(N, 3)`` :func:`knob_scores` arrays), disease as positive."""
    labels = np.r_[np.zeros(len(control)), np.ones(len(disease))]
    return {name: auc(labels, np.r_[control[:, k], disease[:, k]]) for k, name in enumerate(KNOBS)}


def population_knob_aucs(model: DiseaseModel, disease: str, draws: int, seed: int) -> dict[str, float]:
    """:func:`knob_aucs` of ``draws`` seeded participants per group drawn from ``model``: what the cohort's design
    gives a classifier that reads the knobs themselves, before any sampling of participants."""
    rng = np.random.default_rng(seed)
    control = np.array([knob_scores(model.sample("HC", rng)) for _ in range(draws)])
    return knob_aucs(control, np.array([knob_scores(model.sample(disease, rng)) for _ in range(draws)]))


def forest_aucs(workdir: Path) -> dict[tuple[str, str, str], float]:
    """(comparison, task, source) -> the ladder's forest AUC, or {} when the run has no ladder table."""
    path = workdir / "results" / "ladder" / "auc.tsv"
    if not path.is_file():
        return {}
    table = pd.read_csv(path, sep="\t")
    return {(r.comparison, r.task, r.source): float(r.auc) for r in table.itertuples()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--run", required=True, help="a comparison of classification.runs, e.g. HC_vs_PS")
    parser.add_argument("--tasks", nargs="+", default=["BBP", "OPEN", "SPREAD"])
    parser.add_argument("--sources", nargs="+", default=list(SOURCES))
    parser.add_argument("--permutations", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1, help="seed of the permutations")
    parser.add_argument("--all", action="store_true", help="also print every feature's AUC")
    parser.add_argument("--mechanism", action="store_true", help="also the motion model's own AUCs (synthetic cohort)")
    parser.add_argument("--draws", type=int, default=5000, help="participants per group for --mechanism")
    args = parser.parse_args()
    if args.permutations < 1:
        parser.error("--permutations must be at least 1")
    config_path = args.workdir / "config.yaml"
    if not config_path.is_file():
        parser.error(f"{config_path}: no config.yaml in the work directory")
    cfg = read_config(config_path)
    runs = cfg["classification"]["runs"]
    if args.run not in runs:
        parser.error(f"{config_path}: classification.runs has no {args.run!r} (it has {', '.join(runs)})")
    disease, feature_set = runs[args.run]
    features = list(cfg["features"]["sets"][feature_set])
    forests = forest_aucs(args.workdir)
    if args.mechanism:
        if cfg["cohort"]["source"] != "synthetic":
            parser.error(f"{config_path}: --mechanism needs the synthetic cohort (cohort.source: synthetic)")
        plan = plan_cohort(cfg["synthetic"])
        knobs = {
            pid: knob_scores(participant(plan, str(pid), render=False).disease)
            for pid in plan.participants["participant_id"]
        }
        population = population_knob_aucs(DiseaseModel(**plan.disease), disease, args.draws, args.seed)
        print(f"disease knobs, HC vs {disease}: AUC in the population ({args.draws} draws per group, seed {args.seed})")
        print("knob\tpopulation\t" + "\t".join(args.tasks))
        cohort = {}
        for task in args.tasks:
            path = args.workdir / "results" / "features" / args.sources[0] / f"{task}.{feature_set}.tsv"
            if not path.is_file():
                parser.error(
                    f"{path}: no features of source {args.sources[0]!r} and task {task!r}; run the workflow first"
                )
            classified = pd.read_csv(path, sep="\t").drop_duplicates("participant_id")
            classified = classified[classified["group"].isin(["HC", disease])]
            scores = {
                g: np.array([knobs[p] for p in classified.loc[classified["group"] == g, "participant_id"]])
                for g in ("HC", disease)
            }
            cohort[task] = knob_aucs(scores["HC"], scores[disease])
        for name in KNOBS:
            print(f"{name}\t{population[name]:.3f}\t" + "\t".join(f"{cohort[t][name]:.3f}" for t in args.tasks))
    print(
        f"{args.run}: {len(features)} features ({feature_set} set); AUC over participants (feature means over "
        f"repetitions), disease = positive; p_family: max-|AUC - 0.5| permutation test, {args.permutations} "
        f"permutations, seed {args.seed}; null_95: its 95th percentile of the largest |AUC - 0.5|"
    )
    print("task\tsource\tn_HC\tn_disease\tbest_feature\tbest_auc\tp_family\tnull_95\tforest_auc")
    for task in args.tasks:
        for source in args.sources:
            path = args.workdir / "results" / "features" / source / f"{task}.{feature_set}.tsv"
            if not path.is_file():
                parser.error(f"{path}: no features of source {source!r} and task {task!r}; run the workflow first")
            try:
                means, labels = participant_means(pd.read_csv(path, sep="\t"), features, disease)
            except ValueError as err:
                parser.error(f"{path}: {err}")
            n_control, n_disease = int((labels == 0).sum()), int(labels.sum())
            if min(n_control, n_disease) < 2:  # e.g. a model whose every frame fell below tracking.min_confidence
                print(f"{task}\t{source}\t{n_control}\t{n_disease}\tfewer than 2 participants in a group: not measured")
                continue
            aucs = feature_aucs(means, labels)
            best = best_feature(aucs, max_null(means, labels, args.permutations, args.seed))
            forest = forests.get((args.run, task, source))
            print(
                f"{task}\t{source}\t{n_control}\t{n_disease}\t{best['best_feature']}\t"
                f"{best['best_auc']:.3f}\t{best['p_family']:.4f}\t{best['null_95']:.3f}\t"
                + ("" if forest is None else f"{forest:.3f}")
            )
            if args.all:
                for name, value in aucs.items():
                    print(f"\t\t\t\t  {name}\t{value:.3f}")


if __name__ == "__main__":
    main()
