"""What evaluating measures in a supervised child process (complexity_bench/pipeline/isolation.py)
costs, measured against evaluating them in the job's own process.

Trains the smoke suite's runs once into a store, then evaluates the chosen measures on
every run job by job, as ``run --workers 1`` does, alternately in process (the old path:
``evaluate_run``) and isolated (``IsolatedEvaluator``: a fork-server child per job),
``--reps`` times each, clearing the stored values before every pass. The first isolated
pass of a process also starts the fork server; it is reported separately.

    python scripts/isolation_overhead.py [--measures all] [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--measures", default="all")
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()

    torch.set_num_threads(1)
    from complexity_bench.pipeline.evaluate import evaluate_run
    from complexity_bench.pipeline.isolation import IsolatedEvaluator
    from complexity_bench.contracts.measure import COST_TIERS, MEASURES
    from complexity_bench.pipeline.store import RunStore
    from complexity_bench.contracts.task import TASKS
    from complexity_bench.engine.training import train_run

    measures = MEASURES.select(args.measures, keep=lambda m: "smoke" in COST_TIERS[m.info.cost]["suites"])
    root = Path(tempfile.mkdtemp()) / "store"
    store = RunStore(root)
    jobs = []
    for task in TASKS:
        variants = task.variants("smoke")
        for v in variants:
            store.save_run(train_run(task, v))
        jobs.append((task, variants))

    def one_pass(isolated: bool) -> float:
        shutil.rmtree(root / "values", ignore_errors=True)
        start = time.perf_counter()
        for task, variants in jobs:
            if isolated:
                with IsolatedEvaluator(task) as ev:
                    for v in variants:
                        ev.evaluate(store.load_run(v, task), measures)
            else:
                for v in variants:
                    evaluate_run(task, store.load_run(v, task), measures)
        return time.perf_counter() - start

    first_isolated = one_pass(True)  # starts the fork server
    times: dict[str, list[float]] = {"in_process": [], "isolated": []}
    for _ in range(args.reps):
        times["in_process"].append(one_pass(False))
        times["isolated"].append(one_pass(True))
    best = {k: min(v) for k, v in times.items()}
    print(json.dumps({
        "jobs": len(jobs), "runs": sum(len(v) for _, v in jobs), "measures": len(measures),
        "first_isolated_pass_s (fork server start included)": round(first_isolated, 2),
        "in_process_s": [round(t, 2) for t in times["in_process"]],
        "isolated_s": [round(t, 2) for t in times["isolated"]],
        "overhead_per_job_s (best of each)": round((best["isolated"] - best["in_process"]) / len(jobs), 3),
        "ratio isolated / in_process (best of each)": round(best["isolated"] / best["in_process"], 3),
    }, indent=2))
    shutil.rmtree(root.parent)


if __name__ == "__main__":
    main()
