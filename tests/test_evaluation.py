"""Table II assembly, ROC points and the exclusion counts, against scikit-learn and hand counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from neuroface.classification import roc
from neuroface.classification.evaluation import table_ii, table_ii_markdown
from neuroface.classification.figures import roc_figure, roc_points
from neuroface.features.exclusions import classification_mask, exclusion_table, reason_group
from neuroface.features.registry import Repetition
from neuroface.features.repetitions import GapPolicy, fill_gaps


def probabilities(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    ids = [f"N{i:03d}" for i in range(12)] + [f"S{i:03d}" for i in range(10)]
    for task in ("BBP", "OPEN"):
        truth = rng.normal(size=len(ids))
        for source, noise in (("pretrained", 2.0), ("finetuned", 0.7), ("truth", 0.2)):
            for i, pid in enumerate(ids):
                if source == "pretrained" and pid == "S009":
                    continue  # all its repetitions dropped for this source
                label = int(pid.startswith("S"))
                score = 1 / (1 + np.exp(-(1.5 * label + truth[i] * 0.3 + rng.normal(0, noise))))
                rows.append(("HC_vs_PS", task, source, pid, "PS" if label else "HC", label, score))
    return pd.DataFrame(
        rows, columns=["comparison", "task", "source", "participant_id", "group", "label", "probability"]
    )


def test_table_ii_matches_sklearn_and_pairs_on_common_participants():
    probs = probabilities()
    table = table_ii(probs, level=0.9)
    assert list(table[["task", "source"]].itertuples(index=False, name=None)) == [
        (t, s) for t in ("BBP", "OPEN") for s in ("pretrained", "finetuned", "truth")
    ]
    for r in table.itertuples():
        sub = probs[(probs["task"] == r.task) & (probs["source"] == r.source)]
        assert r.auc == pytest.approx(roc_auc_score(sub["label"], sub["probability"]), abs=1e-12)
        assert (r.n_control, r.n_disease) == (12, 9 if r.source == "pretrained" else 10)
        assert (r.ci_low, r.ci_high) == pytest.approx(roc.auc_ci(sub["label"], sub["probability"], 0.9))
        assert (r.control, r.disease) == ("HC", "PS")
    fine = table[(table["task"] == "OPEN") & (table["source"] == "finetuned")].iloc[0]
    assert (fine.paired_with, fine.n_paired) == ("pretrained", 21)
    both = probs[probs["task"] == "OPEN"].pivot(index="participant_id", columns="source", values="probability").dropna()
    labels = both.index.str.startswith("S").astype(int)
    assert fine.p_paired == pytest.approx(roc.delong_test(labels, both["finetuned"], both["pretrained"])[1])
    assert np.isnan(table.loc[table["source"] == "pretrained", "p_paired"]).all()
    markdown = table_ii_markdown(table, 0.9)
    assert markdown.count("\n") == 2 + len(table)
    assert f"{fine.auc:.2f} [{fine.ci_low:.2f}, {fine.ci_high:.2f}]" in markdown


def test_table_ii_leaves_a_test_out_where_a_class_has_one_participant_instead_of_failing():
    """Sources drop repetitions apart: pre-trained and fine-tuned may share one PS participant, and a source may keep
    one. DeLong's variance needs two per class; Table II stopped the run with a ValueError there."""
    rows = [("pretrained", p, lab, pr) for p, lab, pr in [("a", 0, 0.2), ("b", 0, 0.4), ("c", 0, 0.3), ("d", 1, 0.7)]]
    rows += [("pretrained", "e", 1, 0.6)]
    rows += [("finetuned", p, lab, pr) for p, lab, pr in [("a", 0, 0.1), ("b", 0, 0.5), ("c", 0, 0.2), ("e", 1, 0.8)]]
    rows += [("finetuned", "f", 1, 0.9), ("truth", "a", 0, 0.3), ("truth", "e", 1, 0.7), ("truth", "g", 1, 0.6)]
    probs = pd.DataFrame(rows, columns=["source", "participant_id", "label", "probability"]).assign(
        comparison="HC_vs_PS", task="BBP", group=lambda t: np.where(t["label"] == 1, "PS", "HC")
    )
    table = table_ii(probs).set_index("source")
    fine, truth = table.loc["finetuned"], table.loc["truth"]
    assert fine.n_paired == 4 and np.isnan(fine.p_paired)  # one PS participant in common (e)
    assert fine.auc == pytest.approx(1.0) and fine.ci_high <= 1.0  # its own AUC and CI: 3 HC, 2 PS
    assert truth.auc == pytest.approx(roc_auc_score([0, 1, 1], [0.3, 0.7, 0.6]))
    assert np.isnan(truth.ci_low) and np.isnan(truth.ci_high)  # one HC participant: no DeLong interval


def test_roc_points_match_sklearn_and_the_figure_draws_every_source():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 40)
    scores = np.round(rng.random(40), 1)  # ties
    fpr, tpr = roc_points(labels, scores)
    ref_fpr, ref_tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    np.testing.assert_allclose(fpr, ref_fpr)
    np.testing.assert_allclose(tpr, ref_tpr)
    # trapezoidal area under the points is the AUC
    assert np.trapezoid(tpr, fpr) == pytest.approx(roc_auc_score(labels, scores))
    probs = probabilities()
    fig = roc_figure(probs, table_ii(probs), "HC vs PS", tasks=("BBP", "OPEN"))
    legends = [[t.get_text() for t in ax.get_legend().get_texts()] for ax in fig.axes]
    assert [len(entries) for entries in legends] == [3, 3]
    assert legends[0][1].startswith("Fine-tuned (AUC ")


