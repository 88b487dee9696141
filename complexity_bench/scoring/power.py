"""Power of the within-configuration forecast test, decided before a suite runs
(docs/protocol.md, "Power and the suite design").

Question: with S seeds per configuration, how often does a measure whose true
within-configuration C-index is ``c_true`` on every task pass the test "the 95% lower
bound of the seed-cluster bootstrap of the C-index, averaged over tasks, is above 0.5"?

Synthetic delays follow the variance split measured on a results folder
(:func:`variance_split`): per task, D = a_config + b_seed + e, with the seed effect
crossed across configurations (a seed fixes the data split and initialisation in every
configuration); T_gen = T_mem 10^D is read on the task's evaluation steps and censored at
its budget, as in a real run. The measure's
value at T_mem is x = r * w / sd(w) + sqrt(1 - r^2) * n, with w = b_seed + e the delay's
within-configuration part and n standard normal noise, itself split between a crossed
seed part (share ``noise_seed_share``) and a per-run part. For Gaussian pairs the
concordance of x with D is 1/2 + arcsin(r) / pi, so r = sin(pi (c_true - 1/2)).

The statistic is pluggable (``WithinConfigCindex``): per task, the censoring-aware
C-index over pairs of runs of the same configuration, pooled over the task's
configurations (:func:`within_config_cindex`, from ``stats.harrell_counts``).

    >>> round(float(np.sin(np.pi * (0.65 - 0.5))), 3)  # r for a C-index of 0.65
    0.454
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from complexity_bench.scoring.prepare import TaskRuns
from complexity_bench.scoring.stats import harrell_counts

# (x, time, event, config labels, W (B, n)) -> per replicate C-index (B,)
WithinConfigCindex = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def within_config_cindex(x: np.ndarray, time: np.ndarray, event: np.ndarray, config: np.ndarray,
                         W: np.ndarray) -> np.ndarray:
    """Harrell's C over pairs of runs of the same configuration, pooled over configurations:
    sum of concordant over sum of comparable pairs (NaN where none is comparable)."""
    num = np.zeros(W.shape[0])
    den = np.zeros(W.shape[0])
    for c in np.unique(config):
        m = config == c
        n_c, d_c = harrell_counts(x[m], time[m], event[m], W[:, m])
        num += n_c
        den += d_c
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    out[~(den > 0)] = np.nan
    return out


@dataclass(frozen=True)
class TaskSplit:
    """One task's delay variance components (log10 units squared) over its non-control
    configurations, and what places a delay on the task's clock: the mean delay, the median
    T_mem, the budget (censoring) and the evaluation steps T_gen is read at (ties)."""

    task: str
    n_configs: int
    n_seeds: int
    var_config: float
    var_seed: float
    var_resid: float
    censored_share: float
    seed_share_ss: float
    mean_delay: float
    t_mem: float
    budget: float
    grid: tuple[int, ...] = ()

    @property
    def seed_share_within(self) -> float:
        """Share of the within-configuration variance that the crossed seed effect explains."""
        within = self.var_seed + self.var_resid
        return self.var_seed / within if within > 0 else np.nan


def _two_way(table: np.ndarray) -> tuple[float, float, float]:
    """Variance components of an additive configuration x seed table (one run per cell) from
    the ANOVA mean squares: (configuration, seed, residual), negative estimates set to 0.
    With one configuration the seed and residual parts cannot be told apart: all is residual."""
    C, S = table.shape
    grand = table.mean()
    row, col = table.mean(axis=1), table.mean(axis=0)
    if C == 1:
        return 0.0, 0.0, float(((table - grand) ** 2).sum() / (S - 1))
    ms_row = S * ((row - grand) ** 2).sum() / (C - 1)
    ms_col = C * ((col - grand) ** 2).sum() / (S - 1)
    ms_res = ((table - row[:, None] - col[None, :] + grand) ** 2).sum() / ((C - 1) * (S - 1))
    return max((ms_row - ms_res) / S, 0.0), max((ms_col - ms_res) / C, 0.0), float(ms_res)


def _seed_sum_of_squares_share(table: np.ndarray) -> float:
    """The seed's share of the within-configuration sum of squares: the naive reading,
    biased up with few configurations (with C configurations and no seed effect it is
    1/C in expectation), shown beside the variance component for comparison."""
    if table.shape[0] < 2:
        return np.nan
    within = table - table.mean(axis=1, keepdims=True)
    ss_within = (within ** 2).sum()
    ss_seed = table.shape[0] * ((within.mean(axis=0)) ** 2).sum()
    return float(ss_seed / ss_within) if ss_within > 0 else np.nan


def is_control(runs: pd.DataFrame) -> np.ndarray:
    """The weight-decay-0 controls (asked their own question, not the within-configuration one)."""
    if "weight_decay" not in runs:
        return np.zeros(len(runs), bool)
    return pd.to_numeric(runs["weight_decay"], errors="coerce").eq(0).to_numpy(bool)


def variance_split(runs: pd.DataFrame, grids: dict[str, np.ndarray] | None = None) -> list[TaskSplit]:
    """Per task: the delay's variance between configurations, of the seed effect crossed
    across configurations and residual (additive two-way ANOVA), over the configurations
    that are not controls and the seeds every one of them has. Censored delays enter at
    their bound (the budget). ``grids``: task -> its evaluation steps."""
    out = []
    for task, g in runs.groupby(runs["task"].astype(str)):
        g = g[~is_control(g)].sort_values("run_id", kind="mergesort")
        truns = TaskRuns.from_frame(g)
        frame = pd.DataFrame({"config": truns.config_id, "seed": g["seed"].to_numpy(), "delay": truns.delay,
                              "censored": truns.censored, "t_mem": truns.t_mem, "budget": truns.budget})
        frame = frame[np.isfinite(frame["delay"])]
        table = frame.pivot_table(index="config", columns="seed", values="delay", aggfunc="first").dropna(axis=1)
        if table.shape[1] < 2:
            continue
        vc, vs, ve = _two_way(table.to_numpy(float))
        grid = tuple(int(v) for v in np.sort(np.asarray((grids or {}).get(str(task), ()))))
        out.append(TaskSplit(str(task), table.shape[0], table.shape[1], vc, vs, ve, float(frame["censored"].mean()),
                             _seed_sum_of_squares_share(table.to_numpy(float)), float(table.to_numpy().mean()),
                             float(frame["t_mem"].median()),
                             float(frame["budget"].max()), grid))
    return out


def simulate_task(rng: np.random.Generator, split: TaskSplit, n_configs: int, n_seeds: int, c_true: float,
                  noise_seed_share: float = 0.0) -> tuple[np.ndarray, ...]:
    """One synthetic task: (x, delay, event, config, seed) for n_configs x n_seeds runs.
    T_gen = T_mem 10^D is read at the task's next evaluation step (ties as in a real run)
    and censored at the budget."""
    a = rng.normal(0, np.sqrt(split.var_config), n_configs)[:, None]
    b = rng.normal(0, np.sqrt(split.var_seed), n_seeds)[None, :]
    e = rng.normal(0, np.sqrt(split.var_resid), (n_configs, n_seeds))
    w = b + e
    sd_w = np.sqrt(split.var_seed + split.var_resid)
    noise = np.sqrt(noise_seed_share) * rng.normal(size=n_seeds)[None, :] + \
        np.sqrt(1 - noise_seed_share) * rng.normal(size=(n_configs, n_seeds))
    r = np.sin(np.pi * (c_true - 0.5))
    x = r * w / sd_w + np.sqrt(1 - r * r) * noise
    t_gen = split.t_mem * 10 ** (split.mean_delay + a + w).ravel()
    event = t_gen <= split.budget
    if split.grid:
        grid = np.asarray(split.grid, float)
        k = np.searchsorted(grid, t_gen)
        event &= k < len(grid)
        t_gen = grid[np.minimum(k, len(grid) - 1)]
    delay = np.log10(np.where(event, t_gen, split.budget) / split.t_mem)
    config = np.repeat(np.arange(n_configs), n_seeds)
    seed = np.tile(np.arange(n_seeds), n_configs)
    return x.ravel(), delay, event, config, seed


def seed_cluster_weights(rng: np.random.Generator, seed: np.ndarray, n_boot: int) -> np.ndarray:
    """(n_boot, n) weights: the seeds drawn with replacement, each drawn seed's runs in every
    configuration together (a run's weight is how often its seed was drawn)."""
    labels, idx = np.unique(seed, return_inverse=True)
    drawn = rng.multinomial(len(labels), np.full(len(labels), 1.0 / len(labels)), size=n_boot)
    return drawn[:, idx].astype(float)


@dataclass(frozen=True)
class PowerResult:
    n_seeds: int
    n_configs: int | dict[str, int]
    c_true: float
    noise_seed_share: float
    power: float
    n_sim: int
    mean_c: float
    mean_lower: float


def power(splits: list[TaskSplit], n_seeds: int, n_configs: int | dict[str, int], c_true: float, n_sim: int,
          n_boot: int, seed: int = 0, noise_seed_share: float = 0.0, level: float = 0.95,
          statistic: WithinConfigCindex = within_config_cindex) -> PowerResult:
    """Share of ``n_sim`` synthetic suites (one task per split) whose across-task mean C-index
    has its bootstrap lower bound ((1 - level) / 2 percentile) above 0.5. Seeded: the same
    arguments give the same answer. ``n_configs``: per task (a dict by task name) or the
    same for every task."""
    per_task = {s.task: n_configs.get(s.task, 0) if isinstance(n_configs, dict) else n_configs for s in splits}
    key = list(per_task.values()) if isinstance(n_configs, dict) else [n_configs]
    rng = np.random.default_rng([seed, n_seeds, *key, int(round(c_true * 1000)),
                                 int(round(noise_seed_share * 1000))])
    hits, cs, lows = 0, [], []
    for _ in range(n_sim):
        point, reps = [], []
        for split in splits:
            if per_task[split.task] < 1:
                continue
            x, time, event, config, seeds = simulate_task(rng, split, per_task[split.task], n_seeds, c_true,
                                                          noise_seed_share)
            W = np.vstack([np.ones((1, len(x))), seed_cluster_weights(rng, seeds, n_boot)])
            c = statistic(x, time, event, config, W)
            point.append(c[0])
            reps.append(c[1:])
        with np.errstate(invalid="ignore"):
            across = np.nanmean(np.stack(reps), axis=0)
        lower = float(np.nanpercentile(across, 100 * (1 - level) / 2))
        cs.append(float(np.nanmean(point)))
        lows.append(lower)
        hits += lower > 0.5
    return PowerResult(n_seeds, n_configs, c_true, noise_seed_share, hits / n_sim, n_sim,
                       float(np.mean(cs)), float(np.mean(lows)))
