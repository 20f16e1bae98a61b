"""The fine-tuning data ablation's training subsets (equal image counts across composition arms, equal
shares per group, only the split's training participants, nested learning-curve sets, seeded) and its
participant-bootstrap CI (against the normal closed form); the ``ablation`` target on a copy of the
session's tiny run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from neuroface.fan.accuracy import bootstrap_mean_ci
from neuroface.inputs.annotated import ablation_subsets
from workflow_runs import copy_run, logged_jobs, snakemake

GROUPS = {"HC": 6, "PS": 7, "ALS": 5}
COMPOSITIONS = [["HC"], ["PS"], ["ALS"], ["PS", "ALS"], ["HC", "PS", "ALS"]]


def cohort(frames_per_participant: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Annotations (``recording_id, participant_id, frame``) and a split with 4 training participants per group."""
    split, annotations = [], []
    for g, n in GROUPS.items():
        for i in range(n):
            pid = f"{g}{i:02d}"
            split.append((pid, g, "train" if i < 4 else "test"))
            annotations += [(f"{pid}_BBP", pid, f) for f in range(1, 1 + frames_per_participant + i % 2)]
    return (
        pd.DataFrame(annotations, columns=["recording_id", "participant_id", "frame"]),
        pd.DataFrame(split, columns=["participant_id", "group", "set"]),
    )


def test_composition_arms_have_equal_images_and_equal_group_shares():
    annotations, split = cohort()
    subsets = ablation_subsets(annotations, split, COMPOSITIONS, [1, 2, 4], seed=0)
    comp = subsets[subsets["kind"] == "composition"]
    sizes = comp.groupby("arm").size()
    assert sizes.nunique() == 1 and sizes.iloc[0] > 0
    # every group of an arm gives the same share (each group's pool: 4 participants, 22 frames)
    shares = comp.groupby(["arm", "group"]).size()
    assert shares.groupby("arm").nunique().eq(1).all()
    # min over arms of k x the smallest pool (1 x 22, 2 x 22, 3 x 22), rounded down to a multiple of 6
    assert sizes.iloc[0] == 18
    assert set(comp.groupby("arm")["group"].unique().map(tuple)) == {tuple(c) for c in map(tuple, COMPOSITIONS)}
    # only the split's training participants, and no frame twice within an arm
    train = set(split.loc[split["set"] == "train", "participant_id"])
    assert set(subsets["participant_id"]) <= train
    assert not comp.duplicated(["arm", "recording_id", "frame"]).any()


def test_learning_curve_sets_are_nested_whole_participants():
    annotations, split = cohort()
    subsets = ablation_subsets(annotations, split, [], [1, 2, 4], seed=0)
    people = {arm: set(t["participant_id"]) for arm, t in subsets.groupby("arm")}
    assert people["n-01"] < people["n-02"] < people["n-04"]
    assert subsets.groupby(["arm", "group"])["participant_id"].nunique().unstack().to_dict("index") == {
        "n-01": {"ALS": 1, "HC": 1, "PS": 1},
        "n-02": {"ALS": 2, "HC": 2, "PS": 2},
        "n-04": {"ALS": 4, "HC": 4, "PS": 4},
    }
    # all of a chosen participant's frames
    n04 = subsets[subsets["arm"] == "n-04"]
    assert len(n04) == annotations["participant_id"].isin(people["n-04"]).sum()


def test_subsets_are_seeded():
    annotations, split = cohort()
    a = ablation_subsets(annotations, split, COMPOSITIONS, [1, 2], seed=0)
    assert a.equals(ablation_subsets(annotations, split, COMPOSITIONS, [1, 2], seed=0))
    assert not a.equals(ablation_subsets(annotations, split, COMPOSITIONS, [1, 2], seed=1))


def test_impossible_requests_are_named():
    annotations, split = cohort()
    with pytest.raises(ValueError, match="5 participants per group, but group HC has 4"):
        ablation_subsets(annotations, split, [], [5], seed=0)
    with pytest.raises(ValueError, match="no training participant of group XX"):
        ablation_subsets(annotations, split, [["XX"]], [], seed=0)


def test_bootstrap_ci_matches_the_normal_interval_for_many_equal_clusters():
    rng = np.random.default_rng(1)
    k, m = 60, 4
    cluster_means = rng.normal(10, 2, k)
    values = pd.Series(np.repeat(cluster_means, m) + rng.normal(0, 0.5, k * m))
    clusters = pd.Series(np.repeat(np.arange(k), m))
    low, high = bootstrap_mean_ci(values, clusters, 4000, np.random.default_rng(0))
    per_cluster = values.groupby(clusters).mean()
    se = per_cluster.std(ddof=1) / np.sqrt(k)
    assert (high - low) / 2 == pytest.approx(1.96 * se, rel=0.12)
    assert (low + high) / 2 == pytest.approx(values.mean(), abs=0.2 * se)
    one = bootstrap_mean_ci(values[:m], clusters[:m], 100, np.random.default_rng(0))
    assert one == (values[:m].mean(),) * 2  # exactly the point estimate the table reports beside it


def test_ablation_target_runs_from_a_finished_run(tiny, tmp_path):
    """``snakemake ablation`` on a copy of the session's tiny run (tiny.yaml: arms mix-HC, mix-PS-ALS and
    n-01, which is the study's fine-tuned model): only the ablation's jobs run; the composition arms
    trained on equal image counts; every model is evaluated on the same test images."""
    workdir = copy_run(tiny, tmp_path / "run")
    log = snakemake(workdir, "ablation")
    ran = {job.rule for job in logged_jobs(log)}
    assert ran <= {
        "ablation",
        "ablation_subsets",
        "finetune_fan_ablation",
        "ablation_accuracy",
        "ablation_table",
        "ablation_figure",
    }, ran
    # each arm fine-tuned once, in whichever order the scheduler started them (n-01 is the study's model)
    assert sorted(j.wildcards for j in logged_jobs(log) if j.rule == "finetune_fan_ablation") == [
        ("mix-HC",),
        ("mix-PS-ALS",),
    ]
    results = workdir / "results"
    images = {
        arm: json.loads((results / "ablation" / f"{arm}.pth.json").read_text())["training_images"]
        for arm in ("mix-HC", "mix-PS-ALS")
    }
    assert images["mix-HC"] == images["mix-PS-ALS"] > 0
    per_image = pd.read_csv(results / "ablation" / "per_image.tsv", sep="\t")
    assert set(per_image["model"]) == {"pretrained", "mix-HC", "mix-PS-ALS", "n-01"}
    assert per_image.groupby("model")["image"].apply(frozenset).nunique() == 1  # the same test images
    # n-01 is the study's fine-tuned model: its errors are Table III's
    study = pd.read_csv(results / "landmarks" / "per_image.tsv", sep="\t")
    a = per_image[per_image["model"] == "n-01"].set_index("image")["nrmse"].sort_index()
    b = study[study["model"] == "finetuned"].set_index("image")["nrmse"].sort_index()
    pd.testing.assert_series_equal(a, b, check_names=False)
    table = pd.read_csv(results / "tables" / "ablation.tsv", sep="\t")
    assert (table["ci_low"] <= table["mean"]).all() and (table["mean"] <= table["ci_high"]).all()
    assert (results / "figures" / "ablation.pdf").stat().st_size > 0
