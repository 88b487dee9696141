"""Alarm thresholds calibrated out of sample (docs/protocol.md, "Alarms out of sample").

An alarm fires at the first checkpoint after T_mem whose progress p(t) (early_warning.py)
exceeds a threshold theta. theta is calibrated on runs that memorised but never
generalised: the smallest of their per-run maxima of p that at most ``false_alarm`` (10%)
of them exceed (``early_warning.calibrate_threshold``). Calibrating and evaluating on the same runs
would make the false-alarm rate <= 10% by construction and let the alarm know the scale
of p on the very task it is judged on, which a user's own task never offers. So every
run's threshold is calibrated on the never-generalising runs of the **other tasks**
(leave-one-task-out); when the results hold a single task, on those of the **other
seeds** (a seed fixes the data split and initialisation in every configuration, so it is
the unit that is left out). The achieved false-alarm rate on the held-out task is then
a measurement, reported beside its target, not a guarantee.

The *false-alarm floor* of a held-out task is its false-alarm rate at the most cautious
threshold its calibration runs allow, the largest of their maxima (no calibration run
alarms above it): when that is above the target, no threshold learnt from the other
tasks reaches the target on this one.

    >>> float(calibrate_threshold(np.array([0.1, 0.5, 0.3, 0.9]), np.ones((1, 4)), 0.25)[0])  # one of 4 may exceed
    0.5
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from complexity_bench.scoring.early_warning import calibrate_threshold, never_run_maxima
from complexity_bench.scoring.prepare import TaskRuns, extract_series


@dataclass
class RunThresholds:
    """Per run of one task (R,): the out-of-sample threshold theta and the ceiling (the
    largest calibration maximum, for the false-alarm floor); NaN where the held-out unit's
    calibration runs are none (``reason`` says so)."""

    theta: np.ndarray
    ceiling: np.ndarray
    reason: str = ""


@dataclass
class AlarmCalibration:
    """Never-generalising runs' p maxima of every measure, with the unit each is held out by.

    ``holdout``: "task" (two or more tasks) or "seed" (one task); ``units[m]`` and
    ``maxima[m]``: one entry per never-generalising run of measure m with a maximum.
    """

    holdout: str
    alpha: float
    units: dict[str, np.ndarray]
    maxima: dict[str, np.ndarray]
    run_seed: dict[str, str]

    @classmethod
    def from_tables(cls, runs: pd.DataFrame, traces: pd.DataFrame, directions: dict[str, int],
                    alpha: float, eps: float) -> "AlarmCalibration":
        """Collect the maxima from the results tables (as ``score`` receives them);
        ``directions``: measure -> +1/-1."""
        task_col = runs["task"].astype(str)
        holdout = "task" if task_col.nunique() >= 2 else "seed"
        seeds = runs["seed"] if "seed" in runs else pd.Series(runs["run_id"], index=runs.index)
        run_seed = dict(zip(runs["run_id"].astype(str), seeds.astype(str)))
        units: dict[str, list] = {m: [] for m in directions}
        maxima: dict[str, list] = {m: [] for m in directions}
        for task in sorted(set(task_col)):
            truns = TaskRuns.from_frame(runs[task_col == task])
            never_ids = set(truns.run_ids[truns.never])
            rows = traces[traces["run_id"].astype(str).isin(never_ids)]
            for name, g in rows.groupby(rows["measure"].astype(str), sort=False):
                if name not in directions:
                    continue
                m = never_run_maxima(extract_series(g, truns, directions[name]), truns, eps)
                ok = np.flatnonzero(np.isfinite(m))
                maxima[name].extend(m[ok])
                units[name].extend([task] * len(ok) if holdout == "task" else
                                   [run_seed[truns.run_ids[k]] for k in ok])
        return cls(holdout, alpha, {m: np.array(u, dtype=object) for m, u in units.items()},
                   {m: np.array(v, float) for m, v in maxima.items()}, run_seed)

    def held_out(self, measure: str, unit: str) -> tuple[float, float, int]:
        """(theta, ceiling, n calibration runs) for a run of ``unit``: calibrated on the
        never-generalising runs of every other unit (NaN, NaN, 0 when there are none)."""
        units, vals = self.units.get(measure), self.maxima.get(measure)
        if units is None or vals is None:
            return np.nan, np.nan, 0
        other = vals[units != unit]
        if other.size == 0:
            return np.nan, np.nan, 0
        return float(calibrate_threshold(other, np.ones((1, other.size)), self.alpha)[0]), float(other.max()), \
            int(other.size)

    def for_runs(self, measure: str, runs: TaskRuns) -> RunThresholds:
        """Thresholds of every run of one task for ``measure``."""
        R = len(runs)
        units = [runs.task] * R if self.holdout == "task" else [self.run_seed.get(i, i) for i in runs.run_ids]
        out = RunThresholds(np.full(R, np.nan), np.full(R, np.nan))
        for unit in dict.fromkeys(units):
            theta, ceiling, _ = self.held_out(measure, unit)
            sel = np.array([u == unit for u in units])
            out.theta[sel], out.ceiling[sel] = theta, ceiling
        if not np.isfinite(out.theta).any():
            out.reason = f"no never-generalising runs on other {self.holdout}s to calibrate the alarm on"
        return out


def false_alarm_rates(maxima: np.ndarray, theta: float, ceiling: float) -> tuple[float, float]:
    """(achieved false-alarm rate at theta, the floor at the ceiling) over never-run maxima."""
    if maxima.size == 0 or not np.isfinite(theta):
        return np.nan, np.nan
    return float(np.mean(maxima > theta)), float(np.mean(maxima > ceiling))
