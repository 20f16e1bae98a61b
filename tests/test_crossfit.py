"""Cross-fitted fine-tuning (``fan.crossfit.folds``): the folds are stratified by group, deterministic
and cover every participant once; and, in the session's tiny run (tests/configs/tiny.yaml, 2 folds), no
participant is tracked or evaluated by a model whose training set contained any of its frames (checked
from the files the run wrote: the folds, each model's record of whom it trained on, and each tracking
job's record of the weights it used), the cross-fitted source reaches the features; and Table II pairs it
with the fine-tuned source."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neuroface.fan.accuracy import crossfit_table
from neuroface.inputs.annotated import crossfit_folds, crossfit_problems


def cohort(counts: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame(
        [(f"{g}{i:02d}", g) for g, n in counts.items() for i in range(n)], columns=["participant_id", "group"]
    )


@pytest.mark.parametrize("folds", [2, 3, 5])
def test_folds_are_stratified_by_group_and_balanced(folds):
    participants = cohort({"HC": 11, "PS": 14, "ALS": 9})
    table = crossfit_folds(participants, folds, seed=0)
    assert sorted(table["participant_id"]) == sorted(participants["participant_id"])  # each once
    assert set(table["fold"]) == set(range(folds))
    per_group = table.groupby(["group", "fold"]).size().unstack(fill_value=0)
    for group, n in {"HC": 11, "PS": 14, "ALS": 9}.items():  # floor or ceil of the group's share in every fold
        assert set(per_group.loc[group]) <= {n // folds, -(-n // folds)}
    sizes = table.groupby("fold").size()
    assert sizes.max() - sizes.min() <= 1
    assert table.set_index("participant_id")["group"].to_dict() == dict(participants.to_numpy())


def test_folds_are_seeded_and_independent_of_row_order():
    participants = cohort({"HC": 10, "PS": 10, "ALS": 10})
    a = crossfit_folds(participants, 3, seed=0)
    assert a.equals(crossfit_folds(participants.sample(frac=1.0, random_state=1), 3, seed=0))
    assert not a.equals(crossfit_folds(participants, 3, seed=1))


def test_too_few_participants_for_the_folds_is_named():
    groups = dict(cohort({"HC": 3, "PS": 2}).to_numpy())
    assert crossfit_problems(groups, groups, 0) == []
    assert crossfit_problems(groups, groups, 2) == []
    assert crossfit_problems(groups, groups, 3) == ["group PS has 2 participants, fewer than fan.crossfit.folds = 3"]
    assert "at least 2 folds" in crossfit_problems(groups, groups, 1)[0]
    with pytest.raises(ValueError, match="group PS"):
        crossfit_folds(cohort({"HC": 3, "PS": 2}), 3, seed=0)


@pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")  # exact differences: zero variance
def test_crossfit_table_against_a_hand_computation():
    rng = np.random.default_rng(0)
    rows = []
    for group in ("HC", "PS", "ALS"):
        for s in ("train", "test"):
            for i in range(6):
                base = rng.uniform(4, 8)
                for model, shift in (("pretrained", 5.0), ("finetuned", -1.0 if s == "train" else 0.0)):
                    rows.append((f"{group}{s}{i}", group, s, model, base + shift))
                rows.append((f"{group}{s}{i}", group, s, "finetuned_cf", base))
    per_image = pd.DataFrame(rows, columns=["image", "group", "set", "model", "nrmse"])
    per_image["participant_id"] = per_image["image"]  # one image per participant
    tables = crossfit_table(per_image)
    paired = tables["paired"].set_index(["set", "group"])
    # the fine-tuned model is 1 point better exactly on the participants it saw: its optimism
    assert paired.loc[("train", "PS"), "difference"] == pytest.approx(-1.0)
    assert paired.loc[("test", "PS"), "difference"] == pytest.approx(0.0)
    assert paired.loc[("all", "HC"), "n"] == 12
    summary = tables["summary"].set_index(["set", "group", "model"])
    cf = per_image[(per_image["model"] == "finetuned_cf") & (per_image["group"] == "ALS")]["nrmse"]
    assert summary.loc[("all", "ALS", "finetuned_cf"), "mean"] == pytest.approx(cf.mean())
    # bias over every annotated participant, for the two models that saw none of them
    assert list(tables["bias"]["model"]) == ["pretrained"] * 2 + ["finetuned_cf"] * 2
    assert list(tables["bias"]["comparison"]) == ["HC vs PS", "HC vs ALS"] * 2
    assert list(tables["bias_participants"]["participants"]) == ["12 vs 12"] * 4


# -- the tiny run ----------------------------------------------------------------------------------------------


def weights_used(workdir: Path) -> dict[tuple[str, str], str]:
    """(participant, model) -> the weights file that tracked its recordings, from each tracking job's log."""
    used = {}
    for log in sorted((workdir / "logs" / "tracks").glob("*.log")):
        for model, weights in re.findall(r"model (\w+): weights (\S+)", log.read_text()):
            used[(log.stem, model)] = weights
    return used


