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


def test_table_iii_against_scipy():
    rng = np.random.default_rng(2)
    rows = []
    for group, n, shift in (("HC", 30, 0.0), ("PS", 25, 0.6), ("ALS", 28, 0.3)):
        pre = rng.normal(7.5 + shift, 1.5, n)
        post = pre - rng.normal(2.0, 0.8, n)
        for i in range(n):
            rows += [(f"{group}{i}", group, "pretrained", pre[i]), (f"{group}{i}", group, "finetuned", post[i])]
    per_image = pd.DataFrame(rows, columns=["image", "group", "model", "nrmse"])
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
    markdown = accuracy.table_iii_markdown(t)
    assert "| HC | 30 |" in markdown and "HC vs ALS" in markdown


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
