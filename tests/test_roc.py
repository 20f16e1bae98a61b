"""AUC, DeLong covariance, confidence interval and paired test (neuroface.classification.roc).

References: scikit-learn's ``roc_auc_score``; a naive DeLong written here from the 1988
definitions (explicit m x n kernel matrix); pROC's published results on its ``aSAH`` data set;
a Monte-Carlo check of the variance.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from neuroface.classification import roc

# --- naive reference, straight from DeLong et al. (1988) ------------------------------------


def naive_delong(labels, *scores):
    """AUCs (k,) and covariance (k, k) from the explicit kernel psi(X_i, Y_j), no ranks."""
    labels = np.asarray(labels)
    k = len(scores)
    v10, v01, aucs = [], [], []
    for s in scores:
        s = np.asarray(s, dtype=float)
        x, y = s[labels == 1], s[labels == 0]
        psi = np.zeros((x.size, y.size))
        for i in range(x.size):
            for j in range(y.size):
                psi[i, j] = 1.0 if x[i] > y[j] else (0.5 if x[i] == y[j] else 0.0)
        aucs.append(psi.sum() / (x.size * y.size))
        v10.append(psi.mean(axis=1))  # V10(X_i): placement of each diseased case among controls
        v01.append(psi.mean(axis=0))  # V01(Y_j)
    m, n = v10[0].size, v01[0].size
    s10 = np.zeros((k, k))
    s01 = np.zeros((k, k))
    for r in range(k):
        for q in range(k):
            s10[r, q] = sum((v10[r][i] - aucs[r]) * (v10[q][i] - aucs[q]) for i in range(m)) / (m - 1)
            s01[r, q] = sum((v01[r][j] - aucs[r]) * (v01[q][j] - aucs[q]) for j in range(n)) / (n - 1)
    return np.array(aucs), s10 / m + s01 / n


def naive_test(labels, a, b):
    aucs, cov = naive_delong(labels, a, b)
    z = (aucs[0] - aucs[1]) / math.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    return z, math.erfc(abs(z) / math.sqrt(2.0))


def tied_data(seed, n=40, k=3):
    """Labels (n,) with both classes and k correlated score vectors rounded to create many ties."""
    rng = np.random.default_rng(seed)
    labels = np.zeros(n, dtype=int)
    labels[rng.choice(n, size=int(rng.integers(5, n - 5)), replace=False)] = 1
    latent = rng.normal(size=n) + 0.8 * labels
    scores = [np.round(latent + rng.normal(scale=0.7, size=n), 1 if r % 2 else 0) for r in range(k)]
    return labels, scores


# --- pROC's aSAH data (xrobin/pROC, data/aSAH.RData; outcome Poor = 1), 113 patients ----------

ASAH_OUTCOME = np.array(
    [
        int(c)
        for c in (
            "000011010010110010111010000000001001101100000000011000100"
            "01010011101101111000110100000010000000000001111110001000"
        )
    ]
)
ASAH_WFNS = np.array(
    [
        int(c)
        for c in (
            "111132541252551252252111121211342145414255112411255212512"
            "22151125214524414121421232421451154221113125225552445111"
        )
    ]
)
# fmt: off
ASAH_S100B = np.array([
    0.13, 0.14, 0.1, 0.04, 0.13, 0.1, 0.47, 0.16, 0.18, 0.1, 0.12, 0.1, 0.44, 0.71, 0.04, 0.08, 0.49, 0.04, 0.07,
    0.33, 0.09, 0.09, 0.07, 0.11, 0.07, 0.17, 0.07, 0.11, 0.13, 0.19, 0.05, 0.16, 0.41, 0.14, 0.34, 0.35, 0.48,
    0.09, 0.96, 0.25, 0.5, 0.46, 0.16, 0.07, 0.43, 0.45, 0.11, 0.08, 0.09, 0.86, 0.52, 0.08, 0.06, 0.13, 2.07,
    0.1, 0.14, 0.15, 0.07, 0.06, 0.77, 0.05, 0.09, 0.3, 0.03, 0.09, 0.04, 0.23, 0.7, 0.09, 0.27, 0.71, 0.08, 0.26,
    0.08, 0.16, 0.09, 0.13, 0.1, 0.08, 0.11, 0.33, 0.11, 0.28, 0.07, 0.1, 0.32, 0.22, 0.07, 0.05, 0.24, 0.38, 0.1,
    0.15, 0.08, 0.14, 0.1, 0.07, 0.04, 0.19, 0.56, 0.14, 0.58, 0.32, 0.82, 0.74, 0.15, 0.47, 0.17, 0.44, 0.15,
    0.5, 0.48,
])
ASAH_NDKA = np.array([
    3.01, 8.54, 8.09, 10.42, 17.4, 12.75, 6.0, 13.2, 15.54, 6.01, 15.96, 17.86, 5.18, 8.9, 13.41, 20.75, 11.6,
    16.11, 32.37, 54.82, 32.41, 49.94, 40.34, 9.47, 6.29, 12.53, 6.54, 6.3, 80.3, 12.8, 9.8, 9.81, 9.85, 18.21,
    5.03, 14.04, 21.93, 8.02, 7.42, 8.38, 6.59, 9.63, 13.12, 7.96, 14.34, 41.43, 7.63, 7.06, 12.59, 13.56, 3.87,
    9.44, 7.66, 12.98, 419.19, 27.19, 22.27, 9.95, 21.22, 11.73, 10.4, 58.83, 6.39, 11.09, 12.22, 13.67, 17.21,
    22.63, 12.9, 9.7, 21.57, 8.23, 72.57, 15.54, 10.51, 10.6, 14.57, 5.19, 9.63, 4.61, 21.48, 17.3, 12.71, 9.44,
    11.07, 19.46, 10.83, 5.37, 11.97, 7.75, 9.83, 10.55, 28.49, 8.53, 12.57, 12.9, 46.83, 11.68, 12.67, 9.01,
    9.57, 34.06, 11.72, 14.26, 47.61, 11.67, 24.58, 10.33, 13.87, 15.89, 22.43, 6.79, 13.45,
])
# fmt: on


def test_asah_data_shape():
    assert ASAH_OUTCOME.size == ASAH_WFNS.size == ASAH_S100B.size == ASAH_NDKA.size == 113
    assert ASAH_OUTCOME.sum() == 41  # 41 Poor, 72 Good


@pytest.mark.parametrize(
    ("a", "b", "z", "p"),
    [
        # pROC tests/testthat/test-roc.test.R: roc.test(r.wfns, r.s100b), (r.wfns, r.ndka), (r.ndka, r.s100b)
        ("wfns", "s100b", 2.20898359144091, 0.0271757822291882),
        ("wfns", "ndka", 2.79777591868904, 0.00514557970691098),
        ("ndka", "s100b", -1.39077002573558, 0.164295175223054),
        # pROC vignette: roc.test(roc(aSAH$outcome, aSAH$s100b), roc(aSAH$outcome, aSAH$wfns)): Z = -2.209, p = 0.02718
        ("s100b", "wfns", -2.20898359144091, 0.0271757822291882),
    ],
)
def test_delong_test_matches_proc(a, b, z, p):
    scores = {"wfns": ASAH_WFNS, "s100b": ASAH_S100B, "ndka": ASAH_NDKA}
    got_z, got_p = roc.delong_test(ASAH_OUTCOME, scores[a], scores[b])
    assert got_z == pytest.approx(z, rel=1e-9)
    assert got_p == pytest.approx(p, rel=1e-9)


def test_delong_difference_ci_matches_proc():
    """pROC's 95% CI of AUC(wfns) - AUC(s100b): 0.0104061769564846 .. 0.174214419249478."""
    aucs, cov = roc.delong(ASAH_OUTCOME, ASAH_WFNS, ASAH_S100B)
    half = 1.959963984540054 * math.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    assert aucs[0] - aucs[1] - half == pytest.approx(0.0104061769564846, rel=1e-9)
    assert aucs[0] - aucs[1] + half == pytest.approx(0.174214419249478, rel=1e-9)


