"""The per-checkpoint cost table behind bench's measure_seconds, and the --measures all growth estimate."""

import pytest

from complexity_bench.contracts.measure import MEASURES
from complexity_bench.measure_costs import cost_growth, measure_seconds


def test_growth_counts_checkpoints_times_seconds_of_the_suites_tiers():
    cheap = [m.name for m in MEASURES if m.info.cost == "cheap"][:2]
    expensive = next(m.name for m in MEASURES if m.info.cost == "expensive")
    seconds = {"a": {"seconds": {cheap[0]: 0.5, cheap[1]: 0.25, expensive: 9.0}},
               "b": {"seconds": {cheap[0]: 1.0, cheap[1]: "ValueError: no", expensive: 9.0}}}
    out = cost_growth(seconds, {"a": 10, "b": 4}, added=[cheap[1], expensive])
    assert out["seconds_before"] == pytest.approx(10 * 0.5 + 4 * 1.0)  # the expensive tier is not in "default"
    assert out["seconds_after"] == pytest.approx(10 * 0.75 + 4 * 1.0)
    assert out["growth"] == pytest.approx(11.5 / 9.0)


@pytest.mark.slow  # ~20 cheap measures timed twice: 2-12 s; the quick bench (tests/test_bench.py) runs this path too
def test_measure_seconds_times_every_applicable_measure_of_the_tiers_asked():
    out = measure_seconds(train_steps=3, repeats=1, tasks=["teacher-student"], tiers=("cheap",))
    row = out["teacher-student"]
    assert row["parameters"] > 0 and row["step"] == 3
    assert "l2" in row["seconds"] and "circuit-efficiency" not in row["seconds"]  # no margin on regression
    assert all(MEASURES.get(n).info.cost == "cheap" for n in row["seconds"])
    assert all(isinstance(s, float) and s >= 0 for s in row["seconds"].values()), row["seconds"]


def test_each_timed_call_pays_the_work_measures_share(monkeypatch):
    """linear-regions and activation-pattern-changes share one region walk per checkpoint
    in the harness; timed one by one, every call (untimed and timed) walks on its own, so
    neither measure's time is the other's cached result."""
    import complexity_bench.measures.linear_regions as regions_module
    from complexity_bench.measure_costs import time_measures
    from complexity_bench.testing import toy_context

    walks = []
    walk = regions_module.count_regions_batch
    monkeypatch.setattr(regions_module, "count_regions_batch", lambda *a, **k: walks.append(1) or walk(*a, **k))
    model, ctx = toy_context()
    out = time_measures(model, ctx, ["activation-pattern-changes", "linear-regions"], repeats=2)
    assert all(isinstance(s, float) for s in out.values()), out
    assert len(walks) == 2 * 3  # per measure: one untimed call and two timed ones
