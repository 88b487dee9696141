"""Weighted statistics, vectorised over bootstrap replicates.

Resampling runs with replacement is the same as giving every run an integer
multiplicity w_r (how often it was drawn). Every function here takes a weight
matrix ``W`` of shape (B, n) -- one row per replicate -- and returns the
statistic of the resampled data set for all B rows at once, without building
the resampled data. With integer weights each result equals the library
statistic (scipy / sklearn) on the explicitly duplicated data; the tests check
exactly that. Point estimates elsewhere use scipy / sklearn directly.

Example::

    >>> import numpy as np
    >>> x = np.array([1.0, 2.0, 3.0]); y = np.array([1.0, 3.0, 2.0])
    >>> W = np.array([[1.0, 1.0, 1.0], [2.0, 1.0, 0.0]])
    >>> np.round(weighted_spearman(x, y, W), 3).tolist()
    [0.5, 1.0]
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from complexity_bench.numerics import within_noise


def chunked(fn: Callable[..., np.ndarray], W: np.ndarray, n_points: int, *args: np.ndarray,
            max_cells: int = 2_000_000) -> np.ndarray:
    """fn(*args, W_block) over blocks of replicate rows, so that rows x points stays
    below max_cells (memory: several (B, n) temporaries per call)."""
    rows = max(1, max_cells // max(n_points, 1))
    if W.shape[0] <= rows:
        return fn(*args, W)
    return np.concatenate([fn(*args, W[i:i + rows]) for i in range(0, W.shape[0], rows)])


def _tie_groups(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stable sort order of x, each sorted point's tie-group id, and each group's [start, end)."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    new = np.r_[True, xs[1:] != xs[:-1]]
    starts = np.flatnonzero(new)
    return order, np.cumsum(new) - 1, starts, np.r_[starts[1:], len(xs)]


def _cumulative(Ws: np.ndarray) -> np.ndarray:
    """Row-wise cumulative sums with a leading 0 column: c[:, k] = sum of the first k weights."""
    c = np.zeros((Ws.shape[0], Ws.shape[1] + 1))
    np.cumsum(Ws, axis=1, out=c[:, 1:])
    return c


def weighted_ranks(x: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Average ranks (1-based, ties get the mean rank) of each point in the weighted multiset.

    A point of value v in a data set where each point i appears w_i times has
    rank W(<v) + (W(=v) + 1) / 2, with W(.) the total weight of points in that
    set. Shape (B, n).
    """
    order, gid, starts, ends = _tie_groups(x)
    Ws = W[:, order]
    c = _cumulative(Ws)
    lt, le = c[:, starts], c[:, ends]
    rank_g = lt + (le - lt + 1.0) / 2.0
    ranks = np.empty_like(Ws, dtype=float)
    ranks[:, order] = rank_g[:, gid]
    return ranks


def _flat(x: np.ndarray, v: np.ndarray, S: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Per row of W: is x's weighted spread (sum of squared deviations ``v``, total weight
    ``S``) within numerical noise of its largest weighted magnitude?"""
    scale = np.where(W > 0, np.abs(np.broadcast_to(x, W.shape)), 0.0).max(axis=1)
    return within_noise(np.sqrt(np.maximum(v, 0.0) / S), scale)


def weighted_pearson(x: np.ndarray, y: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Pearson r of (x, y) with point weights; x and y are (n,) or (B, n).

    r = sum w (x - mx)(y - my) / sqrt(sum w (x - mx)^2 * sum w (y - my)^2),
    NaN where either side is constant or the total weight is below 2.
    """
    S = W.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = (W * x).sum(axis=1) / S
        my = (W * y).sum(axis=1) / S
        dx = x - mx[:, None]
        dy = y - my[:, None]
        vx = (W * dx * dx).sum(axis=1)
        vy = (W * dy * dy).sum(axis=1)
        cov = (W * dx * dy).sum(axis=1)
        # constant up to numerical noise: weighted standard deviation against the largest
        # magnitude among the weighted points (numerics.within_noise)
        bad = _flat(x, vx, S, W) | _flat(y, vy, S, W) | (S < 2)
        r = cov / np.sqrt(vx * vy)
    r = np.clip(r, -1.0, 1.0)
    r[bad] = np.nan
    return r


