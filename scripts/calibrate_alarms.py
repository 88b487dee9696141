"""Calibrate the Tracker's early-warning alarm thresholds on a results folder.

    python scripts/calibrate_alarms.py [results/full] [--out complexity_bench/alarm_thresholds.json]

For each measure (and sub-measure), the alarm threshold theta is the one the
leaderboard's lead-time score uses (docs/scoring.md, early warning): over the
runs that memorised but never generalised, take each run's maximum of

    p(t) = (s(T_mem) - s(t)) / (|s(T_mem) - s(0)| + eps),   t > T_mem,

and choose the smallest theta that at most ``false_alarm`` (10%) of those runs
exceed (``scoring.early_warning.calibrate_threshold``, unit weights). Written
per task and pooled over tasks. The Tracker uses the pooled value by default:
a user's model is none of the reference tasks, p is scale-free (each run is
normalised by its own rise before T_mem), and pooling uses every
never-generalising run instead of one task's few. With n such runs a 10% rate
can only be met at the (n - floor(0.1 n))-th largest maximum; for n < 10 that is
the largest one, which the file records as ``n_never_runs``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from complexity_bench.scoring import ScoreConfig
from complexity_bench.scoring.early_warning import calibrate_threshold, predictor
from complexity_bench.scoring.prepare import TaskRuns, extract_series

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "complexity_bench" / "alarm_thresholds.json"


def never_run_maxima(runs: pd.DataFrame, traces: pd.DataFrame, direction: int, cfg: ScoreConfig) -> np.ndarray:
    """Per never-generalising run of one task: max of p(t) over its checkpoints after T_mem."""
    truns = TaskRuns.from_frame(runs)
    series = extract_series(traces, truns, direction)
    p = predictor(series, cfg.eps)
    r, t = series.run, series.step
    keep = np.isfinite(p) & truns.never[r] & (t > truns.t_mem[r])
    maxima = np.full(len(truns), -np.inf)
    np.maximum.at(maxima, r[keep], p[keep])
    return maxima[np.isfinite(maxima)]


def threshold(maxima: np.ndarray, alpha: float) -> dict:
    if len(maxima) == 0:
        return {"threshold": None, "n_never_runs": 0}
    theta = calibrate_threshold(maxima, np.ones((1, len(maxima))), alpha)[0]
    return {"threshold": float(theta), "n_never_runs": int(len(maxima))}


def calibrate(results: Path, alpha: float | None = None) -> dict:
    runs = pd.read_csv(results / "runs.csv")
    traces = pd.read_parquet(results / "traces.parquet")
    measures = pd.read_csv(results / "measures.csv")
    manifest = json.loads((results / "manifest.json").read_text()) if (results / "manifest.json").exists() else {}
    cfg = ScoreConfig()
    alpha = cfg.false_alarm if alpha is None else alpha
    direction = {str(r.measure): int(r.direction) for r in measures.itertuples()}
    by_task: dict[str, dict] = {}
    pooled: dict[str, dict] = {}
    for name in sorted(traces["measure"].astype(str).unique()):
        d = direction.get(name, direction.get(name.split("/")[0]))
        if d is None:
            continue
        all_maxima = []
        for task, truns in runs.groupby("task"):
            rows = traces[(traces["measure"] == name) & (traces["task"] == task)]
            maxima = never_run_maxima(truns, rows, d, cfg)
            by_task.setdefault(str(task), {})[name] = threshold(maxima, alpha)
            all_maxima.append(maxima)
        pooled[name] = threshold(np.concatenate(all_maxima), alpha)
    return {
        "source": {
            "results": str(results), "suite": manifest.get("suite"), "git_commit": manifest.get("git_commit"),
            "package_version": manifest.get("package_version"), "protocol_version": manifest.get("protocol_version"),
            "tasks": manifest.get("tasks"), "runs": int(len(runs)), "false_alarm": alpha, "eps": cfg.eps,
            "generated_by": "scripts/calibrate_alarms.py",
        },
        "pooled": pooled,
        "by_task": by_task,
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
    data = calibrate(args.results, args.false_alarm)
    args.out.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
    print(f"wrote {args.out}: {len(data['pooled'])} measures, tasks {', '.join(data['by_task'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
