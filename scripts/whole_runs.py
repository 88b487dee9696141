"""Cohort engine vs the plain loop on whole runs: a task's default-suite variants,
full budgets, early stop, evaluations and checkpoints as the harness trains them.

    python scripts/whole_runs.py teacher-student [--runs 8] [--json out.json]

The bench (``python -m complexity_bench bench``) times 150-step cuts, where every run
is alive at every step. Whole runs stop at their own ``stop_factor * T_gen`` (or at
their budget), and the cohort then shrinks to the last runs, which batch poorly;
this script measures that. One process, one torch thread, flushed denormals, loop
first then cohort. Also reports whether T_mem / T_gen agree run for run and the
largest relative difference of the final test loss.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from complexity_bench.engine.allocator import keep_freed_memory
from complexity_bench.engine.cohort import cohort_compatible, train_cohort
from complexity_bench.contracts.task import get_task
from complexity_bench.engine.training import train_run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("task")
    ap.add_argument("--runs", type=int, default=8, help="the first RUNS default-suite variants (8: a harness job on 2 workers)")
    ap.add_argument("--json", help="also write the result here")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    keep_freed_memory()
    task = get_task(args.task)
    variants = task.variants("default")[: args.runs]
    assert cohort_compatible(task, variants), "these variants cannot share a cohort"

    start = time.perf_counter()
    loop = [train_run(task, v) for v in variants]
    loop_s = time.perf_counter() - start
    start = time.perf_counter()
    cohort = train_cohort(task, variants)
    cohort_s = time.perf_counter() - start

    rows = []
    for v, a, b in zip(variants, loop, cohort):
        rel = abs(a.metrics["test_loss"][-1] - b.metrics["test_loss"][-1]) / max(abs(a.metrics["test_loss"][-1]), 1e-12)
        rows.append({"params": dict(v.params), "seed": v.seed, "steps_trained": a.metrics["step"][-1],
                     "events_loop": [a.events.t_mem, a.events.t_gen], "events_cohort": [b.events.t_mem, b.events.t_gen],
                     "final_test_loss_rel_diff": rel})
    res = {"task": task.name, "runs": len(variants), "loop_seconds": loop_s, "cohort_seconds": cohort_s,
           "speedup": loop_s / cohort_s, "events_identical": all(r["events_loop"] == r["events_cohort"] for r in rows),
           "max_final_test_loss_rel_diff": max(r["final_test_loss_rel_diff"] for r in rows), "per_run": rows}
    print(f"{task.name}: {len(variants)} whole runs, loop {loop_s:.1f} s, cohort {cohort_s:.1f} s, "
          f"speedup {res['speedup']:.2f}x; events identical: {res['events_identical']}; "
          f"largest relative final test-loss difference {res['max_final_test_loss_rel_diff']:.2g}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=2)


if __name__ == "__main__":
    main()
