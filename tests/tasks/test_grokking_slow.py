"""Slow checks that the headline recipes really grok (minutes of CPU; run with -m slow)."""

from __future__ import annotations

import pytest
import torch

from complexity_bench.contracts.task import get_task
from complexity_bench.engine.training import train_run


@pytest.mark.slow
def test_modadd_default_variant_groks_thousands_of_steps_after_memorising():
    torch.set_num_threads(1)
    task = get_task("modadd-mlp")
    result = train_run(task, task.variant({}, seed=0))
    e = result.events
    assert e.t_mem is not None and e.t_mem <= 500, "train accuracy saturates early"
    assert e.t_gen is not None and e.t_gen - e.t_mem >= 2_000, "test accuracy jumps thousands of steps later"
    m = result.metrics
    at_mem = m["step"].index(e.t_mem)
    assert m["test_acc"][at_mem] < 0.5, "memorised, not yet generalised"


@pytest.mark.slow
@pytest.mark.parametrize("name,overrides", [("modadd-mlp", {"weight_decay": 0.0, "steps": 6_000}),
                                            ("sparse-parity", {"weight_decay": 0.0, "steps": 6_000})])
def test_weight_decay_zero_controls_never_generalise(name, overrides):
    torch.set_num_threads(1)
    task = get_task(name)
    result = train_run(task, task.variant(overrides, seed=0))
    assert result.events.memorised and result.events.censored


@pytest.mark.slow
def test_teacher_student_small_init_generalises_without_delay():
    task = get_task("teacher-student")
    e = train_run(task, task.variant({"init_scale": 0.5}, seed=0)).events
    assert e.t_gen is not None and e.t_gen <= 2 * max(e.t_mem, 1)
