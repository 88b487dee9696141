"""Faults inside a measure: a call past its time limit, a non-numeric return, and
``check-measure`` on plugins that exit, are killed or hang."""

import math
import time

import numpy as np
import pytest
import torch

from complexity_bench.contracts.measure import FunctionMeasure, MeasureInfo
from complexity_bench.cli import main
from complexity_bench.contracts.task import Variant
from complexity_bench.engine.training import METRIC_COLUMNS, RunResult, compute_events
from complexity_bench.errors import UserError
from complexity_bench.pipeline import evaluate
from complexity_bench.pipeline.evaluate import evaluate_run
from complexity_bench.testing import ToyModularAddition

pytestmark = pytest.mark.smoke


def _m(name, fn):
    return FunctionMeasure(fn, MeasureInfo(name=name, version="1", direction=1))


@pytest.fixture(scope="module")
def run():
    """The conformance suite's toy task, with four checkpoints (the weights need not change)."""
    task = ToyModularAddition()
    params = task.resolve({})
    state = task.make_model(params, 0).state_dict()
    steps = [0, 10, 20, 30]
    metrics = {"step": steps, **{c: [0.5] * len(steps) for c in METRIC_COLUMNS}}
    variant = Variant(task.name, tuple(sorted(params.items())), 0, "1")
    return task, RunResult(variant, metrics, {s: state for s in steps}, 0.0, "loop",
                           events=compute_events(task, variant, metrics))


def test_a_measure_past_its_time_limit_is_not_called_again_on_the_run(run):
    """A hang costs its limit once per run, not at every checkpoint; its later checkpoints
    are missing with the reason, and the measure beside it is complete."""
    task, result = run
    calls = []

    def hangs(model, ctx):
        calls.append(ctx.step)
        time.sleep(30)
        return 1.0

    limits = {"cheap": 0.2, "moderate": 0.2, "expensive": 0.2}
    out = evaluate_run(task, result, [_m("hangs", hangs), _m("fine", lambda m, c: 2.0)], call_limits=limits)
    steps = sorted(result.checkpoints)
    assert len(steps) > 2 and calls == [steps[0]]
    rows = out["hangs"]
    assert [r["step"] for r in rows] == steps and all(math.isnan(r["value"]) for r in rows)
    assert rows[0]["error"].startswith("MeasureTimeout: exceeded its")
    assert {r["error"] for r in rows[1:]} == {f"not called: it ran past its 0.2 s time limit at step {steps[0]} "
                                              "of this run"}
    assert [r["value"] for r in out["fine"]] == [2.0] * len(steps)


def test_a_measure_must_return_real_numbers(run):
    """"1.5" is not 1.5: a string, a bool, None or a complex number is refused, with the
    measure named; numbers of any real kind (and one-element tensors) are values; NaN is
    the documented missing value."""
    task, result = run
    returns = {"string": "1.5", "flag": True, "nothing": None, "complex": 1 + 2j,
               "dict-string": {"a": 1.0, "b": "2"},
               "numpy": np.float32(1.5), "tensor": torch.tensor(2.5), "int": 3, "nan": math.nan}
    measures = [_m(name, lambda m, c, v=v: v) for name, v in returns.items()]
    out = {name: rows[0] for name, rows in evaluate_run(task, result, measures).items()}
    for name in ("string", "flag", "nothing", "complex"):
        assert math.isnan(out[name]["value"]) and out[name]["error"].startswith(f"{name} returned "), out[name]
        assert "not a real number" in out[name]["error"]
    assert "'1.5' (str)" in out["string"]["error"]
    rows = {r["measure"]: r for r in evaluate_run(task, result, measures[4:5])["dict-string"] if r["step"] == 0}
    assert rows["dict-string/a"]["value"] == 1.0 and rows["dict-string/b"]["error"].startswith("dict-string/b returned '2'")
    assert [out[n]["value"] for n in ("numpy", "tensor", "int")] == [1.5, 2.5, 3.0]
    assert out["nan"]["error"] == "returned nan"


PLUGIN = """
import os, signal, time
from complexity_bench import measure

@measure(name="test-check-exits", version="1", direction=1, direction_source="a test")
def exits(model, ctx):
    os._exit(3)

@measure(name="test-check-killed", version="1", direction=1, direction_source="a test")
def killed(model, ctx):
    os.kill(os.getpid(), signal.SIGKILL)

@measure(name="test-check-hangs", version="1", direction=1, direction_source="a test")
def hangs(model, ctx):
    time.sleep(3600)

@measure(name="test-check-fine", version="1", direction=1, direction_source="a test")
def fine(model, ctx):
    return 1.0
"""


def test_check_measure_survives_plugins_that_exit_are_killed_or_hang(tmp_path, monkeypatch, capsys):
    """Each failure is one line naming the measure and why; the measures after it are
    still checked; exit status 1 (a failed check), no traceback. Every call limit is 1 s.
    (Where the checks run in the command's own process, os._exit(3) ends pytest itself.)"""
    monkeypatch.setattr(evaluate, "CALL_LIMIT_S", {tier: 1.0 for tier in evaluate.CALL_LIMIT_S})
    plugin = tmp_path / "bad_plugins.py"
    plugin.write_text(PLUGIN)
    assert main(["check-measure", str(plugin)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert "check_measure(test-check-exits): FAILED: the process checking it ended (worker died: exit code 3)" in lines
    assert ("check_measure(test-check-killed): FAILED: the process checking it ended "
            "(worker died: killed by signal 9 (SIGKILL))") in lines
    assert "  FAIL  compute() runs: exceeded its 1 s time limit" in lines
    assert any(line.startswith("check_measure(test-check-fine): OK") for line in lines)


def test_check_measure_on_a_plugin_that_exits_while_loading(tmp_path):
    from complexity_bench.check_isolated import check_isolated

    plugin = tmp_path / "exits_on_import.py"
    plugin.write_text("import os\nos._exit(4)\n")
    with pytest.raises(UserError, match=r"ended while loading it \(worker died: exit code 4\)"):
        check_isolated(str(plugin), is_file=True)
