"""pytest-benchmark timings of the hot paths (docs/performance.md): a loop step, a cohort step (the
hand-written engine, and the generic vmap engine on the transformer), a whole short
cohort vs loop, LMN. See conftest.py for how to run them.

The numbers are for comparing one change to the next on the same machine; the
figures quoted in docs/performance.md come from ``python -m complexity_bench bench``.
"""

from __future__ import annotations

import pytest
import torch

from complexity_bench.bench import bench_variants, cohort_stepper, loop_stepper, truncated
from complexity_bench.engine.cohort import train_cohort
from complexity_bench.contracts.task import TASKS
from complexity_bench.engine.training import train_run
from complexity_bench.engine.vmap_cohort import vmap_stepper

pytestmark = pytest.mark.benchmark
COHORT_RUNS = 8


def _task(name: str):
    TASKS.discover()
    if name not in TASKS.names():
        pytest.skip(f"task {name!r} not registered")
    return TASKS.get(name)


FAMILIES = ["teacher-student", "sparse-parity", "modadd-mlp"]


@pytest.mark.parametrize("name", FAMILIES + ["modadd-transformer"])
def test_loop_step(benchmark, name):
    """One training step of one run (divide the cohort step by COHORT_RUNS to compare)."""
    task = _task(name)
    benchmark(loop_stepper(task, task.variant({}, seed=0)))


@pytest.mark.parametrize("name", FAMILIES)
def test_cohort_step(benchmark, name):
    """One training step of COHORT_RUNS runs in lock-step."""
    benchmark(cohort_stepper(_task(name), COHORT_RUNS))


def test_vmap_cohort_step(benchmark):
    """One training step of COHORT_RUNS transformer runs in lock-step with the generic (vmap)
    engine; divide by COHORT_RUNS and compare with test_loop_step[modadd-transformer]."""
    task = _task("modadd-transformer")
    benchmark(vmap_stepper(task, bench_variants(task, COHORT_RUNS)))


@pytest.mark.parametrize("engine", ["loop", "cohort"])
def test_short_runs_teacher_student(benchmark, engine):
    """COHORT_RUNS whole 200-step runs (evaluations included) of the smallest net."""
    task = _task("teacher-student")
    short, variants = truncated(task, 200), bench_variants(task, COHORT_RUNS)
    if engine == "loop":
        benchmark.pedantic(lambda: [train_run(short, v) for v in variants], rounds=3)
    else:
        benchmark.pedantic(lambda: train_cohort(short, variants), rounds=3)


@pytest.mark.parametrize("n", [241, 961])
def test_lmn_paper_tail(benchmark, n):
    """LMN on a paper-sized tail Linear(100,100)-SiLU-Linear(100,31) at N probe points."""
    lmn = pytest.importorskip("complexity_bench.measures.lmn")
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    f = torch.nn.Sequential(torch.nn.Linear(100, 100), torch.nn.SiLU(), torch.nn.Linear(100, 31))
    x = torch.randn(n, 100, generator=gen)
    benchmark.pedantic(lambda: lmn.linear_mapping_number(f, x), rounds=3 if n < 961 else 1)
