"""Empirical NTK against per-sample autograd Jacobians; kernel distance and label alignment against numpy."""

import numpy as np
import pytest
import torch
from torch import nn

import complexity_bench.measures.ntk as ntk
from complexity_bench.contracts.measure import get_measure
from complexity_bench.contracts.models import PairEmbedding, StagedModel, mlp_stages


def _autograd_ntk(model, x):
    """K_ij = Σ_c ∇f_c(x_i)·∇f_c(x_j), one torch.autograd.grad call per sample and output."""
    params = list(model.parameters())
    rows = []
    for i in range(len(x)):
        out = model(x[i:i + 1]).reshape(-1)
        rows.append(torch.stack([torch.cat([g.reshape(-1) for g in torch.autograd.grad(out[c], params, retain_graph=True)])
                                 for c in range(len(out))]))
    jac = torch.stack(rows).double()  # (N, C, P)
    return torch.einsum("icp,jcp->ij", jac, jac)


def _embedding_net():
    torch.manual_seed(0)
    return StagedModel([PairEmbedding(5, 3), *mlp_stages([6, 7, 5], "silu")], input_stage=1)


def test_matches_per_sample_autograd_on_an_embedding_net():
    net = _embedding_net()
    x = torch.randint(0, 5, (9, 2), generator=torch.Generator().manual_seed(1))
    expected = _autograd_ntk(net, x)
    assert torch.allclose(ntk.empirical_ntk(net, dict(net.named_parameters()), x), expected, rtol=1e-5, atol=1e-6)


def test_multi_output_tanh_net_matches_autograd():
    torch.manual_seed(2)
    net = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))
    x = torch.randn(11, 4)
    assert torch.allclose(ntk.empirical_ntk(net, dict(net.named_parameters()), x), _autograd_ntk(net, x),
                          rtol=1e-5, atol=1e-6)


def test_two_layer_linear_net_closed_form():
    """f(x) = aᵀ W x: ∂f/∂a = W x, ∂f/∂W = a xᵀ, so K(x, x') = (Wx)·(Wx') + ‖a‖² x·x'."""
    torch.manual_seed(3)
    net = nn.Sequential(nn.Linear(3, 4, bias=False), nn.Linear(4, 1, bias=False)).double()
    x = torch.randn(6, 3, dtype=torch.float64)
    w, a = net[0].weight.detach(), net[1].weight.detach().reshape(-1)
    expected = (x @ w.T) @ (x @ w.T).T + a.dot(a) * x @ x.T
    assert torch.allclose(ntk.empirical_ntk(net, dict(net.named_parameters()), x), expected, rtol=1e-6)


def test_kernel_distance_and_alignment_against_numpy():
    g = np.random.default_rng(0)
    k0, kt = g.normal(size=(5, 5)), g.normal(size=(5, 5))
    k0, kt = k0 @ k0.T, kt @ kt.T
    y = np.eye(3)[[0, 1, 1, 2, 0]]
    assert ntk.kernel_distance(torch.from_numpy(kt), torch.from_numpy(k0)) == pytest.approx(
        np.linalg.norm(kt - k0) / np.linalg.norm(k0))
    target = y @ y.T
    assert ntk.label_alignment(torch.from_numpy(kt), torch.from_numpy(y)) == pytest.approx(
        (kt * target).sum() / np.linalg.norm(kt) / np.linalg.norm(target))


def test_a_kernel_that_is_the_label_kernel_has_alignment_one():
    y = ntk.label_matrix(torch.tensor([0, 2, 2, 1]), 3)
    assert ntk.label_alignment(3.0 * y @ y.T, y) == pytest.approx(1.0)
    assert ntk.label_matrix(torch.tensor([1.0, -1.0]), 1).tolist() == [[1.0], [-1.0]]


def test_plugin_is_zero_distance_at_init_and_linear_models_stay_lazy(make_context):
    net = _embedding_net()
    x = torch.randint(0, 5, (8, 2), generator=torch.Generator().manual_seed(4))
    y = torch.randint(0, 5, (8,), generator=torch.Generator().manual_seed(5))
    init = {k: v.detach().clone() for k, v in net.state_dict().items()}
    ctx = make_context("modadd-mlp", x, y, init_state=init)
    out = get_measure("ntk").compute(net, ctx)
    assert out["kernel-distance"] == 0.0
    expected = _autograd_ntk(net, x)
    labels = torch.nn.functional.one_hot(y, 5).double()
    assert out["label-alignment"] == pytest.approx(ntk.label_alignment(expected, labels), rel=1e-5)
    # a linear model's Jacobian does not depend on its weights: its kernel never moves
    lin = nn.Linear(3, 2)
    init = {k: v.detach().clone() for k, v in lin.state_dict().items()}
    with torch.no_grad():
        lin.weight.mul_(5.0)
    xs = torch.randn(6, 3)
    moved = get_measure("ntk").compute(lin, make_context("modadd-mlp", xs, torch.zeros(6, dtype=torch.long),
                                                         init_state=init))
    assert moved["kernel-distance"] == pytest.approx(0.0, abs=1e-12)
