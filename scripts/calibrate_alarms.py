"""Calibrate the Tracker's early-warning alarm thresholds on a results folder.

    python scripts/calibrate_alarms.py [results/full] [--out complexity_bench/alarm_thresholds.json]

For each measure (and sub-measure), the alarm threshold theta is the one the
leaderboard's lead-time score uses (docs/scoring.md, early warning): over the
runs that memorised but never generalised, take each run's maximum of

    p(t) = (s(T_mem) - s(t)) / (|s(T_mem) - s(0)| + eps),   t > T_mem,

and choose the smallest theta that at most ``false_alarm`` (10%) of those runs
exceed (``scoring.early_warning.calibrate_threshold``, unit weights; the maxima
from ``scoring.alarm_calibration.AlarmCalibration``, the scorer's own). Written:

- ``pooled``: over every task. The Tracker uses it by default, on the user's own
  task, which is none of the reference tasks: out of sample by construction.
- ``by_task``: each task's own runs (``Tracker(alarms="<task>")``).
- ``out_of_sample``: per task, the threshold calibrated on the *other* tasks and
  what it achieves on this one: the false-alarm rate against the target, and the
  floor (the rate at the largest of the other tasks' maxima). This is what the
  pooled threshold can be expected to do on a task it was not calibrated on.

With n never-generalising runs a 10% rate can only be met at the (n - floor(0.1 n))-th
largest maximum; for n < 10 that is the largest one (``n_never_runs`` records n).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from complexity_bench.errors import UserError
from complexity_bench.pipeline.results_files import read_manifest, read_table
from complexity_bench.scoring import ScoreConfig
from complexity_bench.scoring.alarm_calibration import AlarmCalibration, false_alarm_rates
from complexity_bench.scoring.early_warning import calibrate_threshold

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "complexity_bench" / "alarm_thresholds.json"


def threshold(maxima: np.ndarray, alpha: float) -> dict:
    if len(maxima) == 0:
        return {"threshold": None, "n_never_runs": 0}
    theta = calibrate_threshold(maxima, np.ones((1, len(maxima))), alpha)[0]
    return {"threshold": float(theta), "n_never_runs": int(len(maxima))}


def directions(measures: pd.DataFrame, names: list[str]) -> dict[str, int]:
    """measure -> direction; a sub-measure "name/key" takes its parent's."""
    table = {str(m): int(d) for m, d in zip(measures["measure"], measures["direction"])}
    out = {n: table.get(n, table.get(n.split("/")[0])) for n in names}
    return {n: d for n, d in out.items() if d is not None}


def transfer(cal: AlarmCalibration, measure: str, task: str) -> dict:
    """The threshold calibrated on the tasks other than ``task``, and what it achieves there."""
    theta, ceiling, n_cal = cal.held_out(measure, task)
    own = cal.maxima[measure][cal.units[measure] == task]
    far, floor = false_alarm_rates(own, theta, ceiling)
    nan_none = lambda v: float(v) if np.isfinite(v) else None  # noqa: E731
    return {"threshold": nan_none(theta), "n_calibration_runs": n_cal, "n_never_runs": int(own.size),
            "false_alarm_rate": nan_none(far), "false_alarm_floor": nan_none(floor)}


def calibrate(results: Path, alpha: float | None = None) -> dict:
    runs = read_table(results, "runs.csv")
    measures = read_table(results, "measures.csv")
    traces = read_table(results, "traces.parquet", measures)
    manifest = read_manifest(results)
    cfg = ScoreConfig()
    alpha = cfg.false_alarm if alpha is None else alpha
    names = sorted(traces["measure"].astype(str).unique())
    cal = AlarmCalibration.from_tables(runs, traces, directions(measures, names), alpha, cfg.eps)
    tasks = sorted(set(runs["task"].astype(str)))
    if cal.holdout != "task":
        raise UserError(f"{results}: holds one task; the thresholds are calibrated over several")
    pooled = {m: threshold(v, alpha) for m, v in cal.maxima.items()}
    by_task = {t: {m: threshold(cal.maxima[m][cal.units[m] == t], alpha) for m in cal.maxima} for t in tasks}
    out_of_sample = {t: {m: transfer(cal, m, t) for m in cal.maxima} for t in tasks}
    return {
        "source": {
            "results": str(results), "suite": manifest.get("suite"), "git_commit": manifest.get("git_commit"),
            "package_version": manifest.get("package_version"), "protocol_version": manifest.get("protocol_version"),
            "tasks": manifest.get("tasks"), "runs": int(len(runs)), "false_alarm": alpha, "eps": cfg.eps,
            "generated_by": "scripts/calibrate_alarms.py",
        },
        "pooled": pooled,
        "by_task": by_task,
        "out_of_sample": out_of_sample,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="?", default="results/full", type=Path)
    ap.add_argument("--out", default=DEFAULT_OUT, type=Path)
    ap.add_argument("--false-alarm", default=None, type=float, help="default: the scorer's (0.10)")
    args = ap.parse_args(argv)
    missing = [f for f in ("runs.csv", "traces.parquet", "measures.csv") if not (args.results / f).exists()]
    if missing:
        print(f"error: {args.results} is not a results folder (missing {', '.join(missing)})", file=sys.stderr)
        return 2
    try:
        data = calibrate(args.results, args.false_alarm)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.out.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
    print(f"wrote {args.out}: {len(data['pooled'])} measures, tasks {', '.join(data['by_task'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
