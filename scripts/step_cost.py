"""Cost of one full-batch training step of each named task's default variant (docs/tasks.md).

    python scripts/step_cost.py modadd-mlp modsub-mlp modadd-transformer s5-transformer --out cost.json

One thread (``--threads``), the plain training loop (``bench.loop_stepper``: forward, backward, AdamW;
no evaluation), ``--warm`` untimed steps then ``--steps`` timed ones (fewer for tasks
whose step takes longer than ``--budget-s`` / ``--steps``). Prints per task the wall and
the process CPU milliseconds per step; CPU time is the figure to compare on a shared
machine (wall time includes waiting for a core). Writes them with the machine and the
load average to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from complexity_bench.bench import loop_stepper, machine
from complexity_bench.contracts.task import get_task


def step_cost(name: str, steps: int, warm: int, budget_s: float) -> dict:
    task = get_task(name)
    step = loop_stepper(task, task.variant({}, seed=0))
    start = time.perf_counter()
    for _ in range(warm):
        step()
    per_warm = (time.perf_counter() - start) / max(warm, 1)
    n = max(3, min(steps, int(budget_s / max(per_warm, 1e-6))))
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        step()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"task": name, "steps_timed": n, "wall_ms_per_step": 1e3 * wall / n, "cpu_ms_per_step": 1e3 * cpu / n,
            "train_samples": int(len(task.make_data(task.resolve({}), 0).train_idx))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("tasks", nargs="+")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--warm", type=int, default=5)
    ap.add_argument("--budget-s", type=float, default=10.0, help="about this many timed seconds per task at most")
    ap.add_argument("--threads", type=int, default=1, help="torch's intra-op threads (default 1: one core per run)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for name in args.tasks:
        rows.append(step_cost(name, args.steps, args.warm, args.budget_s))
        print(json.dumps(rows[-1]), flush=True)
    if args.out:
        args.out.write_text(json.dumps({"machine": machine(), "threads": args.threads,
                                        "load_average_1min": os.getloadavg()[0],
                                        "tasks": rows}, indent=2))


if __name__ == "__main__":
    main()
