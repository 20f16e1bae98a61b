"""Figs. 3-4: ROC curves of one run, one panel per task, one curve per landmark source."""

from __future__ import annotations

import numpy as np
import pandas as pd

from neuroface.plotting import COLORS, LABELS, plt

__all__ = ["roc_figure", "roc_points"]


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
    sources: tuple[str, ...] = ("pretrained", "finetuned", "true2d"),
) -> plt.Figure:
    """ROC curves of one run, one panel per task (A, B, C), one curve per landmark source.

    ``probabilities``: task, source, label, probability per participant; ``aucs``: task, source,
    auc (Table II's rows of this run), quoted in the legend.
    """
    fig, axes = plt.subplots(1, len(tasks), figsize=(7.0, 3.3), sharey=True, constrained_layout=True)
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
        # under the panel: inside, four long labels hid the curves near the x axis
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), frameon=False, fontsize=6, borderaxespad=0)
    np.atleast_1d(axes)[0].set_ylabel("True positive rate")
    fig.suptitle(title, fontsize=9)
    return fig
