"""Fig. 2 (cumulative distributions of landmark NRMSE per group) and the fine-tuning loss curve."""

from __future__ import annotations

import numpy as np
import pandas as pd

from neuroface.plotting import COLORS, GROUP_NAMES, LABELS, plt

__all__ = ["fig2_cdf", "loss_curve"]


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
