"""Metadata and contract checks run over every registered task (MTEB-style)."""

from __future__ import annotations

import re

import pytest
import torch

from complexity_bench.errors import UserError
from complexity_bench.contracts.task import SUITES, TASKS, Task, TaskData

TASK_NAMES = TASKS.names()


@pytest.fixture(params=TASK_NAMES)
def task(request) -> Task:
    return TASKS.get(request.param)


def test_the_required_tasks_are_registered():
    required = {"modadd-mlp", "s4-mlp", "xor-mlp", "modadd-relu", "s4-relu", "xor-relu",
                "sparse-parity", "teacher-student"}
    assert required <= set(TASK_NAMES)


def test_metadata(task: Task):
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", task.name)
    assert 0 < task.threshold <= 1
    assert isinstance(task.probe_size, int) and task.probe_size > 0
    assert task.family and task.description and task.reference
    assert task.loss_kind in ("cross_entropy", "mse", "hinge")
    assert task.axes and set(task.axes) <= set(task.defaults), "every variant axis must be a parameter"
    assert ("piecewise_linear" in task.properties) == task.make_model(task.resolve({}), 0).piecewise_linear
    desc = task.describe()
    assert desc["name"] == task.name and desc["probe_size"] == task.probe_size


def test_grids_resolve_and_smoke_is_small(task: Task):
    assert task.grid("smoke"), "every task runs in the smoke suite"
    for suite in SUITES:
        variants = task.variants(suite)
        assert len({v.run_id for v in variants}) == len(variants), f"duplicate variants in {suite}"
        for v in variants:
            task.resolve(dict(v.params))
    smoke = task.variants("smoke")
    assert len(smoke) <= 2 and all(v.param_dict["steps"] <= 1_000 for v in smoke)
    assert task.grid("full") or task.grid("operations") or task.grid("gpu"), "a task runs in some suite"


def test_default_grid_sweeps_declared_axes(task: Task):
    grid = task.grid("default")
    for overrides in grid:
        assert set(overrides) <= set(task.defaults)
    if grid:
        assert len(task.seeds("default")) >= 3, "seed spread is material: >= 3 seeds per setting"


def test_data_deterministic_and_probe_fixed(task: Task):
    params = task.resolve({})
    d0, d0b, d1 = task.make_data(params, 0), task.make_data(params, 0), task.make_data(params, 1)
    for field in ("x", "y", "train_idx", "test_idx", "probe_idx"):
        assert torch.equal(getattr(d0, field), getattr(d0b, field)), field
    assert len(d0.probe_idx) == len(d1.probe_idx) == task.probe_size
    # the probe is the same inputs in every run, so a measure value means the same thing across runs
    assert torch.equal(d0.probe_x, d1.probe_x)
    assert not torch.equal(d0.x_train, d1.x_train), "the run seed must change the training set"
    assert not set(d0.train_idx.tolist()) & set(d0.test_idx.tolist())


def test_model_shapes_and_seeding(task: Task):
    params = task.resolve({})
    data: TaskData = task.make_data(params, 0)
    before = torch.random.get_rng_state()
    model = task.make_model(params, 0)
    assert torch.equal(before, torch.random.get_rng_state()), "make_model must not move the global RNG"
    out = model(data.x[:7])
    assert out.shape[0] == 7 and torch.isfinite(out).all()
    if "classification" in task.properties:
        assert data.y.dtype == torch.long and task.loss_kind == "cross_entropy"
    if data.y.dtype == torch.long:  # class labels: one output per class
        assert out.shape[1] > int(data.y.max())
    elif task.loss_kind == "mse":
        assert out.shape == data.y[:7].shape
    elif task.loss_kind == "hinge":
        assert out.shape == (7, 1) and set(data.y.unique().tolist()) <= {-1.0, 1.0}
    # the hidden layer LMN measures from, and the tail that maps it to the outputs
    assert model.input_stage < model.hidden_stage < len(model.stages)
    h = model.stage_outputs(data.x[:7])[model.hidden_stage - 1]
    assert torch.allclose(model.forward_from(h, model.hidden_stage), out, atol=1e-6)
    again = task.make_model(params, 0)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))


def test_init_scale_multiplies_every_parameter(task: Task):
    p1 = task.resolve({})
    p3 = task.resolve({"init_scale": 3 * p1["init_scale"]})
    m1, m3 = task.make_model(p1, 5), task.make_model(p3, 5)
    for a, b in zip(m1.parameters(), m3.parameters()):
        assert torch.allclose(3 * a, b)


@pytest.mark.parametrize("bad", [{"weight_decay": -0.1}, {"init_scale": 0.0}, {"lr": -1.0}, {"steps": 0},
                                 {"weight_decay": "lots"}, {"no_such_knob": 1}, {"stop_factor": 0.5},
                                 {"optimizer": "adam"}])
def test_bad_params_are_one_line_user_errors(task: Task, bad):
    with pytest.raises(UserError) as info:
        task.resolve(bad)
    assert "\n" not in str(info.value) and task.name in str(info.value)


def test_unknown_suite_and_task_are_user_errors():
    with pytest.raises(UserError, match="suite"):
        TASKS.get("modadd-mlp").variants("huge")
    with pytest.raises(UserError, match="did you mean"):
        TASKS.get("modad-mlp")
