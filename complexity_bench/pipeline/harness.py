"""``run``: plan the suite (plan.py), execute jobs, assemble traces, score, write outputs.

Everything expensive is cached in the run store, so an interrupted ``run``
resumes where it stopped and a repeated one only re-scores.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

from complexity_bench.numerics import reproducibility_note
from complexity_bench.pipeline.executors import make_executor
from complexity_bench.pipeline.out_folder import check_replacing
from complexity_bench.pipeline.jobs import Job, JobOutcome
from complexity_bench.pipeline.outputs import assemble, code_state, write_all
from complexity_bench.pipeline.plan import Plan, RunConfig, make_plan
from complexity_bench.pipeline.progress import execute_with_progress
from complexity_bench.report import write_report
from complexity_bench.pipeline.store import RunStore, lock_output

MAX_COHORT = 64  # runs per job: bounds a job's memory and what a kill can lose


def make_jobs(plan: Plan, store_root: Path, workers: int, engine: str, device: str = "cpu") -> list[Job]:
    """Split each task's runs into about ``workers`` similar jobs (round-robin), longest first."""
    names = tuple(m.name for m in plan.measures)
    jobs = []
    for task_name, variants in plan.variants.items():
        n_jobs = max(workers, math.ceil(len(variants) / MAX_COHORT)) if len(variants) > 1 else 1
        n_jobs = min(n_jobs, len(variants))
        for k in range(n_jobs):
            chunk = tuple(variants[k::n_jobs])
            jobs.append(Job(task_name, chunk, names, str(store_root), engine, device))
    return sorted(jobs, key=lambda j: -sum(v.param_dict.get("steps", 0) for v in j.variants))


def run(cfg: RunConfig) -> dict:
    """The ``run`` command. Returns the manifest."""
    started = time.time()
    code = code_state()
    plan = make_plan(cfg)
    if plan.skipped:
        print(f"note: --measures all leaves out expensive measures in the {cfg.suite} suite "
              f"({', '.join(plan.skipped)}); name them to run them", file=sys.stderr)
    note = reproducibility_note()
    if note:
        print(note, file=sys.stderr)
    workers = cfg.resolved_workers()
    out = Path(cfg.out)
    with lock_output(out):
        check_replacing(out, plan, cfg.suite, cfg.replace)
        store = RunStore(out / "store")
        jobs = make_jobs(plan, store.root, workers, cfg.engine, cfg.device)
        executor = make_executor(cfg.executor, workers, tuple(cfg.plugins), cfg.ray_address)
        outcomes = _execute(executor, jobs, plan.n_runs, cfg.progress)
        frames = assemble(plan, store)
        manifest = write_all(out, frames, plan, cfg, outcomes, wall_seconds=time.time() - started, code=code)
        write_report(out)
    return manifest


def _execute(executor, jobs: list[Job], total_runs: int, progress: bool) -> list[JobOutcome]:
    return list(execute_with_progress(executor, jobs, total_runs, progress))  # progress.py: what is shown
