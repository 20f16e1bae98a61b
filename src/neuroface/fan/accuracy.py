"""Landmark accuracy (paper §II-B4, Fig. 2, Table III): NRMSE, NME, per-region errors, statistics.

Errors are normalised by the ground truth's inter-canthal distance: the outer eye corners
(36-45, the 300-VW benchmark's normaliser) by default, the inner corners (39-42, the clinical
"intercanthal") as an option. Results in percent.

The paper's tests count images. Beyond the paper, every test is repeated over participants (each
participant's mean NRMSE once): a participant's images share its face, camera and recordings, so
they are not independent draws from its group, and a per-image p-value falls as more frames are
annotated per participant although no more participants are measured (pseudo-replication:
Hurlbert 1984, Ecol. Monogr. 54:187; Lazic 2010, BMC Neurosci. 11:5).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from neuroface import landmarks as lm

Canthi = Literal["outer", "inner"]
_CANTHI = {"outer": (lm.OUTER_EYE_R, lm.OUTER_EYE_L), "inner": (lm.INNER_EYE_R, lm.INNER_EYE_L)}


def intercanthal(truth: np.ndarray, canthi: Canthi = "outer") -> np.ndarray:
    """Inter-canthal distance ``(N,)`` of ground-truth landmarks ``(N, 68, 2)``."""
    a, b = _CANTHI[canthi]
    return np.linalg.norm(truth[:, a] - truth[:, b], axis=-1)


def point_errors(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Euclidean error per landmark ``(N, 68)``."""
    return np.linalg.norm(np.asarray(pred, np.float64) - np.asarray(truth, np.float64), axis=-1)


def nrmse(
    pred: np.ndarray, truth: np.ndarray, canthi: Canthi = "outer", landmarks: tuple[int, ...] = lm.SCORED
) -> np.ndarray:
    """Per image: RMS of the point errors over ``landmarks`` (17-67) / inter-canthal, percent."""
    err = point_errors(pred, truth)[:, list(landmarks)]
    return 100.0 * np.sqrt((err**2).mean(axis=1)) / intercanthal(truth, canthi)


def nme(
    pred: np.ndarray, truth: np.ndarray, canthi: Canthi = "outer", landmarks: tuple[int, ...] = lm.SCORED
) -> np.ndarray:
    """Per image: mean point error over ``landmarks`` / inter-canthal, percent."""
    return 100.0 * point_errors(pred, truth)[:, list(landmarks)].mean(axis=1) / intercanthal(truth, canthi)


def region_errors(pred: np.ndarray, truth: np.ndarray, canthi: Canthi = "outer") -> pd.DataFrame:
    """Per image and region (brows, eyes, nose, mouth, jaw): mean point error / inter-canthal, %."""
    err = point_errors(pred, truth)
    icd = intercanthal(truth, canthi)
    return pd.DataFrame({name: 100.0 * err[:, list(idx)].mean(axis=1) / icd for name, idx in lm.REGIONS.items()})


def smd(a: np.ndarray, b: np.ndarray) -> float:
    """Standardised mean difference |mu1 - mu2| / pooled SD (paper's formula)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    n1, n2 = len(a), len(b)
    # (n - 1) s^2 as the sum of squared deviations: 0 for a group of one, where s^2 itself is undefined
    squares = ((a - a.mean()) ** 2).sum() + ((b - b.mean()) ** 2).sum()
    return float(abs(a.mean() - b.mean()) / np.sqrt(squares / (n1 + n2 - 2)))


def table_iii(
    per_image: pd.DataFrame,
    models: tuple[str, str] = ("pretrained", "finetuned"),
    groups: tuple[str, ...] = ("HC", "PS", "ALS"),
    alpha: float = 0.01,
) -> dict[str, pd.DataFrame]:
    """Table III from per-image NRMSE (columns ``image, group, model, nrmse``).

    Returns ``summary`` (mean, SD, n per group and model), ``models`` (paired t-test between the
    models on the same images, per group: t, p, SMD), ``bias`` (independent t-tests HC vs
    each patient group, per model: t, p, SMD) and, beyond the paper, the same two over participants
    (column ``participant_id``): ``models_participants`` (:func:`participant_model_tests`) and
    ``bias_participants`` (:func:`participant_bias_tests`).
    """
    wide = per_image.pivot_table(index=["image", "group"], columns="model", values="nrmse").reset_index()
    summary = (
        per_image.groupby(["group", "model"])["nrmse"]
        .agg(mean="mean", sd="std", n="size")
        .reindex(pd.MultiIndex.from_product([groups, models], names=["group", "model"]))
        .reset_index()
    )
    paired = []
    for g in groups:
        sub = wide[wide["group"] == g]
        a, b = sub[models[0]].to_numpy(), sub[models[1]].to_numpy()
        t = stats.ttest_rel(a, b)
        paired.append(
            {
                "group": g,
                "n": len(sub),
                "t": t.statistic,
                "p": t.pvalue,
                "smd": smd(a, b),
                "significant": bool(t.pvalue < alpha),
            }
        )
    return {
        "summary": summary,
        "models": pd.DataFrame(paired),
        "models_participants": pd.DataFrame(participant_model_tests(per_image, models, groups, alpha)),
        **group_bias(per_image, models, groups, alpha),
    }


def group_bias(
    per_image: pd.DataFrame, models: tuple[str, ...], groups: tuple[str, ...], alpha: float
) -> dict[str, pd.DataFrame]:
    """Every model's bias tests, over images (``bias``, :func:`bias_tests`) and over participants
    (``bias_participants``, :func:`participant_bias_tests`)."""
    return {
        "bias": pd.DataFrame([row for m in models for row in bias_tests(per_image, m, groups, alpha)]),
        "bias_participants": pd.DataFrame(
            [row for m in models for row in participant_bias_tests(per_image, m, groups, alpha)]
        ),
    }


def participant_means(per_image: pd.DataFrame) -> pd.DataFrame:
    """Each participant's mean NRMSE per model (columns ``participant_id, group, model, nrmse, images``)."""
    return (
        per_image.groupby(["participant_id", "group", "model"], sort=True)["nrmse"]
        .agg(nrmse="mean", images="size")
        .reset_index()
    )


