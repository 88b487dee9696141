"""A short train_run on each task's smoke variant finishes and records its metrics."""

from __future__ import annotations

import math

import pytest
import torch

from complexity_bench.contracts.task import TASKS
from complexity_bench.engine.training import METRIC_COLUMNS, train_run


@pytest.mark.parametrize("name", TASKS.names())
def test_smoke_variant_trains(name):
    torch.set_num_threads(1)
    task = TASKS.get(name)
    variant = task.variants("smoke")[0]
    result = train_run(task, variant)
    m = result.metrics
    steps = variant.param_dict["steps"]
    assert m["step"][0] == 0 and m["step"][-1] <= steps
    assert m["step"] == sorted(set(m["step"]))
    for col in METRIC_COLUMNS:
        assert len(m[col]) == len(m["step"]) and all(math.isfinite(v) for v in m[col])
    assert all(0 <= a <= 1 for a in m["train_acc"] + m["test_acc"])
    assert 0 in result.checkpoints and m["step"][-1] in result.checkpoints
    # the loss went down: the recipe trains (a few hundred steps is enough for that)
    assert m["train_loss"][-1] < m["train_loss"][0]
    assert result.events.budget == steps
