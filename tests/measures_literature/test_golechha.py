"""Golechha 2024's three measures against element-by-element loops, analytic values and scipy's KL."""

import copy
import math

import numpy as np
import pytest
import torch
from scipy.special import rel_entr, softmax
from torch import nn

from complexity_bench.contracts.measure import compute_measure, get_measure
from complexity_bench.contracts.models import StagedModel, mlp_stages
from complexity_bench.contracts.task import get_task
from complexity_bench.measures.golechha import THRESHOLD, absolute_weight_entropy, first_linear, pruned_outputs
from complexity_bench.testing import ToyModularAddition


def _toy_model():
    """The toy task's embedding ReLU MLP, untrained (its init is random enough for these checks)."""
    task = ToyModularAddition()
    return task.make_model(task.resolve({}), 0)


def _mlp(widths, activation="relu", seed=0):
    torch.manual_seed(seed)
    return StagedModel(mlp_stages(widths, activation), input_stage=0, hidden_stage=2).double()


def _inputs(n, d, seed=1):
    return torch.randn(n, d, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def test_activation_sparsity_counts_first_hidden_units_below_tau_one_by_one(make_context):
    model = _mlp([5, 7, 6, 3])
    x = _inputs(40, 5)
    w, b = model.stages[0].weight.detach().numpy(), model.stages[0].bias.detach().numpy()
    below = 0
    for row in x.numpy():
        for k in range(7):
            pre = sum(w[k, j] * row[j] for j in range(5)) + b[k]
            below += max(pre, 0.0) < THRESHOLD
    ctx = make_context("digits-mlp", x, torch.zeros(40, dtype=torch.long))
    value = compute_measure(get_measure("activation-sparsity"), model, ctx)
    assert value == pytest.approx(below / (40 * 7), abs=1e-12)


def test_activation_sparsity_of_a_net_whose_units_are_all_off_or_all_on(make_context):
    model = _mlp([3, 4, 2])
    x = _inputs(10, 3)
    ctx = make_context("digits-mlp", x, torch.zeros(10, dtype=torch.long))
    with torch.no_grad():
        model.stages[0].weight.zero_()
        model.stages[0].bias.fill_(-1.0)  # ReLU(−1) = 0 < τ: every unit inactive
    assert compute_measure(get_measure("activation-sparsity"), model, ctx) == 1.0
    with torch.no_grad():
        model.stages[0].bias.fill_(THRESHOLD)  # exactly τ is not below τ
    assert compute_measure(get_measure("activation-sparsity"), model, ctx) == 0.0


def test_abs_weight_entropy_analytic_and_elementwise():
    c, n = 0.25, 12
    assert absolute_weight_entropy([torch.full((3, 4), -c, dtype=torch.float64)]) == pytest.approx(-n * c * math.log(c), rel=1e-14)
    assert absolute_weight_entropy([torch.eye(4)]) == 0.0  # |w| ∈ {0, 1}: every term is 0
    assert absolute_weight_entropy([torch.full((2, 2), math.e, dtype=torch.float64)]) == pytest.approx(-4 * math.e, rel=1e-14)  # negative


def test_abs_weight_entropy_plugin_sums_linear_and_embedding_weights_not_biases(make_context):
    model = _toy_model()
    ctx = make_context("digits-mlp", torch.zeros(1, 2), torch.zeros(1, dtype=torch.long))
    expected = -math.fsum(abs(v) * math.log(abs(v))
                          for name, p in model.named_parameters() if p.ndim == 2
                          for v in p.detach().double().flatten().tolist() if v != 0)
    assert compute_measure(get_measure("abs-weight-entropy"), model, ctx) == pytest.approx(expected, rel=1e-12)


def test_first_linear_skips_the_embedding():
    model = _toy_model()
    path, layer = first_linear(model)
    assert path == f"stages.{model.input_stage}" and layer is model.stages[model.input_stage]


def test_pruning_zeroes_exactly_a_tenth_of_the_first_layer_and_leaves_the_model_alone():
    model = _mlp([6, 10, 4])  # 60 weights: 6 zeroed
    x = _inputs(8, 6)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    pruned = pruned_outputs(model, x, torch.Generator().manual_seed(3))
    chosen = torch.randperm(60, generator=torch.Generator().manual_seed(3))[:6]
    manual = copy.deepcopy(model)
    with torch.no_grad():
        manual.stages[0].weight.view(-1)[chosen] = 0
    assert int((manual.stages[0].weight == 0).sum()) == 6
    assert torch.allclose(pruned, manual(x), atol=1e-12)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_local_circuit_complexity_is_scipy_kl_of_the_pruned_net(make_context):
    model = _mlp([6, 10, 10, 4], seed=2)
    x = _inputs(30, 6)
    ctx = make_context("digits-mlp", x, torch.zeros(30, dtype=torch.long))
    m = get_measure("local-circuit-complexity")
    value = compute_measure(m, model, ctx)
    # the same draw, computed independently: deep copy, zero the entries, scipy KL per row
    chosen = torch.randperm(60, generator=ctx.for_measure(m.name).generator)[:6]
    manual = copy.deepcopy(model)
    with torch.no_grad():
        manual.stages[0].weight.view(-1)[chosen] = 0
        p = softmax(model(x).numpy(), axis=1)
        q = softmax(manual(x).numpy(), axis=1)
    assert value == pytest.approx(float(np.sum(rel_entr(p, q))), rel=1e-9)
    assert value > 0


def test_local_circuit_complexity_is_zero_when_the_pruned_weights_do_not_matter(make_context):
    model = _mlp([6, 10, 4])
    with torch.no_grad():
        model.stages[2].weight.zero_()  # the output ignores the hidden layer
    x = _inputs(12, 6)
    ctx = make_context("digits-mlp", x, torch.zeros(12, dtype=torch.long))
    assert compute_measure(get_measure("local-circuit-complexity"), model, ctx) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("task,applies", [("digits-mlp", True), ("modadd-mlp", True), ("modadd-transformer", True),
                                          ("teacher-student", False), ("sparse-parity", False)])
def test_local_circuit_complexity_needs_class_scores(task, applies):
    assert get_measure("local-circuit-complexity").applicable(get_task(task)) is applies


def test_activation_sparsity_needs_a_hidden_stage():
    assert not get_measure("activation-sparsity").applicable(get_task("digits-mlp"), nn.Sequential(nn.Linear(2, 2)))