def participant_model_tests(
    per_image: pd.DataFrame, models: tuple[str, str], groups: tuple[str, ...], alpha: float
) -> list[dict]:
    """The models compared over participants, per group: paired t-test of the participants' mean
    NRMSE, first model against second, on the participants that both measured; ``difference`` is the
    mean of (first - second). With fewer than 2 participants t and p are NaN."""
    means = participant_means(per_image).pivot_table(index=["participant_id", "group"], columns="model", values="nrmse")
    means = means.dropna(subset=list(models)).reset_index()
    out = []
    for g in groups:
        sub = means[means["group"] == g]
        a, b = sub[models[0]].to_numpy(), sub[models[1]].to_numpy()
        t, p = stats.ttest_rel(a, b) if len(sub) > 1 else (np.nan, np.nan)
        out.append(
            {
                "group": g,
                "participants": len(sub),
                "difference": float(np.mean(a - b)) if len(sub) else np.nan,
                "t": float(t),
                "p": float(p),
                "significant": bool(p < alpha),
            }
        )
    return out


def participant_bias_tests(per_image: pd.DataFrame, model: str, groups: tuple[str, ...], alpha: float) -> list[dict]:
    """One model's bias tests over participants: Welch's t-test (the groups' spreads need not be equal)
    of the first group's participant means against each other group's, the difference of the groups'
    means of participant means (other minus first: positive when the patients' error is larger) and
    the SMD of those means. With fewer than 2 participants in a group t, p and SMD are NaN."""
    means = participant_means(per_image[per_image["model"] == model])
    first = means.loc[means["group"] == groups[0], "nrmse"].to_numpy()
    out = []
    for g in groups[1:]:
        other = means.loc[means["group"] == g, "nrmse"].to_numpy()
        testable = min(len(first), len(other)) > 1
        t, p = stats.ttest_ind(first, other, equal_var=False) if testable else (np.nan, np.nan)
        out.append(
            {
                "model": model,
                "comparison": f"{groups[0]} vs {g}",
                "participants": f"{len(first)} vs {len(other)}",
                "difference": float(other.mean() - first.mean()) if len(first) and len(other) else np.nan,
                "t": float(t),
                "p": float(p),
                "smd": smd(first, other) if testable else np.nan,
                "significant": bool(p < alpha),
            }
        )
    return out


def bias_tests(per_image: pd.DataFrame, model: str, groups: tuple[str, ...], alpha: float) -> list[dict]:
    """One model's bias tests: independent t-test of per-image NRMSE, the first group (controls)
    against each other group, with the difference of the means (other minus first: positive when the
    patients' error is larger) and the SMD."""
    rows = per_image[per_image["model"] == model]
    hc = rows.loc[rows["group"] == groups[0], "nrmse"].to_numpy()
    out = []
    for g in groups[1:]:
        other = rows.loc[rows["group"] == g, "nrmse"].to_numpy()
        t = stats.ttest_ind(hc, other)
        out.append(
            {
                "model": model,
                "comparison": f"{groups[0]} vs {g}",
                "difference": float(other.mean() - hc.mean()),
                "t": t.statistic,
                "p": t.pvalue,
                "smd": smd(hc, other),
                "significant": bool(t.pvalue < alpha),
            }
        )
    return out


