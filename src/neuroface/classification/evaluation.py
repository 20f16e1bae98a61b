"""Table II: AUC per run, landmark source and task, its confidence interval, and the paired test.

Input: per-participant disease probabilities (columns comparison, task, source, participant_id,
group, label, probability), as the leave-one-subject-out random forests give them. Each AUC is
over the participants with at least one classified repetition from that source; the paired
DeLong test compares two sources on the participants both have.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from neuroface.classification import roc

#: each source's paired comparison: fine-tuned against pre-trained, cross-fitted against fine-tuned
#: (what having seen the faces is worth), the fair ceiling (true 2D through the models' path, the
#: signal ladder's R2) against fine-tuned
PAIRED_WITH = {"finetuned": "pretrained", "finetuned_cf": "finetuned", "true2d": "finetuned"}


COLUMNS = [
    "source",
    "control",
    "disease",
    "n_control",
    "n_disease",
    "auc",
    "ci_low",
    "ci_high",
    "paired_with",
    "n_paired",
    "p_paired",
]


def run_summary(probabilities: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """One row per source of one run and task: n per group, AUC, CI, paired p (NaN if none)."""
    rows = []
    by_source = {s: t.set_index("participant_id") for s, t in probabilities.groupby("source", sort=False)}
    for source, table in by_source.items():
        labels = table["label"].to_numpy(int)
        groups = table.groupby("label")["group"].first()
        value, low, high = roc.auc_with_ci(labels, table["probability"], level)
        row = {
            "source": source,
            "control": groups.get(0, ""),
            "disease": groups.get(1, ""),
            "n_control": int((labels == 0).sum()),
            "n_disease": int((labels == 1).sum()),
            "auc": value,
            "ci_low": low,
            "ci_high": high,
            "paired_with": PAIRED_WITH.get(source, ""),
            "n_paired": 0,
            "p_paired": np.nan,
        }
        other = by_source.get(row["paired_with"])
        if other is not None:
            common = table.index.intersection(other.index)
            paired = table.loc[common, "label"].to_numpy(int)
            row["n_paired"] = len(common)
            # sources drop repetitions apart, so the participants both have may hold one case of a class
            if min(paired.sum(), len(paired) - paired.sum()) >= 2:
                _, row["p_paired"] = roc.delong_test(
                    paired, table.loc[common, "probability"], other.loc[common, "probability"]
                )
        rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def table_ii(probabilities: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Table II from the probabilities of every run (comparison) and task, in input order."""
    parts = [
        run_summary(group, level).assign(comparison=comparison, task=task)
        for (comparison, task), group in probabilities.groupby(["comparison", "task"], sort=False)
    ]
    if not parts:  # no source had enough participants in any run
        return pd.DataFrame(columns=["comparison", "task", *COLUMNS])
    table = pd.concat(parts, ignore_index=True)
    return table[["comparison", "task", *[c for c in table.columns if c not in ("comparison", "task")]]]


def table_ii_markdown(table: pd.DataFrame, level: float = 0.95) -> str:
    """Table II as Markdown: one line per run, task and source."""
    lines = [
        f"| Run | Task | Landmarks | n (control/disease) | AUC [{level:.0%} CI] | paired p (vs) |",
        "|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        auc = "n/a" if np.isnan(r.auc) else f"{r.auc:.2f} [{r.ci_low:.2f}, {r.ci_high:.2f}]"
        paired = "" if np.isnan(r.p_paired) else f"{r.p_paired:.3g} (vs {r.paired_with}, n={r.n_paired})"
        comparison = r.comparison.replace("_", " ")
        lines.append(f"| {comparison} | {r.task} | {r.source} | {r.n_control}/{r.n_disease} | {auc} | {paired} |")
    return "\n".join(lines) + "\n"
