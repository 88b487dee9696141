"""The checkpoint at exactly T_mem (docs/protocol.md, "Checkpoints").

Every measure is judged at the memorisation step itself, so the engines store the
weights at T_mem even though T_mem is only known a few evaluations later. These
tests compare with brute force: the event from ``first_sustained`` on the whole
curve, and the weights of a run that stores a checkpoint at every evaluation.
"""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from complexity_bench.pipeline.evaluate import evaluate_run
from complexity_bench.contracts.events import first_sustained
from complexity_bench.contracts.measure import FunctionMeasure, MeasureInfo
from complexity_bench.contracts.task import get_task
from complexity_bench.engine.training import MemorisationCheckpoint, train_run

Q = 0.99


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([0.5, 0.98, 0.99, 1.0]), min_size=1, max_size=30))
def test_snapshot_is_taken_at_the_event(accs):
    """Fed one evaluation at a time, it hands out the weights of step T_mem exactly once,
    at the evaluation where the full curve first shows the event."""
    steps = [10 * i for i in range(len(accs))]
    keeper = MemorisationCheckpoint(Q)
    metrics = {"step": [], "train_acc": []}
    handed = []
    for k, (s, a) in enumerate(zip(steps, accs)):
        metrics["step"].append(s)
        metrics["train_acc"].append(a)
        found = keeper.observe(metrics, lambda: {"w": torch.tensor(float(s))})  # "weights" = the step they are from
        if found is not None:
            handed.append((k, found[0], int(found[1]["w"])))
    t_mem = first_sustained(steps, accs, Q)
    if t_mem is None:
        assert handed == []
    else:
        known_at = next(k for k in range(len(accs)) if first_sustained(steps[:k + 1], accs[:k + 1], Q) is not None)
        assert handed == [(known_at, t_mem, t_mem)]


def test_loop_stores_the_weights_at_t_mem(modadd_smoke_run):
    """Same weights as a run that keeps a checkpoint at every evaluation (brute force)."""
    task = get_task("modadd-mlp")
    variant = task.variant({"steps": 300})
    run = modadd_smoke_run
    assert run.variant == variant  # the smoke run is this 300-step run
    assert run.events.t_mem is not None and run.events.t_mem not in task.checkpoint_steps(300), \
        "the test needs a T_mem that the regular schedule does not store"

    class EveryEvaluation(type(task)):
        def checkpoint_steps(self, steps):
            return self.eval_steps(steps)

    dense = train_run(EveryEvaluation(), variant)
    assert dense.events == run.events
    for name, w in dense.checkpoints[run.events.t_mem].items():
        assert torch.equal(run.checkpoints[run.events.t_mem][name], w), name


def _first_weight(model, ctx):
    return float(next(model.parameters()).detach().flatten()[0])


def test_every_cost_tier_is_evaluated_on_the_same_checkpoints(modadd_smoke_run):
    """One measure registered twice, once cheap and once moderate: identical rows
    (before, moderate measures skipped every second checkpoint)."""
    task = get_task("modadd-mlp")
    run = modadd_smoke_run
    twins = [FunctionMeasure(_first_weight, MeasureInfo(name=f"w0-{cost}", version="1", direction=1, cost=cost))
             for cost in ("cheap", "moderate", "expensive")]
    out = evaluate_run(task, run, twins)
    rows = [[(r["step"], r["value"]) for r in out[m.name]] for m in twins]
    assert rows[0] == rows[1] == rows[2]
    assert [s for s, _ in rows[0]] == sorted(run.checkpoints)
    assert run.events.t_mem in [s for s, _ in rows[0]]