def table_iii_markdown(tables: dict[str, pd.DataFrame], models: tuple[str, str] = ("pretrained", "finetuned")) -> str:
    """Table III as Markdown: NRMSE mean +- SD per group and model, the paired comparison per
    group, and the bias tests."""
    s = tables["summary"]
    lines = [
        "| group | n | " + " | ".join(f"{m} NRMSE (%)" for m in models) + " | t | p | SMD |",
        "|---|---|" + "---|" * (len(models) + 3),
    ]
    for row in tables["models"].itertuples():
        cells = [
            f"{s.loc[(s.group == row.group) & (s.model == m), 'mean'].item():.2f} ± "
            f"{s.loc[(s.group == row.group) & (s.model == m), 'sd'].item():.2f}"
            for m in models
        ]
        lines.append(
            f"| {row.group} | {row.n} | " + " | ".join(cells) + f" | {row.t:.2f} | {row.p:.2g} | {row.smd:.2f} |"
        )
    lines += ["", "| model | comparison | t | p | SMD |", "|---|---|---|---|---|"]
    lines += [
        f"| {r.model} | {r.comparison} | {r.t:.2f} | {r.p:.2g} | {r.smd:.2f} |" for r in tables["bias"].itertuples()
    ]
    lines += ["", *participant_markdown(tables, models)]
    return "\n".join(lines) + "\n"


def participant_markdown(tables: dict[str, pd.DataFrame], models: tuple[str, ...]) -> list[str]:
    """Markdown lines of the tests over participants: ``models_participants`` if present, then
    ``bias_participants``."""
    lines = [
        "Over participants (beyond the paper; each participant's mean NRMSE counts once, "
        "since a participant's images are not independent):",
        "",
    ]
    if "models_participants" in tables:
        lines += [
            f"| group | participants | {models[0]} - {models[1]} | paired t | p |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {r.group} | {r.participants} | {r.difference:+.2f} | {r.t:.2f} | {r.p:.2g} |"
            for r in tables["models_participants"].itertuples()
        ]
        lines.append("")
    lines += [
        "| model | comparison | participants | patients - controls | Welch t (controls vs patients) | p | SMD |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.model} | {r.comparison} | {r.participants} | {r.difference:+.2f} | {r.t:.2f} | {r.p:.2g} | {r.smd:.2f} |"
        for r in tables["bias_participants"].itertuples()
    ]
    return lines


def crossfit_table(
    per_image: pd.DataFrame,
    groups: tuple[str, ...] = ("HC", "PS", "ALS"),
    alpha: float = 0.01,
) -> dict[str, pd.DataFrame]:
    """Cross-fitted accuracy from per-image NRMSE of every annotated participant (columns ``image,
    group, set, model, nrmse``; models ``pretrained``, ``finetuned``, ``finetuned_cf``).

    Returns ``summary`` (mean, SD, n per set -- the fine-tuning split's ``train`` and ``test``
    participants, and ``all`` -- group and model), ``paired`` (per set and group, fine-tuned vs
    cross-fitted on the same images: paired t-test, SMD, and the mean difference fine-tuned minus
    cross-fitted: on ``train``, where the fine-tuned model saw the faces, a negative difference is
    its optimism), ``bias`` (HC vs patient tests over all annotated participants' images, for the two
    models that saw none of them: the pre-trained and the cross-fitted) and ``bias_participants`` (the same
    over participants, :func:`participant_bias_tests`: with every annotated participant, not only the
    fine-tuning split's few test participants, these have the power Table III's lack).
    """
    models = ("pretrained", "finetuned", "finetuned_cf")
    data = pd.concat([per_image, per_image.assign(set="all")], ignore_index=True)
    sets = ("train", "test", "all")
    summary = (
        data.groupby(["set", "group", "model"])["nrmse"]
        .agg(mean="mean", sd="std", n="size")
        .reindex(pd.MultiIndex.from_product([sets, groups, models], names=["set", "group", "model"]))
        .reset_index()
    )
    wide = data.pivot_table(index=["set", "image", "group"], columns="model", values="nrmse").reset_index()
    paired = []
    for s in sets:
        for g in groups:
            sub = wide[(wide["set"] == s) & (wide["group"] == g)].dropna(subset=["finetuned", "finetuned_cf"])
            a, b = sub["finetuned"].to_numpy(), sub["finetuned_cf"].to_numpy()
            t = stats.ttest_rel(a, b) if len(sub) > 1 else None
            paired.append(
                {
                    "set": s,
                    "group": g,
                    "n": len(sub),
                    "difference": float(np.mean(a - b)) if len(sub) else np.nan,
                    "t": t.statistic if t else np.nan,
                    "p": t.pvalue if t else np.nan,
                    "smd": smd(a, b) if len(sub) > 1 else np.nan,
                    "significant": bool(t is not None and t.pvalue < alpha),
                }
            )
    unseen = ("pretrained", "finetuned_cf")  # the models that saw none of the annotated participants
    return {"summary": summary, "paired": pd.DataFrame(paired), **group_bias(per_image, unseen, groups, alpha)}


