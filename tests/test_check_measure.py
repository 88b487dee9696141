"""The conformance suite, run over every registered measure, and shown to catch bad plugins."""

import math

import pytest
import torch

from complexity_bench import MEASURES
from complexity_bench.contracts.measure import FunctionMeasure, MeasureInfo
from complexity_bench.testing import check_measure, parametrize_with_checks


@parametrize_with_checks(MEASURES.names())
def test_every_registered_measure_conforms(measure, check):
    check(measure)


def _global_rng(model, ctx):
    return float(torch.rand(()))


def _seeded(model, ctx):
    return float(torch.rand((), generator=ctx.generator))


def _mutates_weights(model, ctx):
    with torch.no_grad():
        next(model.parameters()).add_(1.0)
    return 0.0


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
    from complexity_bench.contracts.measure import MEASURES

    built_in = [m for m in MEASURES if type(m).__module__.startswith("complexity_bench.measures")
                or getattr(getattr(m, "fn", None), "__module__", "").startswith("complexity_bench.measures")]
    assert len(built_in) >= 20
    assert [m.name for m in built_in if not m.info.direction_source.strip()] == []


def test_a_plugin_without_a_direction_source_gets_a_note():
    from complexity_bench.contracts.measure import FunctionMeasure, MeasureInfo
    from complexity_bench.testing import check_measure

    m = FunctionMeasure(lambda model, ctx: 1.0 + float(next(model.parameters()).sum()),
                        MeasureInfo(name="no-source", version="1", direction=1))
    report = check_measure(m, raise_on_failure=False)
    assert any("direction_source" in n for n in report.notes)


def _reads_train_data(model, ctx):
    return float(model(ctx.x_train).detach().mean())


def _runs_backward(model, ctx):
    grads = torch.autograd.grad(ctx.task.loss(model(ctx.x_train), ctx.y_train), list(model.parameters()))
    return float(sum(g.abs().sum() for g in grads))


def _reads_init_state(model, ctx):
    return float(sum(v.abs().sum() for v in ctx.init_state.values()))


@pytest.mark.parametrize("fn, needs, missing", [(_reads_train_data, ("weights",), "data"),
                                                (_runs_backward, ("weights", "data"), "gradients"),
                                                (_reads_init_state, (), "weights")])
def test_a_measure_reading_more_than_its_needs_fails_and_passes_once_declared(fn, needs, missing):
    report = check_measure(_fm(fn, needs=needs), raise_on_failure=False)
    assert [f for f in report.failed if f.startswith("reads only what it needs")], report.failed
    assert check_measure(_fm(fn, needs=(*needs, missing))).ok


def test_a_measure_drawing_from_the_generator_must_be_declared_stochastic():
    report = check_measure(_fm(_seeded), raise_on_failure=False)
    assert any(f.startswith("independent of ctx.generator") and "stochastic=True" in f for f in report.failed)


def test_a_stochastic_measure_that_ignores_its_generator_gets_a_note():
    report = check_measure(_fm(lambda model, ctx: 1.0, stochastic=True), raise_on_failure=False)
    assert any("same value with another generator seed" in n for n in report.notes)


def test_time_is_reported_as_a_note_never_a_failure(monkeypatch):
    """A busy CI machine must not fail a measure: the cost tier is metadata, its time a note."""
    from complexity_bench.contracts.measure import COST_TIERS

    monkeypatch.setitem(COST_TIERS["cheap"], "toy_seconds", 0.0)  # every measure is "too slow" now
    report = check_measure(_fm(_reads_train_data, needs=("weights", "data")))
    assert report.ok and report.seconds > 0
    assert any(n.startswith("one compute() took") and "'cheap'" in n for n in report.notes)


def test_a_registered_measure_pickles_without_the_registry():
    """A measure travels by value: unpickling it needs no registry entry under its name."""
    import pickle

    from complexity_bench.contracts.measure import measure

    with MEASURES.scope():
        measure(name="pickled-seeded", version="1", direction=1, stochastic=True)(_seeded)
        blob = pickle.dumps(MEASURES.get("pickled-seeded"))
    assert "pickled-seeded" not in MEASURES
    clone = pickle.loads(blob)
    assert clone.info.name == "pickled-seeded" and clone.fn is _seeded


def test_parametrized_checks_fail_one_by_one_naming_their_check():
    """One pytest case per (measure, check): a measure that mutates the model fails the
    "model unchanged" case alone, and its message names that check."""
    mark = parametrize_with_checks([_fm(_mutates_weights)])
    failed = {}
    for measure, check in mark.args[1]:
        try:
            check(measure)
        except AssertionError as exc:
            failed[check.__name__] = str(exc)
    assert list(failed) == ["check_model_unchanged"]
    assert "FAIL  model unchanged" in failed["check_model_unchanged"]
