"""Weighted (bootstrap) statistics against the libraries on explicitly duplicated data,
and hand-written scores against hand-computed examples."""

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from complexity_bench.scoring.stats import (
    harrell_c, weighted_auroc, weighted_median, weighted_pearson, weighted_spearman, weighted_tau_b,
)

RNG = np.random.default_rng(1)


def _weights(n, rows=5):
    W = RNG.integers(0, 4, size=(rows, n)).astype(float)
    W[:, :3] = np.maximum(W[:, :3], 1)  # at least a few points in every row
    return W


def _expand(w, *arrays):
    idx = np.repeat(np.arange(len(w)), w.astype(int))
    return [a[idx] for a in arrays]


def test_weighted_spearman_equals_scipy_on_duplicated_data():
    x = np.array([1.0, 2.0, 2.0, 3.0, 5.0, 0.5, 2.0, 4.0])  # ties included
    y = np.array([0.3, 0.1, 0.2, 0.9, 0.8, 0.1, 0.4, 0.7])
    W = _weights(len(x))
    got = weighted_spearman(x, y, W)
    for b in range(len(W)):
        xe, ye = _expand(W[b], x, y)
        assert got[b] == pytest.approx(stats.spearmanr(xe, ye)[0], abs=1e-12)


def test_weighted_pearson_equals_scipy_and_constant_is_nan():
    x = RNG.normal(size=7)
    y = 2 * x + RNG.normal(size=7)
    W = _weights(7)
    got = weighted_pearson(x, y, W)
    for b in range(len(W)):
        xe, ye = _expand(W[b], x, y)
        assert got[b] == pytest.approx(stats.pearsonr(xe, ye)[0], abs=1e-12)
    assert np.isnan(weighted_pearson(np.ones(4), np.arange(4.0), np.ones((1, 4))))[0]


def test_weighted_auroc_equals_sklearn_with_ties():
    s = np.array([0.1, 0.4, 0.4, 0.8, 0.3, 0.9, 0.4])
    lab = np.array([0, 1, 0, 1, 0, 1, 1], bool)
    W = _weights(len(s))
    W[:, 1] = 1; W[:, 2] = 1  # both classes present
    got = weighted_auroc(s, lab, W)
    for b in range(len(W)):
        se, le = _expand(W[b], s, lab)
        assert got[b] == pytest.approx(roc_auc_score(le, se), abs=1e-12)
    # Hand: positives {0.4, 0.8}, negatives {0.1, 0.4}: pairs 1 + 0.5 + 1 + 1 = 3.5 of 4.
    assert weighted_auroc(np.array([0.4, 0.8, 0.1, 0.4]), np.array([1, 1, 0, 0]), np.ones((1, 4)))[0] == 0.875


def test_weighted_tau_b_equals_scipy_on_duplicated_data():
    x = np.array([1.0, 2.0, 2.0, 3.0, 4.0, 6.0])
    y = np.array([1.0, 1.0, 2.0, 5.0, 3.0, 4.0])
    W = _weights(len(x))
    got = weighted_tau_b(x, y, W)
    for b in range(len(W)):
        xe, ye = _expand(W[b], x, y)
        assert got[b] == pytest.approx(stats.kendalltau(xe, ye)[0], abs=1e-12)


def test_harrell_c_hand_example():
    # times 1, 2, 3, 4; the run at 3 is censored. Comparable pairs (i shorter, i observed):
    # (1,2) (1,3) (1,4) (2,3) (2,4); (3,4) is not (3 censored); (4,.) none.
    t = np.array([1.0, 2.0, 3.0, 4.0])
    ev = np.array([True, True, False, True])
    x = np.array([0.0, 2.0, 1.0, 2.0])
    # concordant needs x_i < x_j: (1,2) yes, (1,3) yes, (1,4) yes, (2,3) no, (2,4) tie -> 0.5
    assert harrell_c(x, t, ev)[0] == pytest.approx(3.5 / 5)
    # Censored at the same time as an observed event: the censored run counts as longer.
    assert harrell_c(np.array([0.0, 1.0]), np.array([2.0, 2.0]), np.array([True, False]))[0] == 1.0
    # Two events at the same time are not comparable -> no pairs -> NaN.
    assert np.isnan(harrell_c(np.array([0.0, 1.0]), np.array([2.0, 2.0]), np.array([True, True]))[0])


def test_harrell_c_without_censoring_is_pairwise_concordance():
    x = RNG.normal(size=8)
    t = RNG.normal(size=8)
    tau = stats.kendalltau(x, t)[0]  # no ties: tau = 2C - 1
    assert harrell_c(x, t, np.ones(8, bool))[0] == pytest.approx((tau + 1) / 2)


def test_harrell_c_weighted_equals_duplicated():
    x = np.array([0.5, 0.1, 0.9, 0.3, 0.7])
    t = np.array([1.0, 2.0, 3.0, 4.0, 2.0])
    ev = np.array([True, False, True, True, False])
    W = _weights(5)
    got = harrell_c(x, t, ev, W)
    for b in range(len(W)):
        xe, te, ee = _expand(W[b], x, t, ev)
        assert got[b] == pytest.approx(harrell_c(xe, te, ee)[0])


def test_weighted_median_matches_numpy_and_ignores_nan():
    v = np.array([3.0, 1.0, np.nan, 2.0, 7.0])
    W = np.array([[1, 1, 1, 1, 1], [2, 0, 5, 1, 1], [0, 1, 0, 1, 0], [1, 1, 1, 1, 2]], float)
    got = weighted_median(v, W)
    for b in range(len(W)):
        ok = ~np.isnan(v)
        (ve,) = _expand(W[b][ok], v[ok])
        assert got[b] == np.median(ve)


def test_chunked_equals_unchunked():
    from complexity_bench.scoring.stats import chunked

    x, y = RNG.normal(size=30), RNG.normal(size=30)
    W = RNG.integers(0, 3, size=(23, 30)).astype(float)
    whole = weighted_spearman(x, y, W)
    parts = chunked(weighted_spearman, W, 30, x, y, max_cells=100)  # 3 rows per block
    np.testing.assert_array_equal(whole, parts)


def test_hierarchical_bootstrap_resamples_configurations_then_seeds():
    """Each configuration's total weight is its seed count times how often it was drawn
    (so it varies, and is sometimes 0: whole configurations drop out); plain resampling
    has no such structure. Mean weight per run is 1 in both."""
    from complexity_bench.scoring.bootstrap import bootstrap_weights

    configs = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    W = bootstrap_weights(9, 4000, seed=0, task="t", configs=configs)
    assert (W.sum(axis=1) == 9).all()
    per_config = np.stack([W[:, configs == c].sum(axis=1) for c in range(3)], axis=1)
    assert (per_config % 3 == 0).all()
    assert (per_config == 0).any(axis=1).mean() > 0.5  # P(some config not drawn) = 1 - 3!/27 = 0.78
    np.testing.assert_allclose(W.mean(axis=0), 1.0, atol=0.05)
    plain = bootstrap_weights(9, 4000, seed=0, task="t")
    assert (plain.sum(axis=1) == 9).all()
    assert not (np.stack([plain[:, configs == c].sum(axis=1) for c in range(3)], axis=1) % 3 == 0).all()
