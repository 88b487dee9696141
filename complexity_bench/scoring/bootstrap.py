"""Hierarchical bootstrap over a task's runs: replicate weights, intervals, the result holder.

What varies between repetitions of a task's experiment is which variant
configurations one happens to study and which seeds each gets, so a replicate
resamples both levels (docs/protocol.md, "Uncertainty"): it draws the task's C
configurations with replacement, then, for every configuration drawn, that
configuration's seeds with replacement. Run r's multiplicity is its weight.
All measures of a task share the same replicates (seeded by ScoreConfig.seed
and the task name), so measures are compared on the same resamples, and the
across-task mean of replicate b averages the b-th replicate of every task.

    >>> W = bootstrap_weights(4, 3, seed=0, task="t", configs=np.array([0, 0, 1, 1]))
    >>> W.shape, W.sum(axis=1).tolist()
    ((3, 4), [4.0, 4.0, 4.0])
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np


def bootstrap_weights(n_runs: int, n_boot: int, seed: int, task: str,
                      configs: np.ndarray | None = None, seeds: bool = True) -> np.ndarray:
    """(n_boot, n_runs) multiplicities, deterministic in (seed, task).

    configs (one label per run): two-level resampling, configurations then seeds
    within each drawn configuration. A configuration drawn k times contributes k
    independent seed resamples, whose sum is one multinomial of k * n_c draws
    over its n_c runs; that is how it is drawn here. ``seeds=False`` keeps each
    drawn configuration's seeds whole (the cluster bootstrap). None: plain
    resampling of all runs.
    """
    h = int.from_bytes(hashlib.sha256(task.encode()).digest()[:4], "little")
    rng = np.random.default_rng([seed, h])
    if n_runs == 0 or n_boot <= 0:
        return np.zeros((max(n_boot, 0), n_runs))
    if configs is None:
        return rng.multinomial(n_runs, np.full(n_runs, 1.0 / n_runs), size=n_boot).astype(float)
    labels = list(dict.fromkeys(configs.tolist()))
    drawn = rng.multinomial(len(labels), np.full(len(labels), 1.0 / len(labels)), size=n_boot)  # (B, C)
    W = np.zeros((n_boot, n_runs))
    for c, lab in enumerate(labels):
        idx = np.flatnonzero(configs == lab)
        if seeds:
            W[:, idx] = rng.multinomial(drawn[:, c] * len(idx), np.full(len(idx), 1.0 / len(idx)))
        else:
            W[:, idx] = drawn[:, c][:, None]
    return W


def interval(reps: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the finite replicates; NaN when there are none.

    Replicates where a score is undefined (e.g. a resample without censored
    runs) are skipped.
    """
    reps = np.asarray(reps, float)
    reps = reps[np.isfinite(reps)]
    if reps.size == 0:
        return (np.nan, np.nan)
    a = (1 - level) / 2 * 100
    lo, hi = np.percentile(reps, [a, 100 - a])
    return (float(lo), float(hi))


@dataclass
class Result:
    """Scores of one (measure, task): point values, replicates, reasons for NaN, counts."""

    values: dict[str, float] = field(default_factory=dict)
    reps: dict[str, np.ndarray] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def set(self, name: str, value: float, reps: np.ndarray | None, reason: str = "") -> None:
        """Record a score; NaN values must carry a reason (the first one given is kept)."""
        value = float(value) if value is not None else np.nan
        self.values[name] = value
        if reps is not None:
            self.reps[name] = np.asarray(reps, float)
        if not np.isfinite(value):
            self.values[name] = np.nan
            self.reasons.setdefault(name, reason or "undefined")

    def nan(self, names: list[str] | tuple[str, ...], reason: str, n_boot: int) -> None:
        for n in names:
            self.set(n, np.nan, np.full(n_boot, np.nan), reason)

    def update(self, other: "Result") -> None:
        self.values.update(other.values)
        self.reps.update(other.reps)
        self.reasons.update(other.reasons)
        self.counts.update(other.counts)
