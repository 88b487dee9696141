"""The conformance suite, run over every registered measure, and shown to catch bad plugins."""

import math

import pytest
import torch

from complexity_bench import MEASURES
from complexity_bench.measure import FunctionMeasure, MeasureInfo
from complexity_bench.testing import check_measure


@pytest.mark.parametrize("name", MEASURES.names())
def test_every_registered_measure_conforms(name):
    report = check_measure(name)
    assert report.ok


def _global_rng(model, ctx):
    return float(torch.rand(()))


def _seeded(model, ctx):
    return float(torch.rand((), generator=ctx.generator))


def _fm(fn, **kw):
    return FunctionMeasure(fn, MeasureInfo(name="bad", version="1", direction=1, **kw))


def test_catches_non_finite():
    report = check_measure(_fm(lambda m, c: math.nan), raise_on_failure=False)
    assert any("finite" in f for f in report.failed)


def test_catches_mutation():
    def mutate(model, ctx):
        with torch.no_grad():
            next(model.parameters()).add_(1.0)
        return 0.0

    report = check_measure(_fm(mutate), raise_on_failure=False)
    assert any("model unchanged" in f for f in report.failed)


def test_catches_nondeterminism():
    report = check_measure(_fm(_global_rng), raise_on_failure=False)
    assert any("deterministic" in f for f in report.failed)


def test_seeded_generator_is_deterministic():
    report = check_measure(_fm(_seeded, stochastic=True))
    assert report.ok


def test_catches_exceptions_and_raises_by_default():
    def boom(model, ctx):
        raise RuntimeError("kaput")

    with pytest.raises(AssertionError, match="RuntimeError: kaput"):
        check_measure(_fm(boom))


def test_every_registered_measure_says_where_its_direction_comes_from():
    """Directions are declared before data, with their source (docs/protocol.md, "Directions")."""
    from complexity_bench.measure import MEASURES

    missing = [m.name for m in MEASURES if not m.info.direction_source.strip()]
    assert missing == []


def test_a_plugin_without_a_direction_source_gets_a_note():
    from complexity_bench.measure import FunctionMeasure, MeasureInfo
    from complexity_bench.testing import check_measure

    m = FunctionMeasure(lambda model, ctx: 1.0 + float(next(model.parameters()).sum()),
                        MeasureInfo(name="no-source", version="1", direction=1))
    report = check_measure(m, raise_on_failure=False)
    assert any("direction_source" in n for n in report.notes)
