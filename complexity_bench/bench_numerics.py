"""The bench's ``mkl_cbwr_cost``: what MKL's CPU-independent code path (numerics.py) costs.

MKL fixes its code path once per process, so the two sides run in fresh processes:
``MKL_CBWR=COMPATIBLE`` (what the package sets) and an empty ``MKL_CBWR`` (MKL picks
the path for this CPU, as torch does without the package). Each child trains the same
cohort of runs for the same steps (what the harness trains with, set-up untimed);
the sides alternate ``repeats`` times and the best time of each counts.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from typing import Any

# the task whose events moved between CPUs (SGD on small batches), and the paper's net
COST_TASKS = ("sparse-parity", "modadd-mlp")
SIDES = {"compatible": "COMPATIBLE", "cpu_own_path": ""}


def _child(task_name: str, runs: int, steps: int) -> None:
    """In a fresh process: seconds to train ``runs`` runs of the task for ``steps`` steps, as JSON."""
    import torch

    from complexity_bench.bench import bench_variants, truncated
    from complexity_bench.contracts.task import TASKS, get_task
    from complexity_bench.engine import denormals
    from complexity_bench.numerics import mkl_cbwr
    from complexity_bench.engine.select import train_group

    torch.set_num_threads(1)
    denormals.set_flush(True)
    TASKS.discover()
    task = get_task(task_name)
    variants = bench_variants(task, runs)
    train_group(truncated(task, 2), variants[:2])  # one-off set-up, untimed
    start = time.perf_counter()
    train_group(truncated(task, steps), variants)
    print(json.dumps({"seconds": time.perf_counter() - start, "mkl_cbwr": mkl_cbwr()}))


def _timed(side: str, task: str, runs: int, steps: int) -> dict[str, Any]:
    env = {**os.environ, "MKL_CBWR": SIDES[side]}
    code = f"from complexity_bench.bench_numerics import _child; _child({task!r}, {runs}, {steps})"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"bench child for {task} ({side}) failed: {proc.stderr.strip()[-500:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def mkl_cbwr_cost(tasks: tuple[str, ...], runs: int, steps: int, repeats: int) -> list[dict[str, Any]]:
    """Per task: best seconds with MKL's compatible path and with the CPU's own path, and
    ``slowdown`` = compatible / own (above 1: the reproducibility costs time)."""
    out = []
    for task in tasks:
        best = {side: math.inf for side in SIDES}
        paths = {}
        for _ in range(repeats):
            for side in SIDES:
                got = _timed(side, task, runs, steps)
                best[side] = min(best[side], got["seconds"])
                paths[side] = got["mkl_cbwr"]
        out.append({"task": task, "runs": runs, "steps": steps, "seconds_compatible": best["compatible"],
                    "seconds_cpu_own_path": best["cpu_own_path"], "mkl_paths": paths,
                    "slowdown": best["compatible"] / best["cpu_own_path"]})
    return out
