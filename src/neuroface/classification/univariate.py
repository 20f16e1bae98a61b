"""Single features over participants: how well each feature alone separates the groups, and whether the best of a
run's features separates them better than chance lets the best of that many do.

Each participant is one case: its value of a feature is the mean over its repetitions (the forests' probability of
a participant is the mean over its repetitions too). A feature's AUC is Mann-Whitney's over the participants, the
disease group positive (:func:`neuroface.classification.roc.auc`; below 0.5: lower in the disease group).

The best of ``k`` features is far from 0.5 even when no feature carries any group signal (with 13 features and 22
participants, beyond 0.5 +- 0.33-0.35 one time in twenty). Its p-value is therefore the max-statistic permutation test
(Westfall & Young 1993, *Resampling-Based Multiple Testing*, ch. 2): the participants' labels are permuted (group
sizes kept), each permutation's largest ``|AUC - 0.5|`` over the features is recorded, and

    p = (1 + #{permutations whose largest >= the observed best}) / (1 + permutations),

the family-wise p-value of the best feature. Under a permutation the ranks of the values do not change, so each
permutation's AUCs come from one rank matrix: ``AUC = (sum of the positives' midranks - m (m + 1) / 2) / (m n)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from neuroface.classification.roc import auc

__all__ = ["BEST_COLUMNS", "best_feature", "best_features", "feature_aucs", "max_null", "participant_means"]

#: Columns of :func:`best_features`' frame.
BEST_COLUMNS = (
    "comparison",
    "task",
    "source",
    "n_control",
    "n_disease",
    "best_feature",
    "best_auc",
    "p_family",
    "null_95",
)


def participant_means(
    table: pd.DataFrame, features: Sequence[str], disease: str, control: str = "HC"
) -> tuple[pd.DataFrame, np.ndarray]:
    """Per participant of ``control`` and ``disease``, sorted by id: the mean of each feature over its repetitions,
    and the 0/1 label (1 = ``disease``). ValueError naming the columns that are missing or have no value for some
    participant."""
    features = list(features)
    missing = [c for c in ("participant_id", "group", *features) if c not in table.columns]
    if missing:
        raise ValueError(f"table lacks column(s): {', '.join(missing)}")
    rows = table[table["group"].isin([control, disease])]
    means = rows.groupby("participant_id", sort=True)[features].mean()
    labels = (rows.groupby("participant_id", sort=True)["group"].first() == disease).to_numpy(dtype=np.int64)
    empty = means.columns[means.isna().any()].tolist()
    if empty:
        raise ValueError(f"feature(s) {', '.join(empty)} have no value for some participant")
    return means, labels


def feature_aucs(means: pd.DataFrame, labels: np.ndarray) -> pd.Series:
    """AUC of each feature column of ``means`` over the participants, disease (label 1) as the positive class."""
    return pd.Series({f: auc(labels, means[f].to_numpy()) for f in means.columns}, dtype=float)


def max_null(means: pd.DataFrame, labels: np.ndarray, permutations: int, seed: int) -> np.ndarray:
    """The largest ``|AUC - 0.5|`` over the features after each of ``permutations`` seeded permutations of the
    labels, ``(permutations,)``."""
    ranks = stats.rankdata(means.to_numpy(dtype=np.float64), axis=0)  # (P, F) midranks within each feature
    m = int(labels.sum())
    n = labels.size - m
    rng = np.random.default_rng(seed)
    out = np.empty(permutations)
    for k in range(permutations):
        positive = rng.permutation(labels).astype(bool)
        out[k] = np.max(np.abs((ranks[positive].sum(axis=0) - m * (m + 1) / 2) / (m * n) - 0.5))
    return out


def best_feature(aucs: pd.Series, null: np.ndarray) -> dict:
    """The feature farthest from 0.5, its AUC, its family-wise permutation p-value and the null's 95th percentile
    (of the largest ``|AUC - 0.5|``)."""
    distance = (aucs - 0.5).abs()
    name = str(distance.idxmax())
    observed = float(distance.max())
    return {
        "best_feature": name,
        "best_auc": float(aucs[name]),
        "p_family": float((1 + np.sum(null >= observed - 1e-12)) / (1 + null.size)),
        "null_95": float(np.percentile(null, 95)),
    }


def best_features(
    tables: Mapping[str, pd.DataFrame],
    features: Sequence[str],
    disease: str,
    comparison: str,
    task: str,
    permutations: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per landmark source (``tables``: source -> repetition features) of :data:`BEST_COLUMNS`; a source
    with fewer than 2 participants in a group gets NaN (a model that kept no frame)."""
    rows = []
    for source, table in tables.items():
        means, labels = participant_means(table, features, disease)
        n_control, n_disease = int((labels == 0).sum()), int(labels.sum())
        row = {"comparison": comparison, "task": task, "source": source, "n_control": n_control, "n_disease": n_disease}
        if min(n_control, n_disease) < 2:
            row.update(best_feature="", best_auc=np.nan, p_family=np.nan, null_95=np.nan)
        else:
            row.update(best_feature(feature_aucs(means, labels), max_null(means, labels, permutations, seed)))
        rows.append(row)
    return pd.DataFrame(rows, columns=list(BEST_COLUMNS))