def test_auc_ci_matches_proc():
    """pROC tests/testthat/test-ci.auc.R: ci.auc(r.ndka) = 0.501244999271703, 0.611957994579946, 0.722670989888189."""
    assert roc.auc(ASAH_OUTCOME, ASAH_NDKA) == pytest.approx(0.611957994579946, rel=1e-12)
    low, high = roc.auc_ci(ASAH_OUTCOME, ASAH_NDKA)
    assert low == pytest.approx(0.501244999271703, rel=1e-9)
    assert high == pytest.approx(0.722670989888189, rel=1e-9)


# --- AUC --------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_auc_equals_sklearn_with_ties(seed):
    labels, scores = tied_data(seed)
    for s in scores:
        assert len(np.unique(s)) < s.size  # there are ties
        assert roc.auc(labels, s) == pytest.approx(roc_auc_score(labels, s), abs=1e-12)


def test_auc_extremes_and_orientation():
    labels = np.array([0, 0, 1, 1])
    assert roc.auc(labels, [0.1, 0.2, 0.3, 0.4]) == 1.0  # higher score = disease
    assert roc.auc(labels, [0.4, 0.3, 0.2, 0.1]) == 0.0
    assert roc.auc(labels, [1.0, 1.0, 1.0, 1.0]) == 0.5
    assert roc.auc([False, False, True, True], [0.1, 0.2, 0.3, 0.4]) == 1.0
    assert roc.auc([0, 1], [0.0, 1.0]) == 1.0  # one case per class is enough for the AUC itself


