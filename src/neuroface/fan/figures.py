"""Fig. 2 (cumulative distributions of landmark NRMSE per group), the fine-tuning loss curve, and the
fine-tuning data ablation's figure."""

from __future__ import annotations

import numpy as np
import pandas as pd

from neuroface.plotting import COLORS, GROUP_NAMES, LABELS, plt

__all__ = ["ablation_figure", "fig2_cdf", "loss_curve"]


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


#: the test groups' colours in the ablation figure
GROUP_COLORS = {"HC": "#4d4d4d", "PS": "#9467bd", "ALS": "#8c564b"}


def ablation_figure(table: pd.DataFrame) -> plt.Figure:
    """A) composition arms (equal image counts) and B) the learning curve (participants per group):
    mean NRMSE of each test group with its 95 % CI; the pre-trained model as dotted lines."""
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(7.0, 2.6), constrained_layout=True, sharey=True)
    groups = [g for g in ("HC", "PS", "ALS") if g in set(table["group"])]
    reference = table[table["kind"] == "reference"].set_index("group")["mean"]
    comp = table[table["kind"] == "composition"]
    arms = list(dict.fromkeys(comp["model"]))
    curve = table[table["kind"] == "curve"].sort_values("model")
    for k, g in enumerate(groups):
        c = GROUP_COLORS.get(g)
        t = comp[comp["group"] == g].set_index("model").reindex(arms)
        x = np.arange(len(arms)) + (k - (len(groups) - 1) / 2) * 0.2
        ax.errorbar(
            x,
            t["mean"],
            # clipped: with one test participant the interval is its mean, equal up to rounding
            yerr=np.clip([t["mean"] - t["ci_low"], t["ci_high"] - t["mean"]], 0, None),
            fmt="o",
            ms=3,
            capsize=2,
            color=c,
            label=f"{GROUP_NAMES.get(g, g)} test",
        )
        u = curve[curve["group"] == g]
        per_group = u["model"].str.removeprefix("n-").astype(int)  # arms n-<m>: m participants per group
        ax2.plot(per_group, u["mean"], marker="o", ms=3, color=c, label=f"{GROUP_NAMES.get(g, g)} test")
        ax2.fill_between(per_group, u["ci_low"], u["ci_high"], color=c, alpha=0.15, lw=0)
        if g in reference.index:
            for a in (ax, ax2):
                a.axhline(reference[g], color=c, lw=0.7, ls=":")
    ax.set_xticks(np.arange(len(arms)), [a.removeprefix("mix-").replace("-", "+") for a in arms])
    ax.set_xlabel("fine-tuning frames from (equal image counts)")
    ax.set_ylabel("NRMSE (%)")
    ax.set_title("A) which groups' faces", loc="left")
    ax.grid(alpha=0.3, lw=0.5)  # no legend of its own: B's names the same colours, and A has no room for one
    ax2.set_xscale("log", base=2)
    points = sorted(curve["model"].str.removeprefix("n-").astype(int).unique())
    ax2.set_xticks(points, [str(m) for m in points])
    ax2.minorticks_off()
    ax2.set_xlabel("training participants per group (all their frames)")
    ax2.set_title("B) how many participants", loc="left")
    ax2.plot([], [], color="0.3", lw=0.7, ls=":", label="pre-trained, per test group")
    ax2.legend(fontsize=6, frameon=False)
    ax2.grid(alpha=0.3, lw=0.5)
    return fig
