"""Task metadata is validated when a task registers, as a measure's is."""

from __future__ import annotations

import pytest
import torch

from complexity_bench.errors import UserError
from complexity_bench.contracts.measure import APPLIES_TO
from complexity_bench.contracts.task import TASK_PROPERTIES, TASKS, Task, metadata_problems, register_task


@pytest.mark.parametrize("name", TASKS.names())
def test_every_registered_task_has_valid_metadata(name):
    assert metadata_problems(TASKS.get(name)) == []


def test_every_applies_to_rule_is_a_task_property():
    assert APPLIES_TO - {"any"} <= TASK_PROPERTIES


class _Valid(Task):
    name = "valid-toy"
    defaults = {"train_frac": 0.5, "weight_decay": 0.0, "init_scale": 1.0}


def test_a_valid_task_registers_and_the_scope_undoes_it():
    with TASKS.scope():
        register_task(_Valid)
        assert "valid-toy" in TASKS
    assert "valid-toy" not in TASKS


def test_a_bad_task_is_refused_with_one_message_naming_every_problem():
    class Bad(Task):
        name = "bad task/1"
        version = ""
        loss_kind = "cross-entropy"
        threshold = 1.5
        probe_size = 0
        properties = frozenset({"classification", "linear"})
        axes = ("train_frac", "depth")
        defaults = {"train_frac": 0.5}

    with TASKS.scope():
        with pytest.raises(UserError) as err:
            register_task(Bad)
        assert "bad task/1" not in TASKS.snapshot()
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("invalid metadata for task 'bad task/1'")
    for phrase in ("name 'bad task/1'", "version ''", "loss_kind 'cross-entropy'", "threshold must be",
                   "probe_size must be", "axes ['depth']", "properties ['linear']"):
        assert phrase in msg, phrase


@pytest.mark.parametrize("field, value", [("threshold", 0.0), ("threshold", True), ("probe_size", 2.5),
                                          ("version", "1/2")])
def test_each_bad_value_alone_is_refused(field, value):
    bad = type("OneBad", (_Valid,), {field: value})
    with TASKS.scope(), pytest.raises(UserError, match=field):
        register_task(bad)


def test_an_unknown_loss_kind_is_fine_when_the_task_defines_its_loss_and_accuracy():
    class OwnLoss(_Valid):
        name = "own-loss-toy"
        loss_kind = "label_smoothed_ce"

        def loss(self, outputs, targets):
            return torch.nn.functional.cross_entropy(outputs, targets, label_smoothing=0.1)

        def correct(self, outputs, targets):
            return outputs.argmax(-1) == targets

    with TASKS.scope():
        register_task(OwnLoss)
        with pytest.raises(UserError, match=r"loss_kind 'x'.*override loss\(\) and correct\(\)"):
            register_task(type("LossOnly", (_Valid,), {"name": "loss-only", "loss_kind": "x", "loss": OwnLoss.loss}))
