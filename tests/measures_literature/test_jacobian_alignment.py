"""Jacobian and centroid alignment against per-sample autograd Jacobians, numpy PCA and linear maps."""

import numpy as np
import pytest
import torch
from torch import nn

from complexity_bench.contracts.measure import get_measure
from complexity_bench.measures.jacobian_alignment import centroid_alignment, first_component_share, input_jacobians
from complexity_bench.testing import toy_context


def _autograd_jacobians(f, h):
    """J[i, c] = ∂f_c(h_i)/∂h by one torch.autograd.grad call per sample and output."""
    out = []
    for i in range(len(h)):
        x = h[i:i + 1].clone().requires_grad_(True)
        y = f(x).reshape(-1)
        out.append(torch.stack([torch.autograd.grad(y[c], x, retain_graph=True)[0].reshape(-1) for c in range(len(y))]))
    return torch.stack(out)


def _numpy_pc1(jac):
    rows = jac.reshape(-1, jac.shape[-1]).double().numpy()
    centred = rows - rows.mean(0)
    eig = np.linalg.eigvalsh(centred.T @ centred)  # PCA through the covariance, not an SVD
    return eig[-1] / eig.sum()


def test_jacobians_match_autograd_and_pc1_matches_numpy_pca():
    torch.manual_seed(0)
    f = nn.Sequential(nn.Linear(4, 8), nn.SiLU(), nn.Linear(8, 3))
    h = torch.randn(10, 4)
    jac = input_jacobians(f, h)
    auto = _autograd_jacobians(f, h)
    assert torch.allclose(jac, auto, atol=1e-6)
    assert first_component_share(jac) == pytest.approx(_numpy_pc1(auto), rel=1e-6)


def test_linear_map_with_opposite_rows_is_perfectly_aligned():
    """f(h) = W h with rows v and −v: every Jacobian is W, centred rows are ±v: one component."""
    v = torch.tensor([1.0, -2.0, 0.5])
    f = nn.Linear(3, 2, bias=True)
    with torch.no_grad():
        f.weight.copy_(torch.stack([v, -v]))
    assert first_component_share(input_jacobians(f, torch.randn(7, 3))) == pytest.approx(1.0, abs=1e-12)


def test_orthogonal_rows_split_the_variance_evenly():
    """Rows e1, e2, e3 (and their mean subtracted): the centred 3×3 block has two equal singular values."""
    f = nn.Linear(3, 3, bias=False)
    with torch.no_grad():
        f.weight.copy_(torch.eye(3))
    assert first_component_share(input_jacobians(f, torch.randn(5, 3))) == pytest.approx(0.5, abs=1e-12)


def test_centroid_alignment_of_a_linear_map():
    w = torch.tensor([[1.0, 0.0], [1.0, 1.0]])  # centroid = Σ rows = (2, 1) for every input
    f = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        f.weight.copy_(w)
    h = torch.tensor([[2.0, 1.0], [-2.0, -1.0], [1.0, -2.0], [0.0, 0.0]])
    expected = np.mean([1.0, -1.0, 0.0, 0.0])  # parallel, antiparallel, orthogonal, zero input
    assert centroid_alignment(input_jacobians(f, h), h) == pytest.approx(expected, abs=1e-12)


def test_plugin_differentiates_after_the_embedding():
    model, ctx = toy_context()
    h = model.stage_outputs(ctx.probe_x)[model.input_stage - 1].detach()
    auto = _autograd_jacobians(model.tail(model.input_stage), h)
    out = get_measure("jacobian-alignment").compute(model, ctx.for_measure("jacobian-alignment"))
    assert out["pc1"] == pytest.approx(_numpy_pc1(auto), rel=1e-5)
    assert out["centroid-alignment"] == pytest.approx(centroid_alignment(auto, h), rel=1e-5)


def test_constant_jacobian_rows_raise():
    f = nn.Linear(3, 1)
    with pytest.raises(ValueError, match="principal components undefined"):
        first_component_share(input_jacobians(f, torch.randn(4, 3)))
