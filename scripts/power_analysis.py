"""Power of the within-configuration forecast test, and what a suite design costs.

    python scripts/power_analysis.py [results/full] [--out docs/measurements/power_analysis.json]
        [--n-sim 200] [--n-boot 400] [--seeds 3,5,8,10,15] [--configs 1,2,3]

1. The delay's variance split per task (between configurations, seed effect crossed
   across configurations, residual) over the non-control configurations of the results
   folder (``scoring.power.variance_split``), and the same split of a few measures' value
   at T_mem (how much of a measure's within-configuration spread is a seed effect).
2. Power (``scoring.power.power``): the share of synthetic suites (one task per measured
   task, each with its own split, clock and budget) in which a measure whose true
   within-configuration C-index is 0.65 on every task has the 95% lower bound of the
   seed-cluster bootstrap of its across-task mean above 0.5; also at 0.5 (how often the
   test passes a measure with no signal), for S seeds x C non-control configurations per
   task and three shares of the measure's noise that is a crossed seed effect.
3. Cost: each configuration's measured cost per run in the folder (training seconds plus
   measure seconds, worker-seconds), per task for controls and for other configurations.

Writes JSON (the tables and the command) and prints Markdown. Seeded: the same arguments
give the same numbers.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from complexity_bench.errors import UserError
from complexity_bench.pipeline.outputs import measure_time_rows
from complexity_bench.pipeline.results_files import read_table
from complexity_bench.scoring.power import _two_way, is_control, power, variance_split
from complexity_bench.scoring.prepare import TaskRuns, extract_series

MEASURES = ("l2", "lmn", "compression", "random")  # seed shares of these measures' values at T_mem


def measure_seed_shares(runs: pd.DataFrame, traces: pd.DataFrame, directions: dict[str, int]) -> dict[str, list]:
    """measure -> per task, the crossed seed effect's share of the within-configuration
    variance of its value at T_mem (non-control configurations)."""
    out: dict[str, list] = {m: [] for m in MEASURES}
    for task, g in runs.groupby(runs["task"].astype(str)):
        g = g[~is_control(g)]
        truns = TaskRuns.from_frame(g)
        rows = traces[traces["run_id"].isin(set(truns.run_ids))]
        seeds = g.sort_values("run_id", kind="mergesort")["seed"].to_numpy()
        for m in MEASURES:
            series = extract_series(rows[rows["measure"] == m], truns, directions[m])
            frame = pd.DataFrame({"config": truns.config_id, "seed": seeds, "x": series.s_mem})
            table = frame.pivot_table(index="config", columns="seed", values="x", aggfunc="first").dropna(axis=1)
            if table.shape[0] < 2 or table.shape[1] < 2:
                continue
            _, vs, ve = _two_way(table.to_numpy(float))
            if vs + ve > 0:
                out[m].append({"task": str(task), "seed_share": vs / (vs + ve)})
    return out


def run_costs(runs: pd.DataFrame, traces: pd.DataFrame) -> pd.DataFrame:
    """Per task: mean worker-seconds per run (training + measures) of controls and of the rest."""
    meas = measure_time_rows(traces).groupby("run_id")["seconds"].sum()
    df = runs.assign(cost=runs["train_seconds"].to_numpy(float) + runs["run_id"].map(meas).fillna(0).to_numpy(),
                     control=is_control(runs))
    return df.groupby(["task", "control"])["cost"].agg(["mean", "size"]).reset_index()


def _cpu() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        return platform.processor() or "unknown"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="?", default="results/full", type=Path)
    ap.add_argument("--out", default=Path("docs/measurements/power_analysis.json"), type=Path)
    ap.add_argument("--n-sim", default=200, type=int)
    ap.add_argument("--n-boot", default=400, type=int)
    ap.add_argument("--seeds", default="3,5,8,10,15")
    ap.add_argument("--configs", default="1,2,3")
    ap.add_argument("--noise-seed-shares", default="0,0.5,0.9")
    ap.add_argument("--c-true", default="0.5,0.65")
    ap.add_argument("--task-configs", default="", help="TASK=N,...: configurations of these tasks instead of --configs")
    args = ap.parse_args(argv)
    try:
        runs = read_table(args.results, "runs.csv")
        measures = read_table(args.results, "measures.csv")
        traces = read_table(args.results, "traces.parquet", measures)
        curves = read_table(args.results, "curves.parquet")
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    t0 = time.time()
    task_of = dict(zip(runs["run_id"], runs["task"]))
    grids = {t: np.unique(g["step"]) for t, g in curves.assign(task=curves["run_id"].map(task_of)).groupby("task")}
    splits = variance_split(runs, grids)
    directions = {str(m): int(d) for m, d in zip(measures["measure"], measures["direction"])}
    shares = measure_seed_shares(runs, traces, directions)
    costs = run_costs(runs, traces)
    grid = [(S, C, z, c) for c in map(float, args.c_true.split(","))
            for z in map(float, args.noise_seed_shares.split(","))
            for C in map(int, args.configs.split(",")) for S in map(int, args.seeds.split(","))]
    override = dict((t, int(n)) for t, n in (kv.split("=") for kv in args.task_configs.split(",") if kv))
    table = []
    for k, (S, C, z, c) in enumerate(grid, 1):
        per_task = {s.task: override.get(s.task, C) for s in splits} if override else C
        res = power(splits, S, per_task, c, args.n_sim, args.n_boot, seed=0, noise_seed_share=z)
        table.append(asdict(res) | {"n_configs": C})
        print(f"[{k}/{len(grid)}] S={S} C={C} noise seed share={z} C-index={c}: power {res.power:.3f}",
              file=sys.stderr, flush=True)
    data = {
        "command": "python scripts/power_analysis.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "cpu": _cpu(), "seconds": round(time.time() - t0, 1), "n_sim": args.n_sim, "n_boot": args.n_boot,
        "splits": [{k: v for k, v in asdict(s).items() if k != "grid"} | {"seed_share_within": s.seed_share_within}
                   for s in splits],
        "measure_seed_shares": shares,
        "cost_per_run": costs.to_dict(orient="records"),
        "power": table,
    }
    args.out.write_text(json.dumps(data, indent=1, default=float) + "\n")
    print(markdown(data))
    return 0


def markdown(data: dict) -> str:
    lines = ["| task | configs x seeds | var between configs | var seed | var residual | seed share within "
             "(sum-of-squares share) | censored |", "|---|---|---|---|---|---|---|"]
    for s in data["splits"]:
        lines.append(f"| `{s['task']}` | {s['n_configs']} x {s['n_seeds']} | {s['var_config']:.4f} | "
                     f"{s['var_seed']:.4f} | {s['var_resid']:.4f} | {s['seed_share_within']:.2f} "
                     f"({s['seed_share_ss']:.2f}) | {s['censored_share']:.2f} |")
    lines += ["", "| measure | seed share of its within-configuration variance at T_mem, median over tasks (range) |",
              "|---|---|"]
    for m, rows in data["measure_seed_shares"].items():
        v = np.array([r["seed_share"] for r in rows])
        if v.size:
            lines.append(f"| `{m}` | {np.median(v):.2f} ({v.min():.2f}-{v.max():.2f}, {v.size} tasks) |")
    p = pd.DataFrame(data["power"])
    for c, g in p.groupby("c_true"):
        piv = g.pivot_table(index=["noise_seed_share", "n_configs"], columns="n_seeds", values="power")
        lines += ["", f"Share of suites passing the test at a true within-configuration C-index of {c}:", "",
                  "| noise seed share | configs per task | " + " | ".join(f"{s} seeds" for s in piv.columns) + " |",
                  "|---|---|" + "---|" * len(piv.columns)]
        for (z, C), row in piv.iterrows():
            lines.append(f"| {z:g} | {C} | " + " | ".join(f"{v:.2f}" for v in row) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
