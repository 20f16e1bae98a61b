"""Landmark-accuracy metrics and Table III statistics against closed forms and scipy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from neuroface import landmarks as lm
from neuroface.fan import accuracy
from neuroface.inputs.annotated import split_participants


def _face(rng, n=5):
    truth = rng.uniform(100, 300, (n, 68, 2))
    truth[:, lm.OUTER_EYE_R] = (150, 150)
    truth[:, lm.OUTER_EYE_L] = (250, 150)  # outer inter-canthal distance 100 px
    truth[:, lm.INNER_EYE_R] = (185, 150)
    truth[:, lm.INNER_EYE_L] = (215, 150)  # inner 30 px
    return truth


def test_nrmse_and_nme_closed_form():
    truth = _face(np.random.default_rng(0))
    pred = truth.copy()
    pred[:, 17:, 0] += 3.0  # every scored landmark 3 px off; the jaw is not scored
    pred[:, :17] += 50.0
    np.testing.assert_allclose(accuracy.nrmse(pred, truth), 3.0)
    np.testing.assert_allclose(accuracy.nme(pred, truth), 3.0)
    np.testing.assert_allclose(accuracy.nrmse(pred, truth, canthi="inner"), 10.0)
    pred2 = truth.copy()
    pred2[:, 17:34, 1] += 6.0  # a third of the 51 scored points 6 px off: RMS = sqrt(12), mean = 2
    np.testing.assert_allclose(accuracy.nrmse(pred2, truth), np.sqrt(36 / 3))
    np.testing.assert_allclose(accuracy.nme(pred2, truth), 2.0)
    regions = accuracy.region_errors(pred, truth)
    np.testing.assert_allclose(regions["mouth"], 3.0)
    assert (regions["jaw"] > 50).all()


def test_smd_matches_the_paper_formula():
    rng = np.random.default_rng(1)
    a, b = rng.normal(7.4, 1.4, 40), rng.normal(4.7, 0.7, 30)
    pooled = np.sqrt(((40 - 1) * a.var(ddof=1) + (30 - 1) * b.var(ddof=1)) / (40 + 30 - 2))
    assert accuracy.smd(a, b) == pytest.approx(abs(a.mean() - b.mean()) / pooled)
    # a group of one adds (1 - 1) s^2 = 0 to the pooled variance (not 0 * NaN): the SD is the other group's
    assert accuracy.smd(a, [3.0]) == pytest.approx(abs(a.mean() - 3.0) / np.sqrt(39 * a.var(ddof=1) / 39))


def test_table_iii_against_scipy():
    rng = np.random.default_rng(2)
    rows = []
    for group, n, shift in (("HC", 30, 0.0), ("PS", 25, 0.6), ("ALS", 28, 0.3)):
        pre = rng.normal(7.5 + shift, 1.5, n)
        post = pre - rng.normal(2.0, 0.8, n)
        for i in range(n):
            rows += [(f"{group}{i}", group, "pretrained", pre[i]), (f"{group}{i}", group, "finetuned", post[i])]
    per_image = pd.DataFrame(rows, columns=["image", "group", "model", "nrmse"])
    per_image["participant_id"] = per_image["image"]  # one image per participant
    t = accuracy.table_iii(per_image)
    for group in ("HC", "PS", "ALS"):
        sub = per_image[per_image["group"] == group]
        pre = sub[sub["model"] == "pretrained"].set_index("image")["nrmse"]
        post = sub[sub["model"] == "finetuned"].set_index("image")["nrmse"].loc[pre.index]
        ref = stats.ttest_rel(pre, post)
        row = t["models"].set_index("group").loc[group]
        assert row["t"] == pytest.approx(ref.statistic) and row["p"] == pytest.approx(ref.pvalue)
        assert row["smd"] == pytest.approx(accuracy.smd(pre.to_numpy(), post.to_numpy()))
        summary = t["summary"].set_index(["group", "model"]).loc[(group, "pretrained")]
        assert summary["mean"] == pytest.approx(pre.mean()) and summary["sd"] == pytest.approx(pre.std(ddof=1))
    for model in ("pretrained", "finetuned"):
        hc = per_image[(per_image["group"] == "HC") & (per_image["model"] == model)]["nrmse"]
        ps = per_image[(per_image["group"] == "PS") & (per_image["model"] == model)]["nrmse"]
        ref = stats.ttest_ind(hc, ps)
        row = t["bias"].set_index(["model", "comparison"]).loc[(model, "HC vs PS")]
        assert row["t"] == pytest.approx(ref.statistic) and row["p"] == pytest.approx(ref.pvalue)
        assert row["difference"] == pytest.approx(ps.mean() - hc.mean())
    markdown = accuracy.table_iii_markdown(t)
    assert "| HC | 30 |" in markdown and "HC vs ALS" in markdown
    assert "| pretrained | HC vs PS | 30 vs 25 |" in markdown


def per_image_of_participants(rng, images_per_participant: int = 1) -> pd.DataFrame:
    """Per-image NRMSE of participants whose images share a participant offset (between-participant SD
    1.0 point, within 0.5), HC 6 participants with 2-7 images, PS 5, ALS 4; ``images_per_participant``
    copies of each image (new image names, same values)."""
    rows = []
    for group, n, shift in (("HC", 6, 0.0), ("PS", 5, 0.8), ("ALS", 4, 0.4)):
        for i in range(n):
            offset = rng.normal(0, 1.0)
            for j in range(int(rng.integers(2, 8))):
                pre = 7.5 + shift + offset + rng.normal(0, 0.5)
                post = pre - 2.0 + rng.normal(0, 0.3)
                for copy in range(images_per_participant):
                    image = f"{group}{i}:{j}:{copy}"
                    rows += [
                        (image, f"{group}{i}", group, "pretrained", pre),
                        (image, f"{group}{i}", group, "finetuned", post),
                    ]
    return pd.DataFrame(rows, columns=["image", "participant_id", "group", "model", "nrmse"])


def test_participant_tests_against_scipy_on_hand_computed_means():
    per_image = per_image_of_participants(np.random.default_rng(5))
    t = accuracy.table_iii(per_image)
    means = {}  # (model, group) -> {participant: mean}, by a plain loop
    for (model, group, pid), sub in per_image.groupby(["model", "group", "participant_id"]):
        means.setdefault((model, group), {})[pid] = float(np.mean(sub["nrmse"].to_list()))
    bias = t["bias_participants"].set_index(["model", "comparison"])
    for model in ("pretrained", "finetuned"):
        hc = np.array(list(means[(model, "HC")].values()))
        for group in ("PS", "ALS"):
            other = np.array(list(means[(model, group)].values()))
            ref = stats.ttest_ind(hc, other, equal_var=False)
            row = bias.loc[(model, f"HC vs {group}")]
            assert row["t"] == pytest.approx(ref.statistic) and row["p"] == pytest.approx(ref.pvalue)
            assert row["participants"] == f"{len(hc)} vs {len(other)}"
            assert row["difference"] == pytest.approx(other.mean() - hc.mean())
            assert row["smd"] == pytest.approx(accuracy.smd(hc, other))
    paired = t["models_participants"].set_index("group")
    for group in ("HC", "PS", "ALS"):
        pids = sorted(means[("pretrained", group)])
        pre = np.array([means[("pretrained", group)][p] for p in pids])
        post = np.array([means[("finetuned", group)][p] for p in pids])
        ref = stats.ttest_rel(pre, post)
        assert paired.loc[group, "t"] == pytest.approx(ref.statistic)
        assert paired.loc[group, "p"] == pytest.approx(ref.pvalue)
        assert paired.loc[group, "difference"] == pytest.approx(np.mean(pre - post))
    markdown = accuracy.table_iii_markdown(t)
    assert "Over participants" in markdown and "| pretrained | HC vs ALS | 6 vs 4 |" in markdown


def test_repeating_images_shrinks_only_the_per_image_p():
    """Four copies of every image: the per-image bias test's p falls (pseudo-replication), the
    per-participant test is unchanged."""
    once = accuracy.table_iii(per_image_of_participants(np.random.default_rng(6)))
    four = accuracy.table_iii(per_image_of_participants(np.random.default_rng(6), images_per_participant=4))
    key = ["model", "comparison"]
    p_once, p_four = once["bias"].set_index(key)["p"], four["bias"].set_index(key)["p"]
    assert (p_four < p_once).all()
    pd.testing.assert_frame_equal(once["bias_participants"], four["bias_participants"])
    pd.testing.assert_frame_equal(once["models_participants"], four["models_participants"])


def test_participant_tests_need_two_participants_per_group():
    per_image = per_image_of_participants(np.random.default_rng(7))
    single = per_image[~per_image["participant_id"].str.startswith("PS") | (per_image["participant_id"] == "PS0")]
    t = accuracy.table_iii(single)
    row = t["bias_participants"].set_index(["model", "comparison"]).loc[("pretrained", "HC vs PS")]
    assert row["participants"] == "6 vs 1" and np.isnan(row["p"]) and not row["significant"]
    assert np.isnan(t["models_participants"].set_index("group").loc["PS", "p"])
    assert not np.isnan(t["bias_participants"].set_index(["model", "comparison"]).loc[("pretrained", "HC vs ALS"), "p"])


def test_split_takes_the_configured_number_per_group_seeded():
    participants = pd.DataFrame(
        {
            "participant_id": [f"{g[0]}{i:03d}" for g, n in (("HC", 15), ("PS", 14), ("ALS", 16)) for i in range(n)],
            "group": [g for g, n in (("HC", 15), ("PS", 14), ("ALS", 16)) for _ in range(n)],
        }
    )
    a = split_participants(participants, 12, seed=0)
    assert a[a["set"] == "train"].groupby("group").size().to_dict() == {"ALS": 12, "HC": 12, "PS": 12}
    assert a.equals(split_participants(participants, 12, seed=0))
    assert not a.equals(split_participants(participants, 12, seed=1))
    with pytest.raises(ValueError, match="PS has 14 participants"):
        split_participants(participants, 14, seed=0)
