"""ROC analysis over participants: AUC, DeLong covariance, confidence interval and paired test.

Labels are 0 (control) / 1 (disease); a higher score means "more likely diseased", so
``AUC = P(score of a diseased case > score of a control) + P(tie) / 2`` (Mann-Whitney).

DeLong, DeLong & Clarke-Pearson (1988), *Biometrics* 44:837-845: for ``m`` diseased cases
``X_i`` and ``n`` controls ``Y_j`` the structural components (placement values) of a score are

    V10_i = mean_j psi(X_i, Y_j)    V01_j = mean_i psi(X_i, Y_j)    psi = 1 if X > Y, 1/2 if X == Y, else 0

and the covariance of k AUCs estimated on the same cases is ``S10 / m + S01 / n``, where
``S10`` and ``S01`` are the ``(k, k)`` sample covariances (denominator m - 1, n - 1) of the
components. They are computed from midranks in O(N log N) per score: with ``R`` the midrank of
a value among all N cases, ``R+`` among the diseased and ``R-`` among the controls,
``V10_i = (R(X_i) - R+(X_i)) / n`` and ``V01_j = 1 - (R(Y_j) - R-(Y_j)) / m``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

__all__ = ["auc", "auc_ci", "auc_with_ci", "delong", "delong_test"]


def binary_labels(labels: object, name: str = "labels") -> np.ndarray:
    """Boolean ``(N,)`` array (True = disease) of 0/1 (or boolean) labels; ValueError otherwise."""
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.dtype == bool:
        return arr
    try:
        values = arr.astype(np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be 0/1 (1 = disease), got dtype {arr.dtype}") from err
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        raise ValueError(f"{name} must be 0/1 (1 = disease); found {arr[bad][:5].tolist()}")
    return values == 1.0


def _labels(labels: object) -> np.ndarray:
    """:func:`binary_labels` with both classes present."""
    out = binary_labels(labels)
    n_pos = int(out.sum())
    if n_pos == 0 or n_pos == out.size:
        raise ValueError(f"labels need both classes; got {n_pos} diseased (1) and {out.size - n_pos} controls (0)")
    return out


def _scores(scores: object, n: int, name: str = "scores") -> np.ndarray:
    """Validated finite float ``(N,)`` array."""
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size != n:
        raise ValueError(f"{name} has {arr.size} values but labels has {n}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _placements(is_pos: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Placement values ``(V10 (m,), V01 (n,))`` of one score vector, via midranks."""
    pos, neg = scores[is_pos], scores[~is_pos]
    m, n = pos.size, neg.size
    rank_all = stats.rankdata(scores)  # midranks ("average")
    v10 = (rank_all[is_pos] - stats.rankdata(pos)) / n
    v01 = 1.0 - (rank_all[~is_pos] - stats.rankdata(neg)) / m
    return v10, v01


def auc(labels, scores) -> float:
    """Mann-Whitney AUC of ``scores (N,)`` for ``labels (N,)`` in {0, 1}; ties count 1/2."""
    is_pos = _labels(labels)
    x = _scores(scores, is_pos.size)
    m = int(is_pos.sum())
    n = is_pos.size - m
    rank_sum = float(stats.rankdata(x)[is_pos].sum())
    return (rank_sum - m * (m + 1) / 2.0) / (m * n)


def _components(labels, scores: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Placement values ``V10 (k, m)`` and ``V01 (k, n)`` of k score vectors; needs m, n >= 2."""
    if not scores:
        raise ValueError("need at least one score vector")
    is_pos = _labels(labels)
    m = int(is_pos.sum())
    n = is_pos.size - m
    if m < 2 or n < 2:
        raise ValueError(f"DeLong's variance needs at least 2 cases per class; got {m} diseased and {n} controls")
    v10 = np.empty((len(scores), m))
    v01 = np.empty((len(scores), n))
    for r, s in enumerate(scores):
        v10[r], v01[r] = _placements(is_pos, _scores(s, is_pos.size, f"scores[{r}]"))
    return v10, v01


def delong(labels, *scores) -> tuple[np.ndarray, np.ndarray]:
    """AUCs ``(k,)`` and their DeLong covariance ``(k, k)`` for k score vectors ``(N,)`` on the same cases.

    Needs at least 2 cases per class (the sample covariances divide by m - 1 and n - 1).
    """
    v10, v01 = _components(labels, scores)
    aucs = v10.mean(axis=1)
    cov = np.atleast_2d(np.cov(v10)) / v10.shape[1] + np.atleast_2d(np.cov(v01)) / v01.shape[1]
    return aucs, cov


def auc_ci(labels, scores, level: float = 0.95) -> tuple[float, float]:
    """DeLong normal ``level`` confidence interval ``(low, high)`` of the AUC, clipped to [0, 1].

    ``AUC -/+ z_{(1 + level) / 2} * sqrt(var)``. When the DeLong variance is 0 (e.g. AUC 1 or 0:
    every diseased case is ranked above, or below, every control) the interval is degenerate,
    ``(auc, auc)``.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    aucs, cov = delong(labels, scores)
    value, var = float(aucs[0]), float(cov[0, 0])
    if not var > 0.0:
        return value, value
    half = stats.norm.ppf(0.5 + level / 2.0) * math.sqrt(var)
    return float(max(0.0, value - half)), float(min(1.0, value + half))


def auc_with_ci(labels, scores, level: float = 0.95) -> tuple[float, float, float]:
    """``(auc, low, high)`` for a table that may lack cases: the AUC is NaN without both classes, the
    DeLong interval (:func:`auc_ci`) NaN with fewer than 2 cases of a class (its variance needs them)."""
    is_pos = binary_labels(labels)
    m, n = int(is_pos.sum()), int(is_pos.size - is_pos.sum())
    if not (m and n):
        return math.nan, math.nan, math.nan
    low, high = auc_ci(labels, scores, level) if min(m, n) >= 2 else (math.nan, math.nan)
    return auc(labels, scores), low, high


def delong_test(labels, scores_a, scores_b) -> tuple[float, float]:
    """DeLong's test of H0 ``AUC_a == AUC_b`` for two correlated ROC curves (same cases): ``(z, p)``.

    ``z = (AUC_a - AUC_b) / sqrt(var(AUC_a - AUC_b))`` with the DeLong variance, ``p`` two-sided
    (standard normal). Swapping a and b flips the sign of z and keeps p. When the variance of the
    difference is 0 (identical placement values, e.g. one score a monotone transform of the
    other, or both AUCs 1) the result is ``(0.0, 1.0)`` if the AUCs are equal, and
    ``(+/-inf, 0.0)`` otherwise.
    """
    v10, v01 = _components(labels, (scores_a, scores_b))
    d10, d01 = v10[0] - v10[1], v01[0] - v01[1]  # placement values of the difference
    diff = float(d10.mean())
    var = float(d10.var(ddof=1) / d10.size + d01.var(ddof=1) / d01.size)
    if not var > 0.0:
        if math.isclose(diff, 0.0, abs_tol=1e-12):
            return 0.0, 1.0
        return math.copysign(math.inf, diff), 0.0
    z = diff / math.sqrt(var)
    return z, float(2.0 * stats.norm.sf(abs(z)))
