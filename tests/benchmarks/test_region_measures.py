"""The two region measures at one checkpoint of a ReLU net, as the harness computes them
(one context per checkpoint: the exact walk is shared, ``MeasureContext.shared``) against
one context per measure (each walks: the harness before the sharing). Compare the two
rows' times; scripts/region_measures_ab.py times the whole change against a git revision
(docs/performance.md, "Measures"). See conftest.py for how to run them.
"""

from __future__ import annotations

import pytest

from complexity_bench.contracts.measure import MEASURES, compute_measure
from complexity_bench.contracts.task import get_task
from complexity_bench.measure_costs import trained_checkpoint

pytestmark = pytest.mark.benchmark
NAMES = ("activation-pattern-changes", "linear-regions")


@pytest.fixture(scope="module")
def relu_checkpoint():
    model, ctx = trained_checkpoint(get_task("modadd-relu"), 300, suite="full")
    ctx.activations(model)  # computed once per checkpoint for every measure: outside the timing
    return model, ctx


@pytest.mark.parametrize("contexts", ["one per checkpoint", "one per measure"])
def test_region_measures_at_one_checkpoint(benchmark, relu_checkpoint, contexts):
    model, ctx = relu_checkpoint
    measures = [MEASURES.get(n) for n in NAMES]

    def both():
        shared = ctx.private_copy()
        return [compute_measure(m, model, shared if contexts == "one per checkpoint" else ctx.private_copy())
                for m in measures]

    values = benchmark.pedantic(both, rounds=5, iterations=1, warmup_rounds=1)
    assert values[0] == values[1]  # on a ReLU net the two measures count the same walk
