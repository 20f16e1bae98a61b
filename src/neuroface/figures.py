"""Publication figures: Fig. 2 (landmark-error CDFs) and Figs. 3-4 (ROC curves).

Pre-trained blue, fine-tuned orange (ground truth grey where present), as in the paper.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from neuroface.io import atomic_path  # noqa: E402

COLORS = {"pretrained": "#1f77b4", "finetuned": "#ff7f0e", "truth": "#7f7f7f"}
LABELS = {"pretrained": "Pre-trained", "finetuned": "Fine-tuned", "truth": "Ground truth"}
GROUP_NAMES = {"HC": "HC", "PS": "PS", "ALS": "ALS"}

plt.rcParams.update(
    {
        "font.size": 8,
        "axes.titlesize": 9,
        "axes.labelsize": 8,
        "legend.fontsize": 7,
        "pdf.fonttype": 42,
        "ps.fonttype": 42,
        "svg.hashsalt": "neuroface",
        "figure.dpi": 100,
    }
)


def save(fig: plt.Figure, pdf: str | Path, png: str | Path) -> None:
    """Write a figure as PDF (vector) and PNG (300 dpi), atomically and reproducibly."""
    for path, kwargs in ((pdf, {"metadata": {"CreationDate": None, "ModDate": None}}), (png, {"dpi": 300})):
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=Path(path).suffix[1:], bbox_inches="tight", **kwargs)
    plt.close(fig)


def fig2_cdf(
    per_image: pd.DataFrame,
    groups: tuple[str, ...] = ("HC", "PS", "ALS"),
    models: tuple[str, ...] = ("pretrained", "finetuned"),
) -> plt.Figure:
    """Cumulative distribution of per-image NRMSE, one panel per group (A, B, C)."""
    fig, axes = plt.subplots(1, len(groups), figsize=(7.0, 2.4), sharey=True, constrained_layout=True)
    top = np.nanpercentile(per_image["nrmse"], 99) * 1.05
    for k, (ax, group) in enumerate(zip(axes, groups, strict=True)):
        for model in models:
            values = np.sort(
                per_image.loc[(per_image["group"] == group) & (per_image["model"] == model), "nrmse"].dropna()
            )
            if len(values):
                ax.step(
                    np.r_[0, values],
                    np.r_[0, np.arange(1, len(values) + 1) / len(values)],
                    where="post",
                    color=COLORS[model],
                    label=f"{LABELS[model]} (n={len(values)})",
                )
        ax.set_title(f"{chr(65 + k)}) {GROUP_NAMES.get(group, group)}", loc="left")
        ax.set_xlim(0, top)
        ax.set_ylim(0, 1.01)
        ax.set_xlabel("NRMSE (%)")
        ax.grid(alpha=0.3, lw=0.5)
        ax.legend(loc="lower right", frameon=False)
    axes[0].set_ylabel("Proportion of images")
    return fig


def loss_curve(history: pd.DataFrame, ylabel: str = "Weighted Adaptive Wing loss") -> plt.Figure:
    """Training loss per epoch."""
    fig, ax = plt.subplots(figsize=(3.5, 2.4), constrained_layout=True)
    ax.plot(history["epoch"], history["loss"], marker="o", color=COLORS["finetuned"])
    ax.set_xlabel("Epoch")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, lw=0.5)
    return fig


def roc_points(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates ``(K,)`` at every distinct threshold, from (0, 0) to (1, 1)."""
    labels = np.asarray(labels, bool)
    scores = np.asarray(scores, np.float64)
    thresholds = np.unique(scores)[::-1]
    tpr = np.array([0.0] + [np.mean(scores[labels] >= t) for t in thresholds])
    fpr = np.array([0.0] + [np.mean(scores[~labels] >= t) for t in thresholds])
    return fpr, tpr


def roc_figure(
    probabilities: pd.DataFrame,
    aucs: pd.DataFrame,
    title: str,
    tasks: tuple[str, ...] = ("BBP", "OPEN", "SPREAD"),
) -> plt.Figure:
    """ROC curves of one run, one panel per task (A, B, C), one curve per landmark source.

    ``probabilities``: task, source, label, probability per participant; ``aucs``: task, source,
    auc (Table II's rows of this run), quoted in the legend.
    """
    fig, axes = plt.subplots(1, len(tasks), figsize=(7.0, 2.5), sharey=True, constrained_layout=True)
    auc_of = aucs.set_index(["task", "source"])["auc"]
    for k, (ax, task) in enumerate(zip(np.atleast_1d(axes), tasks, strict=True)):
        ax.plot([0, 1], [0, 1], color="0.8", lw=0.6, ls="--")
        for source, rows in probabilities[probabilities["task"] == task].groupby("source", sort=False):
            if rows["label"].nunique() < 2:
                continue
            fpr, tpr = roc_points(rows["label"], rows["probability"])
            auc = auc_of.get((task, source), np.nan)
            # straight segments between operating points: a tie between the classes is a diagonal
            label = f"{LABELS.get(source, source)} (AUC {auc:.2f})"
            ax.plot(fpr, tpr, color=COLORS.get(source), lw=1.2, label=label)
        ax.set_title(f"{chr(65 + k)}) {task}", loc="left")
        ax.set_xlim(-0.01, 1.01)
        ax.set_ylim(-0.01, 1.01)
        ax.set_aspect("equal")
        ax.set_xlabel("False positive rate")
        ax.grid(alpha=0.3, lw=0.5)
        ax.legend(loc="lower right", frameon=True, framealpha=0.9, edgecolor="none", fontsize=6)
    np.atleast_1d(axes)[0].set_ylabel("True positive rate")
    fig.suptitle(title, fontsize=9)
    return fig
