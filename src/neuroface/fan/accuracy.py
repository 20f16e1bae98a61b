"""Landmark accuracy (paper §II-B4, Fig. 2, Table III): NRMSE, NME, per-region errors, statistics.

Errors are normalised by the ground truth's inter-canthal distance: the outer eye corners
(36-45, the 300-VW benchmark's normaliser) by default, the inner corners (39-42, the clinical
"intercanthal") as an option. Results in percent.
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
    pooled = np.sqrt(((n1 - 1) * a.var(ddof=1) + (n2 - 1) * b.var(ddof=1)) / (n1 + n2 - 2))
    return float(abs(a.mean() - b.mean()) / pooled)


def table_iii(
    per_image: pd.DataFrame,
    models: tuple[str, str] = ("pretrained", "finetuned"),
    groups: tuple[str, ...] = ("HC", "PS", "ALS"),
    alpha: float = 0.01,
) -> dict[str, pd.DataFrame]:
    """Table III from per-image NRMSE (columns ``image, group, model, nrmse``).

    Returns ``summary`` (mean, SD, n per group and model), ``models`` (paired t-test between the
    models on the same images, per group: t, p, SMD) and ``bias`` (independent t-tests HC vs
    each patient group, per model: t, p, SMD).
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
    bias = []
    for m in models:
        hc = per_image.loc[(per_image["model"] == m) & (per_image["group"] == groups[0]), "nrmse"].to_numpy()
        for g in groups[1:]:
            other = per_image.loc[(per_image["model"] == m) & (per_image["group"] == g), "nrmse"].to_numpy()
            t = stats.ttest_ind(hc, other)
            bias.append(
                {
                    "model": m,
                    "comparison": f"{groups[0]} vs {g}",
                    "t": t.statistic,
                    "p": t.pvalue,
                    "smd": smd(hc, other),
                    "significant": bool(t.pvalue < alpha),
                }
            )
    return {"summary": summary, "models": pd.DataFrame(paired), "bias": pd.DataFrame(bias)}


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
    return "\n".join(lines) + "\n"