# --- DeLong covariance and test against the naive reference --------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_delong_equals_naive(seed):
    labels, scores = tied_data(seed)
    aucs, cov = roc.delong(labels, *scores)
    ref_aucs, ref_cov = naive_delong(labels, *scores)
    assert aucs.shape == (3,) and cov.shape == (3, 3)
    np.testing.assert_allclose(aucs, ref_aucs, rtol=0, atol=1e-12)
    np.testing.assert_allclose(cov, ref_cov, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(cov, cov.T, rtol=0, atol=1e-15)
    np.testing.assert_allclose(aucs, [roc_auc_score(labels, s) for s in scores], atol=1e-12)


def test_delong_single_score_shapes():
    labels, scores = tied_data(7)
    aucs, cov = roc.delong(labels, scores[0])
    assert aucs.shape == (1,) and cov.shape == (1, 1)
    assert cov[0, 0] == pytest.approx(naive_delong(labels, scores[0])[1][0, 0], rel=1e-10)


@pytest.mark.parametrize("seed", range(5))
def test_delong_test_equals_naive_and_is_antisymmetric(seed):
    labels, (a, b, _) = tied_data(seed)
    z, p = roc.delong_test(labels, a, b)
    ref_z, ref_p = naive_test(labels, a, b)
    assert z == pytest.approx(ref_z, rel=1e-9, abs=1e-12)
    assert p == pytest.approx(ref_p, rel=1e-9)
    z_ba, p_ba = roc.delong_test(labels, b, a)
    assert z_ba == pytest.approx(-z, rel=1e-12, abs=1e-15)
    assert p_ba == pytest.approx(p, rel=1e-12)
    assert 0.0 <= p <= 1.0


def test_delong_test_zero_variance():
    labels, (a, _, _) = tied_data(3)
    assert roc.delong_test(labels, a, a) == (0.0, 1.0)
    assert roc.delong_test(labels, a, 3.0 * a + 1.0) == (0.0, 1.0)  # monotone transform: same ROC
    perfect = labels + 0.1 * np.arange(labels.size) / labels.size
    assert roc.delong_test(labels, perfect, 2 * perfect) == (0.0, 1.0)  # both AUC 1
    assert roc.delong_test(labels, perfect, -perfect) == (math.inf, 0.0)  # AUC 1 vs 0, no variance
    assert roc.delong_test(labels, -perfect, perfect) == (-math.inf, 0.0)


# --- confidence interval ----------------------------------------------------------------------


def test_auc_ci_is_normal_interval_from_naive_variance():
    labels, (a, _, _) = tied_data(11)
    ref_auc, ref_cov = naive_delong(labels, a)
    low, high = roc.auc_ci(labels, a, level=0.9)
    half = 1.6448536269514722 * math.sqrt(ref_cov[0, 0])
    assert low == pytest.approx(max(0.0, ref_auc[0] - half), rel=1e-10)
    assert high == pytest.approx(min(1.0, ref_auc[0] + half), rel=1e-10)
    low95, high95 = roc.auc_ci(labels, a)
    assert low95 < low < ref_auc[0] < high < high95
    assert isinstance(low, float) and isinstance(high, float)


def test_auc_ci_clipped_and_degenerate():
    labels = np.array([0] * 6 + [1] * 6)
    assert roc.auc_ci(labels, labels + np.arange(12) * 0.01) == (1.0, 1.0)  # AUC 1: zero variance
    assert roc.auc_ci(labels, -labels + np.arange(12) * 0.01) == (0.0, 0.0)
    scores = np.arange(12.0)
    scores[[5, 6]] = scores[[6, 5]]  # one swapped pair: AUC 35/36, interval reaches past 1
    low, high = roc.auc_ci(labels, scores)
    assert high == 1.0 and 0.0 < low < 35 / 36


@pytest.mark.parametrize("level", [0.0, 1.0, -0.5, 95])
def test_auc_ci_rejects_bad_level(level):
    labels, (a, _, _) = tied_data(0)
    with pytest.raises(ValueError, match="level"):
        roc.auc_ci(labels, a, level=level)


# --- Monte Carlo: the DeLong variance estimates the sampling variance of the AUC ------------


def test_delong_variance_monte_carlo():
    rng = np.random.default_rng(2024)
    m = n = 30
    labels = np.r_[np.ones(m, int), np.zeros(n, int)]
    aucs, variances, covered = [], [], 0
    true_auc = 0.7602499  # binormal, shift 1: Phi(1 / sqrt(2))
    for _ in range(600):
        scores = np.r_[rng.normal(1.0, 1.0, m), rng.normal(0.0, 1.0, n)]
        a, cov = roc.delong(labels, scores)
        aucs.append(a[0])
        variances.append(cov[0, 0])
        low, high = roc.auc_ci(labels, scores)
        covered += low <= true_auc <= high
    empirical = np.var(aucs, ddof=1)
    assert np.mean(variances) == pytest.approx(empirical, rel=0.2)
    assert np.mean(aucs) == pytest.approx(true_auc, abs=0.01)
    assert 0.91 <= covered / 600 <= 0.98


# --- input validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "scores", "match"),
    [
        ([0, 1, 2, 1], [0.1, 0.2, 0.3, 0.4], "0/1"),
        ([0, 1, -1, 1], [0.1, 0.2, 0.3, 0.4], "0/1"),
        (["a", "b", "a", "b"], [0.1, 0.2, 0.3, 0.4], "0/1"),
        ([1, 1, 1, 1], [0.1, 0.2, 0.3, 0.4], "both classes"),
        ([0, 0, 0, 0], [0.1, 0.2, 0.3, 0.4], "both classes"),
        ([0, 1, 0, 1], [0.1, 0.2, 0.3], "3 values but labels has 4"),
        ([0, 1, 0, 1], [0.1, np.nan, 0.3, 0.4], "NaN"),
        ([[0, 1], [0, 1]], [0.1, 0.2, 0.3, 0.4], "one-dimensional"),
    ],
)
def test_bad_input_raises(labels, scores, match):
    for call in (
        lambda: roc.auc(labels, scores),
        lambda: roc.delong(labels, scores),
        lambda: roc.auc_ci(labels, scores),
        lambda: roc.delong_test(labels, scores, scores),
    ):
        with pytest.raises(ValueError, match=match):
            call()


def test_delong_needs_two_per_class_and_a_score():
    with pytest.raises(ValueError, match="at least 2 cases per class"):
        roc.delong([0, 0, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="at least one score"):
        roc.delong([0, 0, 1, 1])
    with pytest.raises(ValueError, match=r"scores\[1\] has 3 values"):
        roc.delong_test([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3])
