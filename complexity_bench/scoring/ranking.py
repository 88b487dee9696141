"""Ranks that share places when the data cannot tell measures apart (docs/protocol.md, "Ranking").

Given each measure's score and its bootstrap replicates (the same replicates for
every measure, so differences are paired):

- P(A beats B) is the share of replicates in which A's score is better than B's
  (ties count 1/2), over the replicates where both are defined; the pairwise
  table reports it.
- rank(A) = 1 + the number of measures B with P(B beats A) >= ``tie_probability``
  (0.95): measures that no other measure beats with that probability share rank
  1, and so on down. Two measures share a rank when neither is better with 95%
  bootstrap probability, the rule of leaderboards that rank with uncertainty.
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
    """rank, rank_lo, rank_hi per measure; p_beats[i, j] = P(measure i beats measure j)."""

    rank: np.ndarray
    rank_lo: np.ndarray
    rank_hi: np.ndarray
    p_beats: np.ndarray


def beat_probabilities(reps: np.ndarray, higher: bool) -> np.ndarray:
    """(M, M) matrix: share of replicates where row i is better than column j (ties 1/2),
    over replicates where both are finite; NaN on the diagonal and where none are."""
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


def rank_with_ties(points: np.ndarray, reps: np.ndarray, higher: bool, tie_probability: float = 0.95,
                   level: float = 0.95) -> Ranking:
    """Rank M measures from their point scores (M,) and replicates (M, B); see the module docstring."""
    points = np.asarray(points, float)
    M = len(points)
    if reps.size == 0 or reps.shape[1] == 0:
        key = points if higher else -points
        rank = np.array([1.0 + np.sum(key > k) for k in key])
        nan = np.full(M, np.nan)
        return Ranking(rank, nan, nan.copy(), np.full((M, M), np.nan))
    p = beat_probabilities(reps, higher)
    rank = 1.0 + np.nansum(p >= tie_probability, axis=0).astype(float)
    full = np.isfinite(reps).all(axis=0)
    lo = hi = np.full(M, np.nan)
    if full.any():
        per_rep = rankdata(-reps[:, full] if higher else reps[:, full], axis=0, method="average")
        a = (1 - level) / 2 * 100
        lo = np.percentile(per_rep, a, axis=1, method="lower")
        hi = np.percentile(per_rep, 100 - a, axis=1, method="higher")
    return Ranking(rank, np.asarray(lo, float), np.asarray(hi, float), p)