def cohort() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    participants = pd.DataFrame(
        {"participant_id": ["N1", "N2", "S1", "A1"], "consent_share": [True, False, True, True]}
    )
    recordings = pd.DataFrame(
        [
            (f"{p}_{t}", p, t, not (p == "S1" and t == "OPEN"))
            for p in participants["participant_id"]
            for t in ("BBP", "OPEN", "SPREAD", "REST")
        ],
        columns=["recording_id", "participant_id", "task", "faces_camera"],
    )
    segmentation = pd.DataFrame(
        [(r, k) for r in recordings["recording_id"] if not r.endswith("REST") for k in (1, 2, 3)],
        columns=["recording_id", "repetition"],
    )
    return participants, recordings, segmentation


def test_exclusions_are_counted_once_in_order():
    participants, recordings, segmentation = cohort()
    mask = classification_mask(participants, recordings)
    assert sorted(recordings.loc[mask, "recording_id"]) == sorted(
        ["N1_BBP", "N1_OPEN", "N1_SPREAD", "S1_BBP", "S1_SPREAD", "A1_BBP", "A1_OPEN", "A1_SPREAD"]
    )
    dropped = {
        "pretrained": pd.DataFrame(
            {
                "recording_id": ["N1_BBP", "N1_BBP", "A1_OPEN", "N2_BBP"],
                "repetition": [1, 2, 3, 1],
                "reason": [
                    "a gap of 5 frames (> 3)",
                    "a gap of 7 frames (> 3)",
                    "9 of 20 frames missing (> 20%)",
                    "a gap of 4 frames (> 3)",
                ],
            }
        ),
        "finetuned": pd.DataFrame(columns=["recording_id", "repetition", "reason"]),
    }
    table = exclusion_table(participants, recordings, segmentation, dropped).set_index(["reason", "source"])
    assert table.loc[("all recordings", "all"), ["participants", "recordings", "repetitions"]].tolist() == [4, 16, 36]
    assert table.loc[("no consent to share", "all"), ["participants", "recordings", "repetitions"]].tolist() == [
        1,
        4,
        9,
    ]
    assert table.loc[("not facing the camera", "all"), ["recordings", "repetitions"]].tolist() == [1, 3]
    assert table.loc[("task not in BBP/OPEN/SPREAD", "all"), ["recordings", "repetitions"]].tolist() == [3, 0]
    # N2 declined consent: its dropped repetition is not counted again
    assert table.loc[("dropped: a gap longer than 3 frames", "pretrained"), "repetitions"] == 2
    assert table.loc[("dropped: more than 20% of the frames missing", "pretrained"), "repetitions"] == 1
    assert table.loc[("repetitions classified", "pretrained"), "repetitions"] == 24 - 3
    assert table.loc[
        ("repetitions classified", "finetuned"), ["participants", "recordings", "repetitions"]
    ].tolist() == [
        3,
        8,
        24,
    ]


def _drop_reason(call) -> str:
    with pytest.raises(ValueError) as why:
        call()
    return str(why.value)


def test_exclusion_reasons_name_their_limits_as_numbers():
    """The reasons the feature stage really raises, grouped: per-repetition counts left out, every limit
    (the config's max_gap_frames and max_missing_fraction, the 3 frames velocities need) a literal number."""
    policy = GapPolicy(max_gap=4, max_missing=0.25)
    times = np.arange(20.0)
    points = np.zeros((20, 68, 3))
    valid = np.ones(20, bool)
    too_many, too_long = valid.copy(), valid.copy()
    too_many[[1, 3, 5, 7, 9, 11]] = False  # 6 of 20 missing > 25 %
    too_long[5:10] = False  # a gap of 5 frames > 4
    reasons = {
        "missing": _drop_reason(lambda: fill_gaps(points, too_many, times, policy)),
        "gap": _drop_reason(lambda: fill_gaps(points, too_long, times, policy)),
        "short": _drop_reason(lambda: Repetition.from_camera(points[:2], times[:2])),
    }
    assert reason_group(reasons["missing"]) == "more than 25% of the frames missing"
    assert reason_group(reasons["gap"]) == "a gap longer than 4 frames"
    assert reason_group(reasons["short"]) == "a repetition needs at least 3 frames with increasing timestamps"
    # repetitions with different counts but the same limit share a row; no label has a placeholder "n"
    participants, recordings, segmentation = cohort()
    other_gap = too_long.copy()
    other_gap[12:18] = False
    dropped = pd.DataFrame(
        {
            "recording_id": ["N1_BBP", "N1_OPEN", "A1_OPEN", "A1_BBP"],
            "repetition": [1, 1, 2, 3],
            "reason": [
                reasons["gap"],
                _drop_reason(lambda: fill_gaps(points, other_gap, times, GapPolicy(max_gap=4, max_missing=0.9))),
                reasons["missing"],
                reasons["short"],
            ],
        }
    )
    table = exclusion_table(participants, recordings, segmentation, {"pretrained": dropped})
    rows = table[table["stage"] == "repetition"].set_index("reason")["repetitions"].to_dict()
    assert rows == {
        "dropped: a gap longer than 4 frames": 2,
        "dropped: more than 25% of the frames missing": 1,
        "dropped: a repetition needs at least 3 frames with increasing timestamps": 1,
    }
    assert not table["reason"].str.contains(r"\bn\b").any(), table["reason"].tolist()


def test_table_ii_of_nothing_is_an_empty_table():
    empty = probabilities().iloc[:0]
    table = table_ii(empty)
    assert table.empty and {"auc", "ci_low", "p_paired"} <= set(table.columns)
    assert table_ii_markdown(table).count("\n") == 2
