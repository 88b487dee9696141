"""Training steps alone, reference loop vs the engine ``run`` picks, by process CPU time
(docs/performance.md, "Under MKL's compatible path").

    python scripts/engine_steps_cpu.py modadd-mlp --runs 8 --steps 10

The bench's ``runs`` variants (``bench.bench_variants``); each side takes ``--steps``
steps of every run (no evaluation), alternated 3 times in one process, best of each; one
torch thread; MKL on its CPU-independent path as under the command line. CPU time, not
wall time: on a loaded machine the wall clock mostly measures the wait for a core.
Prints one JSON line (milliseconds per run-step).
"""

from __future__ import annotations

import argparse
import json
import os
import time

from complexity_bench.numerics import pin_mkl

pin_mkl()

import torch  # noqa: E402

from complexity_bench.bench import bench_variants, loop_stepper, machine  # noqa: E402
from complexity_bench.contracts.task import get_task  # noqa: E402
from complexity_bench.engine.cohort import cohort_compatible, lockstep_stepper  # noqa: E402
from complexity_bench.engine.vmap_cohort import vmap_stepper  # noqa: E402
from complexity_bench.numerics import mkl_cbwr  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("task")
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--steps", type=int, default=10)
    args = ap.parse_args()
    torch.set_num_threads(1)
    task = get_task(args.task)
    variants = bench_variants(task, args.runs)
    loops = [loop_stepper(task, v) for v in variants]
    hand_written = cohort_compatible(task, variants)
    cohort = (lockstep_stepper if hand_written else vmap_stepper)(task, variants)

    def loop() -> None:
        for step in loops:
            step()

    best = {"loop": float("inf"), "cohort": float("inf")}
    for side in (loop, cohort):  # untimed warm-up
        side()
    for _ in range(3):
        for name, side in (("loop", loop), ("cohort", cohort)):
            start = time.process_time()
            for _ in range(args.steps):
                side()
            best[name] = min(best[name], (time.process_time() - start) / (args.steps * args.runs))
    print(json.dumps({"task": task.name, "engine": "cohort" if hand_written else "vmap", "runs": args.runs,
                      "mkl_cbwr": mkl_cbwr(), "loop_cpu_ms_per_run_step": round(1e3 * best["loop"], 2),
                      "cohort_cpu_ms_per_run_step": round(1e3 * best["cohort"], 2),
                      "loop_over_cohort": round(best["loop"] / best["cohort"], 3), "cpu": machine()["cpu"],
                      "load_average_1min": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
