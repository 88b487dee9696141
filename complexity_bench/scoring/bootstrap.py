"""Bootstrap over a task's runs: replicate weights, intervals, the result holder.

What varies between repetitions of a task's experiment is which variant
configurations one happens to study and which seeds one happens to draw; a seed
fixes the data split and initialisation in *every* configuration, so seeds are
crossed with configurations. The default replicate (docs/protocol.md, "Version 3")
draws the task's seeds with replacement (v_s) and, independently, its
configurations with replacement within two groups, the weight-decay-0 controls and
the rest (u_c), and gives run (c, s) the multiplicity u_c * v_s: seeds resampled as
clusters across configurations. Drawing configurations within the groups keeps a
non-control configuration in every replicate. Run r's multiplicity is its weight.
All measures of a task share the same replicates (seeded by ScoreConfig.seed and
the task name), so measures are compared on the same resamples, and the across-task
mean of replicate b averages the b-th replicate of every task.

    >>> W = crossed_weights(3, seed=0, task="t", configs=np.array([0, 0, 1, 1]), seeds=np.array([0, 1, 0, 1]),
    ...                     groups=np.array([0, 0, 1, 1]))
    >>> W.shape, bool((W[:, 0] * W[:, 3] == W[:, 1] * W[:, 2]).all())  # a product of a config and a seed weight
    ((3, 4), True)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from complexity_bench.scoring.config import ScoreConfig
    from complexity_bench.scoring.prepare import TaskRuns


def _rng(seed: int, task: str) -> np.random.Generator:
    h = int.from_bytes(hashlib.sha256(task.encode()).digest()[:4], "little")
    return np.random.default_rng([seed, h])


def _codes(labels: np.ndarray) -> tuple[np.ndarray, int]:
    uniq = list(dict.fromkeys(labels.tolist()))
    pos = {v: k for k, v in enumerate(uniq)}
    return np.array([pos[v] for v in labels.tolist()], dtype=int), len(uniq)


def crossed_weights(n_boot: int, seed: int, task: str, configs: np.ndarray, seeds: np.ndarray,
                    groups: np.ndarray) -> np.ndarray:
    """(n_boot, n_runs) multiplicities u_config * v_seed, deterministic in (seed, task).

    v: the task's distinct seeds drawn with replacement; u: the configurations drawn with
    replacement within each group (``groups``: one label per run, constant within a
    configuration), each group keeping its number of configurations.
    """
    n_runs = len(configs)
    if n_runs == 0 or n_boot <= 0:
        return np.zeros((max(n_boot, 0), n_runs))
    rng = _rng(seed, task)
    s_code, S = _codes(np.asarray(seeds))
    c_code, C = _codes(np.asarray(configs))
    v = rng.multinomial(S, np.full(S, 1.0 / S), size=n_boot).astype(float)  # (B, S)
    u = np.zeros((n_boot, C))
    group_of = np.zeros(C, dtype=object)
    group_of[c_code] = np.asarray(groups, dtype=object)
    for g in dict.fromkeys(group_of.tolist()):
        members = np.flatnonzero(group_of == g)
        u[:, members] = rng.multinomial(len(members), np.full(len(members), 1.0 / len(members)), size=n_boot)
    return u[:, c_code] * v[:, s_code]


def task_weights(runs: "TaskRuns", cfg: "ScoreConfig") -> np.ndarray:
    """The replicate weights of one task under ``cfg.resample`` (every score of the task uses them)."""
    if cfg.resample == "crossed":
        return crossed_weights(cfg.n_boot, cfg.seed, runs.task, runs.config_id, runs.seed, runs.control)
    configs = runs.config_id if cfg.resample != "runs" else None
    return bootstrap_weights(len(runs), cfg.n_boot, cfg.seed, runs.task, configs, seeds=cfg.resample != "clusters")


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
    rng = _rng(seed, task)
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
