"""Every measure's time on check_measure's toy model against its cost tier's expected time.

``check_measure`` only notes the time (a busy machine must not fail a measure's
conformance); here, run on purpose (see conftest.py), the tier is checked.
"""

from __future__ import annotations

import pytest

from complexity_bench.contracts.measure import COST_TIERS, MEASURES, compute_measure
from complexity_bench.testing import toy_context

pytestmark = pytest.mark.benchmark


@pytest.mark.parametrize("name", MEASURES.names())
def test_measure_within_its_cost_tier_on_the_toy_model(benchmark, name):
    m = MEASURES.get(name)
    model, ctx = toy_context()
    benchmark.pedantic(lambda: compute_measure(m, model, ctx), rounds=3, iterations=1)
    limit = COST_TIERS[m.info.cost]["toy_seconds"]
    assert benchmark.stats.stats.min <= limit, f"{name}: {benchmark.stats.stats.min:.2f} s > {limit} s ({m.info.cost})"
