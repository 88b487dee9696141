"""The transformer's key and value projections from distinct rows (tasks/_distinct_rows.py)
give bit for bit what the plain product gives: outputs, gradients, and whole training runs
of the loop and the vmap cohort engine (metrics and every checkpoint)."""

from __future__ import annotations

import pytest
import torch

import complexity_bench.tasks._distinct_rows as distinct_rows_module
from complexity_bench.bench import truncated
from complexity_bench.contracts.task import get_task
from complexity_bench.engine.training import train_run
from complexity_bench.engine.vmap_cohort import train_vmap_cohort
from complexity_bench.numerics import mkl_cbwr

pytestmark = pytest.mark.skipif((mkl_cbwr() or "").split(",")[0] != "COMPATIBLE",
                                reason="the distinct-row product is used on MKL's compatible path only")


def _counting_projections(monkeypatch) -> list[int]:
    calls: list[int] = []
    project = distinct_rows_module.project
    monkeypatch.setattr(distinct_rows_module, "project", lambda *a: calls.append(1) or project(*a))
    return calls


@pytest.mark.parametrize("tail", [0, 1, 2, 3])
def test_projection_and_its_gradients_equal_the_plain_product(tail):
    torch.manual_seed(tail)
    table = torch.randn(30, 128)
    rows = table[torch.randint(0, 30, (600 + tail,))].requires_grad_()
    weight = (torch.randn(128, 128) / 11).requires_grad_()
    found = distinct_rows_module.distinct_rows(rows)
    assert found is not None and len(found[1]) <= 30
    assert distinct_rows_module.applies(rows, weight) and distinct_rows_module.exact_here(rows, weight, found)
    grad_out = torch.randn(600 + tail, 128)

    plain = rows.mm(weight.t())
    plain.backward(grad_out)
    expected = (plain.detach(), rows.grad.clone(), weight.grad.clone())
    rows.grad = weight.grad = None
    got = distinct_rows_module.project(rows, weight, found)
    got.backward(grad_out)
    assert torch.equal(got.detach(), expected[0])
    assert torch.equal(rows.grad, expected[1]) and torch.equal(weight.grad, expected[2])


def test_rows_that_do_not_repeat_are_left_to_the_plain_product():
    assert distinct_rows_module.distinct_rows(torch.randn(64, 16)) is None


def test_training_runs_are_bit_identical(monkeypatch):
    """The loop and the vmap cohort train the same runs to the same metrics and
    checkpoints, bit for bit, with and without the distinct-row product."""
    task = get_task("modadd-transformer")
    short = truncated(task, 6)
    variants = [task.variant({"weight_decay": 0.0}, seed=0), task.variant({"weight_decay": 1.0}, seed=1)]
    applies = distinct_rows_module.applies

    def train(on: bool):
        monkeypatch.setattr(distinct_rows_module, "applies", applies if on else (lambda *a: False))
        return [train_run(short, variants[0]), *train_vmap_cohort(short, variants)]

    plain = train(False)
    calls = _counting_projections(monkeypatch)
    fast = train(True)
    assert calls  # the distinct-row product did run
    for a, b in zip(plain, fast):
        assert a.metrics == b.metrics
        assert sorted(a.checkpoints) == sorted(b.checkpoints)
        for step, state in a.checkpoints.items():
            assert all(torch.equal(state[k], b.checkpoints[step][k]) for k in state), step


def test_measures_see_the_plain_model(monkeypatch):
    """Measures evaluate the model in eval mode and through torch.func: the plain product."""
    calls = _counting_projections(monkeypatch)
    task = get_task("modadd-transformer")
    params = task.resolve({})
    model, data = task.make_model(params, 0), task.make_data(params, 0)
    params_of = {k: v.detach() for k, v in model.named_parameters()}
    torch.func.vmap(lambda x: torch.func.functional_call(model, params_of, (x,)))(data.x_train[:8].unsqueeze(1))
    model.eval()
    model(data.x_train)
    assert not calls
    model.train()
    model(data.x_train)
    assert calls