def weighted_spearman(x: np.ndarray, y: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Spearman rho (Pearson r of average ranks) of the weighted multiset, per row of W."""
    return weighted_pearson(weighted_ranks(x, W), weighted_ranks(y, W), W)


def weighted_auroc(score: np.ndarray, label: np.ndarray, W: np.ndarray) -> np.ndarray:
    """AUROC = P(score_pos > score_neg) + P(tie) / 2 over weighted pos/neg pairs.

    NaN where a row has no positive or no negative weight.
    """
    label = label.astype(bool)
    order, gid, starts, ends = _tie_groups(score)
    Wn = W[:, order] * (~label[order])
    c = _cumulative(Wn)
    neg_lt = c[:, starts][:, gid]
    neg_eq = (c[:, ends] - c[:, starts])[:, gid]
    Wp = W[:, order] * label[order]
    num = (Wp * (neg_lt + 0.5 * neg_eq)).sum(axis=1)
    den = Wp.sum(axis=1) * Wn.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    out[den <= 0] = np.nan
    return out


def _sign_matrix(v: np.ndarray) -> np.ndarray:
    return np.sign(v[:, None] - v[None, :])


def weighted_tau_b(x: np.ndarray, y: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Kendall tau_b of the weighted multiset (copies of one point are tied in x and y).

    tau_b = (C - D) / sqrt((n0 - n1)(n0 - n2)), n0 = pairs, n1/n2 = pairs tied in x/y.
    NaN when x or y is constant.
    """
    S = np.einsum("bi,ij,bj->b", W, _sign_matrix(x) * _sign_matrix(y), W) / 2.0
    tot = W.sum(axis=1)
    n0 = (tot * tot - tot) / 2.0
    n1 = (np.einsum("bi,ij,bj->b", W, (x[:, None] == x[None, :]).astype(float), W) - tot) / 2.0
    n2 = (np.einsum("bi,ij,bj->b", W, (y[:, None] == y[None, :]).astype(float), W) - tot) / 2.0
    den = (n0 - n1) * (n0 - n2)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = S / np.sqrt(den)
    out[~(den > 0)] = np.nan
    return np.clip(out, -1.0, 1.0)


def harrell_c(x: np.ndarray, time: np.ndarray, event: np.ndarray, W: np.ndarray | None = None) -> np.ndarray:
    """Harrell's concordance index with right-censoring; larger x predicts a *longer* time.

    A pair (i, j) is comparable when i's event was observed and i's time is
    shorter: event_i and (t_i < t_j, or t_i == t_j and j is censored -- a
    censored run outlived its censoring time). It is concordant when x_i < x_j,
    half when x_i == x_j. C = concordant / comparable (0.5 = chance, 1 = perfect).
    NaN when no pair is comparable. Returns one value per row of W (W=None: all ones).

    >>> harrell_c(np.array([1., 2., 3.]), np.array([1., 2., 3.]), np.array([True, True, False]))
    array([1.])
    """
    num, den = harrell_counts(x, time, event, W)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    out[~(den > 0)] = np.nan
    return out


def harrell_counts(x: np.ndarray, time: np.ndarray, event: np.ndarray,
                   W: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(concordant, comparable) weighted pair counts of :func:`harrell_c`, one per row of W,
    so that C pooled over groups of runs is sum(concordant) / sum(comparable)."""
    x = np.asarray(x, float)
    time = np.asarray(time, float)
    event = np.asarray(event, bool)
    if W is None:
        W = np.ones((1, len(x)))
    ti, tj = time[:, None], time[None, :]
    comp = event[:, None] & ((ti < tj) | ((ti == tj) & ~event[None, :]))
    conc = comp * ((x[:, None] < x[None, :]) + 0.5 * (x[:, None] == x[None, :]))
    num = np.einsum("bi,ij,bj->b", W, conc.astype(float), W)
    den = np.einsum("bi,ij,bj->b", W, comp.astype(float), W)
    return num, den


def weighted_pair_mean(values: np.ndarray, ia: np.ndarray, ib: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Mean of ``values`` over pairs (ia[k], ib[k]), pair k weighted by W[:, ia[k]] * W[:, ib[k]]
    (how often the pair appears in the resampled data); NaN where no pair has weight.

    >>> weighted_pair_mean(np.array([1.0, 0.0]), np.array([0, 0]), np.array([1, 2]),
    ...                    np.array([[1.0, 1.0, 1.0], [2.0, 1.0, 0.0]])).tolist()
    [0.5, 1.0]
    """
    w = W[:, ia] * W[:, ib]
    den = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (w * values).sum(axis=1) / den
    out[~(den > 0)] = np.nan
    return out


def weighted_median(v: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Median of the multiset where v_i appears W[b, i] times (np.median's convention:
    the mean of the two middle elements when the count is even). NaN values are ignored.
    """
    ok = ~np.isnan(v)
    v, W = v[ok], W[:, ok]
    if len(v) == 0:
        return np.full(W.shape[0], np.nan)
    order = np.argsort(v, kind="mergesort")
    vs, cw = v[order], np.cumsum(W[:, order], axis=1)
    tot = cw[:, -1]
    lo_m = np.floor((tot - 1) / 2)
    hi_m = np.ceil((tot - 1) / 2)
    # Element m of the sorted expanded data belongs to the first i with cw_i > m.
    lo_i = np.minimum((cw <= lo_m[:, None]).sum(axis=1), len(vs) - 1)
    hi_i = np.minimum((cw <= hi_m[:, None]).sum(axis=1), len(vs) - 1)
    out = (vs[lo_i] + vs[hi_i]) / 2.0
    out[tot < 1] = np.nan
    return out


def group_means(vals: np.ndarray, weights: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Weighted mean of ``vals`` (P,) per group id, per row of ``weights`` (B, P): (B, n_groups).

    NaN for a group with no weight in a row.
    """
    num = np.zeros((weights.shape[0], n_groups))
    den = np.zeros((weights.shape[0], n_groups))
    for g in range(n_groups):  # few groups; each slice is vectorised over B and pairs
        m = groups == g
        num[:, g] = (weights[:, m] * vals[m]).sum(axis=1)
        den[:, g] = weights[:, m].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    out[den <= 0] = np.nan
    return out
