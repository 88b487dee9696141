"""Ranks that share places when the data cannot tell measures apart (docs/protocol.md, "Ranking").

Given each measure's score and its bootstrap replicates (the same replicates for
every measure, so differences are paired):

- P(A beats B) is the share of replicates in which A's score is better than B's
  (ties count 1/2), over the replicates where both are defined; the pairwise
  table reports it.
- "B beats A" is decided for all ordered pairs together, with a familywise error
  rate of 1 - ``tie_probability`` (5%): Holm's step-down procedure over the
  p-values 1 - P(B beats A) (:func:`holm_beats`). With 20 measures there are 380
  ordered comparisons; deciding each at 95% would make some measure "win" by chance.
- rank(A) = 1 + the number of measures that beat A: measures that no other
  measure beats share rank 1, and so on down; measures the data cannot separate
  share a rank.
- rank_lo, rank_hi: the 2.5% and 97.5% percentiles of A's rank among the same
  measures in each replicate (average ranks for ties), over replicates where every
  measure is defined.

With no replicates (n_boot = 0) a rank is 1 + the number of strictly better
point values, and the intervals are empty.

    >>> import numpy as np
    >>> reps = np.array([[0.9, 0.8, 0.85], [0.5, 0.55, 0.6], [0.52, 0.5, 0.61]])
    >>> r = rank_with_ties(np.array([0.85, 0.55, 0.54]), reps, higher=True)
    >>> r.rank.tolist(), round(float(r.p_beats[1, 2]), 3)   # 1 beats 2 in one replicate of 3
    ([1.0, 2.0, 2.0], 0.333)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata


@dataclass
class Ranking:
    """rank, rank_lo, rank_hi per measure; p_beats[i, j] = P(measure i beats measure j) over n_boot[i, j]
    replicates where both are defined; beats[i, j]: i beats j under the familywise rule."""

    rank: np.ndarray
    rank_lo: np.ndarray
    rank_hi: np.ndarray
    p_beats: np.ndarray
    n_boot: np.ndarray
    beats: np.ndarray


def holm_beats(p_beats: np.ndarray, alpha: float) -> np.ndarray:
    """(M, M) booleans: i beats j when Holm's step-down procedure at familywise level ``alpha`` rejects
    "i is not better than j", with p-value 1 - P(i beats j), over every ordered pair with a defined P.

    >>> holm_beats(np.array([[np.nan, 1.0, 0.97], [0.0, np.nan, 0.6], [0.03, 0.4, np.nan]]), 0.05).astype(int).tolist()
    [[0, 1, 0], [0, 0, 0], [0, 0, 0]]
    """
    M = p_beats.shape[0]
    q = 1.0 - p_beats
    ii, jj = np.nonzero(np.isfinite(q) & ~np.eye(M, dtype=bool))
    out = np.zeros((M, M), bool)
    order = np.argsort(q[ii, jj], kind="mergesort")
    m = len(order)
    for k, h in enumerate(order):
        if q[ii[h], jj[h]] > alpha / (m - k):
            break
        out[ii[h], jj[h]] = True
    return out


def beat_probabilities(reps: np.ndarray, higher: bool) -> np.ndarray:
    """(M, M) matrix: share of replicates where row i is better than column j (ties 1/2),
    over replicates where both are finite; NaN on the diagonal and where none are.
    ``defined_pairs`` gives the number of those replicates."""
    key = reps if higher else -reps
    finite = np.isfinite(key)
    M = key.shape[0]
    p = np.full((M, M), np.nan)
    for i in range(M):
        both = finite[i][None, :] & finite  # (M, B)
        wins = (key[i][None, :] > key) + 0.5 * (key[i][None, :] == key)
        n = both.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            p[i] = np.where(n > 0, np.where(both, wins, 0).sum(axis=1) / n, np.nan)
        p[i, i] = np.nan
    return p


def defined_pairs(reps: np.ndarray) -> np.ndarray:
    """(M, M): replicates in which both measures' scores are defined."""
    f = np.isfinite(reps).astype(float)
    return (f @ f.T).astype(int)


def rank_with_ties(points: np.ndarray, reps: np.ndarray, higher: bool, tie_probability: float = 0.95,
                   level: float = 0.95) -> Ranking:
    """Rank M measures from their point scores (M,) and replicates (M, B); see the module docstring."""
    points = np.asarray(points, float)
    M = len(points)
    if reps.size == 0 or reps.shape[1] == 0:
        key = points if higher else -points
        rank = np.array([1.0 + np.sum(key > k) for k in key])
        nan = np.full(M, np.nan)
        return Ranking(rank, nan, nan.copy(), np.full((M, M), np.nan), np.zeros((M, M), int), np.zeros((M, M), bool))
    p = beat_probabilities(reps, higher)
    beats = holm_beats(p, 1.0 - tie_probability)
    rank = 1.0 + beats.sum(axis=0).astype(float)
    full = np.isfinite(reps).all(axis=0)
    lo = hi = np.full(M, np.nan)
    if full.any():
        per_rep = rankdata(-reps[:, full] if higher else reps[:, full], axis=0, method="average")
        a = (1 - level) / 2 * 100
        lo = np.percentile(per_rep, a, axis=1, method="lower")
        hi = np.percentile(per_rep, 100 - a, axis=1, method="higher")
    return Ranking(rank, np.asarray(lo, float), np.asarray(hi, float), p, defined_pairs(reps), beats)
