"""The plan of a suite: what ``run`` was asked for (``RunConfig``) and every run it
implies (``Plan``). All user errors in a configuration surface in :func:`make_plan`,
before anything trains or is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from complexity_bench.pipeline.out_folder import DEFAULT_OUT
from complexity_bench.contracts.measure import COST_TIERS, MEASURES, Measure
from complexity_bench.contracts.plugins import load_plugins
from complexity_bench.contracts.task import SUITES, TASKS, Task, Variant
from complexity_bench.engine.select import ENGINES
from complexity_bench.errors import UserError
from complexity_bench.pipeline.executors import EXECUTORS
from complexity_bench.scoring.config import DEFAULT_N_BOOT

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
    bootstrap: int = DEFAULT_N_BOOT
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
