"""Measure isolation: failures become recorded reasons, never crashes."""

import math

import torch

from complexity_bench.pipeline.evaluate import evaluate_run
from complexity_bench.contracts.measure import FunctionMeasure, MeasureInfo
from complexity_bench.contracts.task import get_task


def _m(name, fn, **kw):
    return FunctionMeasure(fn, MeasureInfo(name=name, version="1", direction=1, **kw))


def _boom(model, ctx):
    raise ValueError("no good")


def _mutate(model, ctx):
    with torch.no_grad():
        next(model.parameters()).mul_(0)
    return 1.0


def _first_weight(model, ctx):
    return float(next(model.parameters()).detach().flatten()[0])


def test_failures_are_isolated_and_recorded(modadd_smoke_run):
    task, result = get_task("modadd-mlp"), modadd_smoke_run
    measures = [_m("boom", _boom), _m("nan", lambda m, c: math.nan), _m("mutate", _mutate),
                _m("first", _first_weight), _m("dict", lambda m, c: {"a": 1.0, "b": math.inf})]
    out = evaluate_run(task, result, measures)
    steps = sorted(result.checkpoints)
    assert all(r["error"] == "ValueError: no good" for r in out["boom"]) and len(out["boom"]) == len(steps)
    assert all(r["error"] == "returned nan" for r in out["nan"])
    assert all(r["error"].startswith("mutated the model") and math.isnan(r["value"]) for r in out["mutate"])
    # the mutation was undone: the next measure sees the stored weights
    expected = [float(next(iter(result.checkpoints[s].values())).flatten()[0]) for s in steps]
    assert [r["value"] for r in out["first"]] == expected
    assert {r["measure"] for r in out["dict"]} == {"dict/a", "dict/b"}
    assert all(r["error"] == "returned inf" for r in out["dict"] if r["measure"] == "dict/b")


def test_not_applicable_measure_gets_no_rows(modadd_smoke_run):
    task, result = get_task("modadd-mlp"), modadd_smoke_run  # SiLU: not piecewise linear
    out = evaluate_run(task, result, [_m("pl", lambda m, c: 1.0, applies_to="piecewise_linear")])
    assert out["pl"] == []


def test_a_measure_gets_only_the_inputs_it_declares(modadd_smoke_run):
    """needs drives the evaluator: an undeclared input is withheld, and reading it is a recorded reason."""
    task, result = get_task("modadd-mlp"), modadd_smoke_run
    reads_data = lambda model, ctx: float(model(ctx.probe_x).mean())  # noqa: E731
    out = evaluate_run(task, result, [_m("undeclared", reads_data), _m("declared", reads_data, needs=("data",))])
    assert out["undeclared"] and all("needs lack 'data'" in r["error"] and math.isnan(r["value"])
                                     for r in out["undeclared"])
    assert all(r["error"] == "" and math.isfinite(r["value"]) for r in out["declared"])
