"""One modadd-transformer training step (the vmap engine, one run) with the key and value
projections from distinct rows (tasks/_distinct_rows.py) and with the plain products.
Compare the two rows' times; ``python scripts/training_costs.py distinct-rows
modadd-transformer`` measures the same by CPU time (docs/performance.md). See conftest.py
for how to run them.
"""

from __future__ import annotations

import pytest

import complexity_bench.tasks._distinct_rows as distinct_rows_module
from complexity_bench.bench import bench_variants
from complexity_bench.contracts.task import get_task
from complexity_bench.engine.vmap_cohort import vmap_stepper

pytestmark = pytest.mark.benchmark


@pytest.mark.parametrize("projection", ["distinct rows", "plain"])
def test_transformer_step(benchmark, monkeypatch, projection):
    if projection == "plain":
        monkeypatch.setattr(distinct_rows_module, "applies", lambda *a: False)
    task = get_task("modadd-transformer")
    step = vmap_stepper(task, bench_variants(task, 1))
    benchmark.pedantic(step, rounds=10, iterations=1, warmup_rounds=2)
