"""Power of the headline's forecast part, decided before a suite runs
(docs/protocol.md, "Power and the suite design").

Question: with S seeds per configuration, how often does a measure whose true
within-configuration C-index is ``c_true`` on every task pass the test "the 95% lower
bound of the headline's bootstrap of ``cf_cindex``, averaged over tasks, is above 0.5"?

It simulates what the headline computes. The statistic is production's
``cf_cindex`` (``conditional.forecast_cindex``: the concordance over same-configuration
pairs whose generalisation order is known, pooled over the task's configurations, with
T_gen as the target, censored at the budget). The replicates are production's crossed
bootstrap (``bootstrap.crossed_weights``: seeds and configurations drawn independently,
run (c, s) weighted u_c v_s); the across-task replicate is the mean of the tasks'
replicates and the interval is ``bootstrap.interval``, as in the leaderboard.

Synthetic targets follow the variance split of log10 T_gen measured on a results folder
(:func:`variance_split`): per task, log10 T_gen = mean + a_config + b_seed + e, with the
seed effect crossed across configurations (a seed fixes the data split and initialisation
in every configuration); T_gen is read on the task's evaluation steps and censored at its
budget, as in a real run. The measure's value at the pair's common step is one value per
run (the simulation has no T_mem, so every pair shares its step):
x = r * w / sd(w) + sqrt(1 - r^2) * n, with w = b_seed + e the target's
within-configuration part and n standard normal noise, itself split between a crossed
seed part (share ``noise_seed_share``) and a per-run part. For Gaussian pairs the
concordance of x with the target is 1/2 + arcsin(r) / pi, so r = sin(pi (c_true - 1/2)).

    >>> round(float(np.sin(np.pi * (0.65 - 0.5))), 3)  # r for a C-index of 0.65
    0.454
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from complexity_bench.scoring.bootstrap import crossed_weights, interval
from complexity_bench.scoring.conditional import forecast_cindex
from complexity_bench.scoring.prepare import TaskRuns

# (x, end, censored, config labels, W (B, n)) -> per replicate C-index (B,)
Statistic = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class TaskSplit:
    """One task's variance components of the headline's forecast target, log10 T_gen (censored
    runs at the budget; log10 units squared), over its non-control configurations, and what
    places T_gen on the task's clock: its mean, the budget (censoring) and the evaluation
    steps T_gen is read at (ties)."""

    task: str
    n_configs: int
    n_seeds: int
    var_config: float
    var_seed: float
    var_resid: float
    censored_share: float
    seed_share_ss: float
    mean_log_tgen: float
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


def log_tgen(runs: TaskRuns) -> np.ndarray:
    """The headline's forecast target per run: log10 T_gen, the budget for a censored run
    (``cf_cindex`` orders runs by it); NaN for a run that never memorised (it has no pair)."""
    end = np.where(runs.censored, runs.budget, runs.t_gen)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.log10(np.maximum(end, 1.0))
    out[~runs.memorised] = np.nan
    return out


def variance_split(runs: pd.DataFrame, grids: dict[str, np.ndarray] | None = None) -> list[TaskSplit]:
    """Per task: the variance of log10 T_gen (:func:`log_tgen`) between configurations, of the
    seed effect crossed across configurations and residual (additive two-way ANOVA), over the
    configurations that are not controls and the seeds every one of them has. Censored runs
    enter at their bound (the budget). ``grids``: task -> its evaluation steps."""
    out = []
    for task, g in runs.groupby(runs["task"].astype(str)):
        g = g[~is_control(g)].sort_values("run_id", kind="mergesort")
        truns = TaskRuns.from_frame(g)
        frame = pd.DataFrame({"config": truns.config_id, "seed": g["seed"].to_numpy(), "target": log_tgen(truns),
                              "censored": truns.censored, "budget": truns.budget})
        frame = frame[np.isfinite(frame["target"])]
        table = frame.pivot_table(index="config", columns="seed", values="target", aggfunc="first").dropna(axis=1)
        if table.shape[1] < 2:
            continue
        vc, vs, ve = _two_way(table.to_numpy(float))
        grid = tuple(int(v) for v in np.sort(np.asarray((grids or {}).get(str(task), ()))))
        out.append(TaskSplit(str(task), table.shape[0], table.shape[1], vc, vs, ve, float(frame["censored"].mean()),
                             _seed_sum_of_squares_share(table.to_numpy(float)), float(table.to_numpy().mean()),
                             float(frame["budget"].max()), grid))
    return out


def simulate_task(rng: np.random.Generator, split: TaskSplit, n_configs: int, n_seeds: int, c_true: float,
                  noise_seed_share: float = 0.0) -> tuple[np.ndarray, ...]:
    """One synthetic task: (x, end, censored, config, seed) for n_configs x n_seeds runs, with
    ``end`` T_gen read at the task's next evaluation step (ties as in a real run), the budget
    for a run censored there."""
    a = rng.normal(0, np.sqrt(split.var_config), n_configs)[:, None]
    b = rng.normal(0, np.sqrt(split.var_seed), n_seeds)[None, :]
    e = rng.normal(0, np.sqrt(split.var_resid), (n_configs, n_seeds))
    w = b + e
    sd_w = np.sqrt(split.var_seed + split.var_resid)
    noise = np.sqrt(noise_seed_share) * rng.normal(size=n_seeds)[None, :] + \
        np.sqrt(1 - noise_seed_share) * rng.normal(size=(n_configs, n_seeds))
    r = np.sin(np.pi * (c_true - 0.5))
    x = r * w / sd_w + np.sqrt(1 - r * r) * noise
    t_gen = 10 ** (split.mean_log_tgen + a + w).ravel()
    event = t_gen <= split.budget
    if split.grid:
        grid = np.asarray(split.grid, float)
        k = np.searchsorted(grid, t_gen)
        event &= k < len(grid)
        t_gen = grid[np.minimum(k, len(grid) - 1)]
    end = np.where(event, t_gen, split.budget)
    config = np.repeat(np.arange(n_configs), n_seeds)
    seed = np.tile(np.arange(n_seeds), n_configs)
    return x.ravel(), end, ~event, config, seed


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
          statistic: Statistic = forecast_cindex) -> PowerResult:
    """Share of ``n_sim`` synthetic suites (one task per split) whose across-task mean C-index
    has its bootstrap lower bound (``bootstrap.interval`` at ``level``) above 0.5. As in the
    leaderboard, a task without a comparable pair is not eligible (no measure is defined on
    it) and a replicate is the mean over the eligible tasks, undefined where one of them is
    (left out of the interval). Seeded: the
    same arguments give the same answer. ``n_configs``: per task (a dict by task name) or the
    same for every task."""
    per_task = {s.task: n_configs.get(s.task, 0) if isinstance(n_configs, dict) else n_configs for s in splits}
    key = list(per_task.values()) if isinstance(n_configs, dict) else [n_configs]
    rng = np.random.default_rng([seed, n_seeds, *key, int(round(c_true * 1000)),
                                 int(round(noise_seed_share * 1000))])
    hits, cs, lows = 0, [], []
    for _ in range(n_sim):
        point, reps = [], []
        boot_seed = int(rng.integers(2 ** 31))  # one draw per suite, keyed by task like the scorer's
        for split in splits:
            if per_task[split.task] < 1:
                continue
            x, end, censored, config, seeds = simulate_task(rng, split, per_task[split.task], n_seeds, c_true,
                                                            noise_seed_share)
            W = crossed_weights(n_boot, boot_seed, split.task, config, seeds, np.zeros(len(x), int))
            c = statistic(x, end, censored, config, np.vstack([np.ones((1, len(x))), W]))
            if not np.isfinite(c[0]):
                continue  # no comparable pair: undefined for every measure, so not an eligible task
            point.append(c[0])
            reps.append(c[1:])
        lower = interval(np.mean(np.stack(reps), axis=0), level)[0] if reps else np.nan
        cs.append(float(np.nanmean(point)))
        lows.append(lower)
        hits += bool(lower > 0.5)
    return PowerResult(n_seeds, n_configs, c_true, noise_seed_share, hits / n_sim, n_sim,
                       float(np.mean(cs)), float(np.nanmean(lows)))
