"""Grokking demonstrations and pilots of one task (docs/tasks.md has the tables).

    python scripts/transformer_grokking.py --seeds 0 1 2 --control-seeds 0 --out docs/measurements/transformer_grokking.json
    python scripts/transformer_grokking.py --task modsub-mlp --seeds 0 --control-seeds --out pilot.json

``--task`` (default ``modadd-transformer``) picks the task; ``--steps`` overrides its budget
(a longer pilot, docs/tasks.md), ``--device`` where it trains and ``--threads`` torch's CPU
threads (default 1; more only for one long run alone on the machine, as S5's pilot).
Trains the canonical setting (the task's defaults: weight decay 1.0) for each seed in
``--seeds`` and the weight-decay-0 control for each seed in ``--control-seeds``, all
with the task's own budget and evaluation schedule (the same for every variant), as
one cohort (``engine.select.train_group``: the generic vmap engine for this model) or one run
at a time (``--engine loop``). Prints one row per run: seed, weight decay, T_mem,
T_gen (None: not within the budget), T_gen / T_mem, T_spike and T_collapse, the last step trained, the
engine and its wall seconds per run (a cohort's wall time shared equally among its
runs), and writes them, the accuracy curves, the machine and the load to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

from complexity_bench.bench import machine
from complexity_bench.contracts.task import get_task
from complexity_bench.engine import step_progress
from complexity_bench.engine.select import ENGINES, train_group
from complexity_bench.numerics import mkl_cbwr


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", default="modadd-transformer")
    ap.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    ap.add_argument("--control-seeds", type=int, nargs="*", default=[0])
    ap.add_argument("--engine", default="auto", choices=ENGINES)
    ap.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N (default: cpu)")
    ap.add_argument("--steps", type=int, default=None, help="override the task's budget (a longer pilot)")
    ap.add_argument("--threads", type=int, default=1, help="torch's intra-op threads on CPU (default 1)")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--progress-every-s", type=float, default=60.0,
                    help="seconds between progress lines on stderr (default 60: an S5 run trains for an hour)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.out:  # before the training, not after an hour of it
        args.out.parent.mkdir(parents=True, exist_ok=True)
    task = get_task(args.task)
    budget = {} if args.steps is None else {"steps": args.steps}
    steps = int(task.resolve(budget)["steps"])  # the budget every variant trains at most
    variants = ([task.variant(budget, seed=s) for s in args.seeds]
                + [task.variant({**budget, "weight_decay": 0.0}, seed=s) for s in args.control_seeds])
    start, cpu = time.perf_counter(), time.process_time()
    with step_progress.listening(_progress_printer(len(variants) * steps, args.progress_every_s, start)):
        results = train_group(task, variants, args.engine, args.device)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    rows = []
    for r in results:
        e, p = r.events, r.variant.param_dict
        rows.append({"seed": r.variant.seed, "weight_decay": p["weight_decay"], "train_frac": p["train_frac"],
                     "t_mem": e.t_mem, "t_gen": e.t_gen, "t_spike": e.t_spike, "t_collapse": e.t_collapse,
                     "ratio": None if e.t_gen is None or e.t_mem is None else e.t_gen / max(e.t_mem, 1),
                     "last_step": r.metrics["step"][-1], "final_test_acc": r.metrics["test_acc"][-1],
                     "engine": r.engine, "seconds_per_run": r.seconds})
        print(json.dumps(rows[-1]))
        rows[-1]["curve"] = {k: r.metrics[k] for k in ("step", "train_acc", "test_acc")}
    report = {"task": task.name, "task_version": task.version, "budget": steps,
              "device": args.device, "threads": args.threads, "machine": machine(),
              # MKL's code path: this script leaves it as torch sets it (the CPU's own), unlike `run`
              "mkl_cbwr": mkl_cbwr(), "wall_seconds": wall, "cpu_seconds": cpu, "runs": rows,
              "load_average_1min_at_end": os.getloadavg()[0]}
    print(f"{len(rows)} runs in {wall:.0f} s wall, {cpu:.0f} s CPU")
    if args.out:
        args.out.write_text(json.dumps(report, indent=2))


def _progress_printer(steps_at_most: int, every_s: float, start: float):
    """A ``step_progress`` listener: one stderr line at most every ``every_s`` seconds with the
    optimizer steps taken so far, summed over runs (an early stop ends a run before its budget)."""
    taken, last = 0, start

    def listen(run_steps: int) -> None:
        nonlocal taken, last
        taken += run_steps
        now = time.perf_counter()
        if now - last >= every_s:
            last = now
            print(f"progress: {taken:,} of at most {steps_at_most:,} steps, {now - start:,.0f} s",
                  file=sys.stderr, flush=True)
    return listen


if __name__ == "__main__":
    main()
