"""A run's events come from the task it was trained or loaded with, not from a registry look-up."""

from __future__ import annotations

from complexity_bench.contracts.events import first_sustained
from complexity_bench.pipeline.store import RunStore
from complexity_bench.contracts.task import TASKS
from complexity_bench.testing import ToyModularAddition
from complexity_bench.engine.training import train_run


class LenientToy(ToyModularAddition):
    threshold = 0.5  # same name, a lower q: its events come earlier (or equal)


def test_events_use_the_given_tasks_threshold_through_training_and_the_store(tmp_path):
    strict, lenient = ToyModularAddition(), LenientToy()
    assert strict.name not in TASKS  # never registered: nothing to look up by name
    variant = strict.variant({"steps": 60})
    runs = {task.threshold: train_run(task, variant) for task in (strict, lenient)}
    store = RunStore(tmp_path)
    for q, run in runs.items():
        m = run.metrics
        assert run.events.t_mem == first_sustained(m["step"], m["train_acc"], q)
        assert run.events.t_gen == first_sustained(m["step"], m["test_acc"], q)
        assert run.events.budget == 60
    assert runs[0.5].metrics == runs[0.99].metrics  # the same training; only q differs
    assert runs[0.5].events.t_mem is not None
    assert runs[0.99].events.t_mem is None or runs[0.5].events.t_mem <= runs[0.99].events.t_mem
    store.save_run(runs[0.99])
    assert store.load_run(variant, lenient).events == runs[0.5].events
    assert store.load_run(variant, strict).events == runs[0.99].events