def crossfit_markdown(tables: dict[str, pd.DataFrame]) -> str:
    """The cross-fitted accuracy as Markdown: NRMSE mean +- SD per set, group and model, the paired
    comparison fine-tuned vs cross-fitted, and the pre-trained and cross-fitted models' bias tests."""
    s = tables["summary"].set_index(["set", "group", "model"])
    models = ("pretrained", "finetuned", "finetuned_cf")
    lines = [
        "| participants | group | n | "
        + " | ".join(f"{m} NRMSE (%)" for m in models)
        + " | fine-tuned - cross-fitted | t | p | SMD |",
        "|---|---|---|" + "---|" * (len(models) + 4),
    ]
    for r in tables["paired"].itertuples():
        cells = []
        for m in models:
            mean, sd = s.loc[(r.set, r.group, m), ["mean", "sd"]]
            cells.append("n/a" if np.isnan(mean) else f"{mean:.2f} ± {sd:.2f}")
        lines.append(
            f"| {r.set} | {r.group} | {r.n} | "
            + " | ".join(cells)
            + f" | {r.difference:+.2f} | {r.t:.2f} | {r.p:.2g} | {r.smd:.2f} |"
        )
    lines += ["", "| model | comparison | t | p | SMD |", "|---|---|---|---|---|"]
    lines += [
        f"| {r.model} | {r.comparison} | {r.t:.2f} | {r.p:.2g} | {r.smd:.2f} |" for r in tables["bias"].itertuples()
    ]
    lines += ["", *participant_markdown(tables, models)]
    return "\n".join(lines) + "\n"


def bootstrap_mean_ci(
    values: pd.Series, clusters: pd.Series, resamples: int, rng: np.random.Generator, level: float = 0.95
) -> tuple[float, float]:
    """Percentile CI of the mean of ``values`` under resampling of whole ``clusters`` (participants)
    with replacement: images of one participant are not independent, so they are drawn together.
    With one cluster the interval is that cluster's mean (no spread between participants to draw)."""
    means = values.groupby(clusters).agg(["sum", "size"])
    if len(means) == 1:  # every resample is the one participant: its mean, as values.mean() gives it
        return float(values.mean()), float(values.mean())
    sums, sizes = means["sum"].to_numpy(), means["size"].to_numpy()
    pick = rng.integers(0, len(sums), size=(resamples, len(sums)))
    boot = sums[pick].sum(axis=1) / sizes[pick].sum(axis=1)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(boot, [tail, 100 - tail])
    return float(low), float(high)


def ablation_summary(
    per_image: pd.DataFrame, subsets: pd.DataFrame, seed: int, resamples: int = 2000, level: float = 0.95
) -> pd.DataFrame:
    """Per model (``pretrained`` and each ablation arm) and test group: mean NRMSE with a
    participant-bootstrap CI (:func:`bootstrap_mean_ci`), and what the arm trained on (images,
    participants, groups, from ``subsets``)."""
    trained = subsets.groupby("arm").agg(
        kind=("kind", "first"),
        training_images=("frame", "size"),
        training_participants=("participant_id", "nunique"),
        training_groups=("group", lambda g: "+".join(sorted(set(g), key=["HC", "PS", "ALS"].index))),
    )
    rng = np.random.default_rng(seed)
    rows = []
    for (model, group), t in per_image.dropna(subset=["nrmse"]).groupby(["model", "group"], sort=False):
        low, high = bootstrap_mean_ci(t["nrmse"], t["participant_id"], resamples, rng, level)
        rows.append(
            {
                "model": model,
                "group": group,
                "mean": t["nrmse"].mean(),
                "ci_low": low,
                "ci_high": high,
                "n_images": len(t),
                "n_participants": t["participant_id"].nunique(),
            }
        )
    out = pd.DataFrame(rows).merge(trained, left_on="model", right_index=True, how="left")
    out["kind"] = out["kind"].fillna("reference")
    return out
