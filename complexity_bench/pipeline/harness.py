"""``run``: plan the suite, execute jobs, assemble traces, score, write outputs.

Everything expensive is cached in the run store, so an interrupted ``run``
resumes where it stopped and a repeated one only re-scores.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from complexity_bench.errors import UserError
from complexity_bench.pipeline.executors import EXECUTORS, make_executor
from complexity_bench.pipeline.jobs import ENGINES, Job, JobOutcome
from complexity_bench.contracts.measure import COST_TIERS, MEASURES, Measure
from complexity_bench.numerics import reproducibility_note
from complexity_bench.pipeline.out_folder import DEFAULT_OUT, check_replacing
from complexity_bench.pipeline.outputs import assemble, code_state, write_all
from complexity_bench.pipeline.progress import execute_with_progress
from complexity_bench.contracts.plugins import load_plugins
from complexity_bench.report import write_report
from complexity_bench.pipeline.store import RunStore, lock_output
from complexity_bench.contracts.task import SUITES, TASKS, Task, Variant

MAX_COHORT = 64  # runs per job: bounds a job's memory and what a kill can lose
MAX_WORKERS = 1024  # worker processes: a bound far above any machine's cores, below the OS's own limits


@dataclass
class RunConfig:
    tasks: str = "all"
    measures: str = "all"
    suite: str = "default"
    out: Path = DEFAULT_OUT  # untracked; the committed results/ only when named
    workers: int = 0  # 0: one per core
    plugins: tuple[str, ...] = ()
    executor: str = "local"
    ray_address: str | None = None
    engine: str = "auto"
    device: str = "cpu"
    figures: bool = True
    progress: bool = True
    bootstrap: int = 1000
    replace: bool = False  # may replace a results folder of another suite / tasks / measures

    def resolved_workers(self) -> int:
        import os

        n = self.workers or len(os.sched_getaffinity(0))
        if n < 1:
            raise UserError(f"--workers must be >= 1, got {self.workers}")
        if n > MAX_WORKERS:
            raise UserError(f"--workers {self.workers} is more processes than any machine runs usefully "
                            f"(each holds its own torch); use at most {MAX_WORKERS}, or 0 for one per core")
        return n


@dataclass
class Plan:
    tasks: list[Task]
    measures: list[Measure]
    variants: dict[str, list[Variant]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # left out of "all" by cost tier

    @property
    def n_runs(self) -> int:
        return sum(len(v) for v in self.variants.values())


def make_plan(cfg: RunConfig) -> Plan:
    """Resolve names and build every run of the suite; all user errors surface here, before training."""
    if cfg.suite not in SUITES:
        raise UserError(f"unknown suite {cfg.suite!r}; choose one of {', '.join(SUITES)}")
    if cfg.executor not in EXECUTORS:
        raise UserError(f"unknown executor {cfg.executor!r}; choose {' or '.join(EXECUTORS)}")
    if cfg.engine not in ENGINES:
        raise UserError(f"unknown engine {cfg.engine!r}; choose {', '.join(ENGINES)}")
    check_device(cfg.device)
    load_plugins(cfg.plugins)
    tasks = TASKS.select(cfg.tasks)
    affordable = lambda m: cfg.suite in COST_TIERS[m.info.cost]["suites"]  # noqa: E731
    measures = MEASURES.select(cfg.measures, keep=affordable)
    plan = Plan(tasks, measures)
    if cfg.measures.strip() == "all":
        plan.skipped = [m.name for m in MEASURES if not affordable(m)]
    for task in tasks:
        variants = task.variants(cfg.suite)
        if variants:
            plan.variants[task.name] = variants
    if not plan.variants:
        raise UserError(f"suite {cfg.suite!r} has no runs for tasks {cfg.tasks!r}; try --suite smoke or other --tasks")
    return plan


def check_device(device: str) -> None:
    """``cpu``, or ``cuda`` / ``cuda:N`` when torch sees that CUDA device; else a UserError
    (raised while planning, before anything trains or is written)."""
    import torch

    kind, _, index = device.partition(":")
    if kind == "cpu" and not index:
        return
    if kind != "cuda" or (index and not index.isdigit()):
        raise UserError(f"unknown device {device!r}; choose cpu or cuda (cuda:N for the N-th GPU)")
    if not torch.cuda.is_available():
        raise UserError(f"--device {device}: this torch ({torch.__version__}) sees no CUDA device; use --device cpu")
    if index and int(index) >= torch.cuda.device_count():
        raise UserError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) here")


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
              f"({', '.join(plan.skipped)}); name them or use --suite full", file=sys.stderr)
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
