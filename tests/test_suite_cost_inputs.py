"""suite_cost_inputs times measures as ``run`` pays them at a checkpoint: a value two
measures share (MeasureContext.shared) is timed once, in the first that computes it, and
every timed call of that measure computes it again."""

from __future__ import annotations

import complexity_bench.measures.linear_regions as regions_module
from complexity_bench.contracts.task import get_task
from complexity_bench.suite_cost_inputs import measure_inputs


def test_a_shared_region_walk_is_timed_in_the_first_measure_only(monkeypatch):
    walks: list[str] = []
    walk = regions_module.count_regions_batch
    monkeypatch.setattr(regions_module, "count_regions_batch", lambda *a, **k: walks.append(1) or walk(*a, **k))
    out = measure_inputs(get_task("xor-relu"), "full", ["activation-pattern-changes", "linear-regions"], 3)
    assert set(out["cpu_seconds"]) == {"activation-pattern-changes", "linear-regions"} and not out["raised"]
    # activation-pattern-changes: its first call and three timed ones each walk;
    # linear-regions finds the first call's walk, as in the harness
    assert len(walks) == 4