def seen_by(workdir: Path, weights: str) -> set[str]:
    """The participants whose annotated frames trained ``weights``, as its sidecar records them."""
    return set(json.loads((workdir / (weights + ".json")).read_text())["training_participants"])


def test_no_participant_is_tracked_by_a_model_that_saw_its_frames(tiny):
    results = tiny / "results"
    folds = pd.read_csv(results / "fan" / "crossfit" / "folds.tsv", sep="\t")
    fold_of = dict(zip(folds["participant_id"], folds["fold"], strict=True))
    annotations = pd.read_parquet(results / "inputs" / "annotations.parquet")
    annotated = set(annotations["participant_id"])
    # every fold's model trained on exactly the annotated participants outside the fold
    for fold in sorted(set(fold_of.values())):
        outside = {p for p in annotated if fold_of[p] != fold}
        assert seen_by(tiny, f"results/fan/crossfit/fold{fold}.pth") == outside
    # each participant's cross-fitted tracks come from the model of its fold, which never saw it
    used = weights_used(tiny)
    tracked = sorted(p for p, m in used if m == "finetuned_cf")
    files = sorted(f.name for f in (results / "tracks" / "finetuned_cf").glob("*.smoothed.parquet"))
    assert tracked and files == [f"{p}.smoothed.parquet" for p in tracked]
    for participant in tracked:
        weights = used[(participant, "finetuned_cf")]
        assert weights == f"results/fan/crossfit/fold{fold_of[participant]}.pth"
        assert participant not in seen_by(tiny, weights)
    # and the study's fine-tuned model did see some of the tracked participants: the optimism in question
    finetuned_seen = seen_by(tiny, "results/fan/finetuned.pth")
    assert finetuned_seen & set(tracked)


def test_crossfit_accuracy_covers_every_annotated_participant_with_its_fold_model(tiny):
    results = tiny / "results"
    per_image = pd.read_csv(results / "landmarks" / "crossfit_per_image.tsv", sep="\t")
    annotations = pd.read_parquet(results / "inputs" / "annotations.parquet")
    cf = per_image[per_image["model"] == "finetuned_cf"]
    assert set(cf["participant_id"]) == set(annotations["participant_id"])
    assert len(cf) == len(annotations)
    assert set(per_image["set"]) == {"train", "test"}
    # on the test participants the fine-tuned rows are Table III's own images and values
    study = pd.read_csv(results / "landmarks" / "per_image.tsv", sep="\t")
    mine = per_image[(per_image["set"] == "test") & per_image["model"].isin(["pretrained", "finetuned"])]
    pd.testing.assert_frame_equal(
        mine.reset_index(drop=True)[study.columns].sort_values(["model", "image"], ignore_index=True),
        study.sort_values(["model", "image"], ignore_index=True),
    )
    table = pd.read_csv(results / "tables" / "table3_crossfit.tsv", sep="\t")
    assert set(table["part"]) == {"summary", "paired", "bias", "bias_participants"}


def test_crossfit_source_reaches_the_features(tiny):
    """The tiny FAN (one epoch) loses most frames, so its sources reach the forests with no repetition; the
    cross-fitted tables are there with the fine-tuned ones' layout (Table II's pairing: the next test)."""
    features = tiny / "results" / "features"
    cf = sorted(p.name for p in (features / "finetuned_cf").glob("*.tsv"))
    assert cf and cf == sorted(p.name for p in (features / "finetuned").glob("*.tsv"))
    for name in cf:
        a = pd.read_csv(features / "finetuned_cf" / name, sep="\t")
        assert list(a.columns) == list(pd.read_csv(features / "finetuned" / name, sep="\t").columns)


def test_table_ii_pairs_the_crossfit_source_with_finetuned():
    from neuroface.classification.evaluation import table_ii

    rng = np.random.default_rng(0)
    label = np.r_[np.zeros(12), np.ones(12)]
    rows = [
        pd.DataFrame(
            {
                "comparison": "HC_vs_PS",
                "task": "BBP",
                "source": source,
                "participant_id": [f"P{i:02d}" for i in range(24)],
                "group": np.where(label == 1, "PS", "HC"),
                "label": label,
                "probability": np.clip(label * shift + rng.normal(0.3, 0.2, 24), 0, 1),
            }
        )
        for source, shift in (("pretrained", 0.0), ("finetuned", 0.4), ("finetuned_cf", 0.2))
    ]
    table = table_ii(pd.concat(rows, ignore_index=True)).set_index("source")
    assert table.loc["finetuned_cf", "paired_with"] == "finetuned"
    assert table.loc["finetuned_cf", "n_paired"] == 24 and 0 < table.loc["finetuned_cf", "p_paired"] < 1
