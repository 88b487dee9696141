"""Hutchinson Hessian trace against exact Hessians (autograd.functional.hessian) and closed forms."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from complexity_bench.contracts.measure import MeasureContext, get_measure
from complexity_bench.measures.hessian_trace import hutchinson_trace, model_hessian_trace, rademacher_like
from complexity_bench.contracts.models import PairEmbedding, StagedModel
from complexity_bench.contracts.task import get_task
from complexity_bench.testing import toy_context


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _exact_hessian(model, loss, x, y):
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for _, p in model.named_parameters()]
    flat = torch.cat([p.detach().flatten() for _, p in model.named_parameters()]).double()

    def f(theta):
        parts, i = {}, 0
        for n, s in zip(names, shapes):
            parts[n] = theta[i:i + s.numel()].view(s)
            i += s.numel()
        return loss(functional_call(model.double(), parts, (x.double() if x.is_floating_point() else x,)),
                    y.double() if y.is_floating_point() else y)

    H = torch.autograd.functional.hessian(f, flat)
    model.float()
    return H


def test_linear_least_squares_closed_form():
    # L(w) = mean_n (x_n·w - y_n)^2  =>  H = (2/N) XᵀX, Tr H = (2/N) ||X||_F^2
    X = torch.randn(50, 6, generator=_gen(1))
    y = torch.randn(50, generator=_gen(2))
    exact = 2 / 50 * float(X.pow(2).sum())
    est, se = hutchinson_trace(lambda p, t: F.mse_loss(X @ p["w"], t), {"w": torch.randn(6)}, 4000, _gen(3), y)
    assert abs(est - exact) < 4 * se
    assert se < 0.05 * exact


def test_diagonal_hessian_is_exact_with_one_probe():
    X = torch.diag(torch.tensor([1.0, 2.0, 3.0]))  # orthogonal columns -> H diagonal
    est, _ = hutchinson_trace(lambda p: (X @ p["w"]).pow(2).mean(), {"w": torch.ones(3)}, 1, _gen(0))
    assert est == pytest.approx(2 / 3 * (1 + 4 + 9), rel=1e-6)


def _tiny_silu_net():
    torch.manual_seed(0)
    return StagedModel([PairEmbedding(5, 3), nn.Linear(6, 4), nn.SiLU(), nn.Linear(4, 5)], input_stage=1)


def test_each_probe_quadratic_form_equals_exact_hessian():
    model = _tiny_silu_net()
    x = torch.randint(0, 5, (30, 2), generator=_gen(4))
    y = (x[:, 0] + x[:, 1]) % 5
    H = _exact_hessian(model, F.cross_entropy, x, y)
    # the estimate with n probes is the mean of vᵀHv over exactly the probes drawn from the same generator
    params = {k: v.detach() for k, v in model.named_parameters()}
    probes = rademacher_like(params, 8, _gen(5))
    V = torch.cat([probes[k].flatten(1) for k in params], 1).double()
    expected = float(torch.einsum("ki,ij,kj->k", V, H, V).mean())
    est, _ = model_hessian_trace(model, F.cross_entropy, x, y, 8, _gen(5))
    assert est == pytest.approx(expected, rel=1e-4)
    # and many probes converge to the exact trace
    est, se = model_hessian_trace(model, F.cross_entropy, x, y, 3000, _gen(6))
    assert abs(est - float(H.trace())) < 4 * se


def test_relu_mse_trace_is_gauss_newton_trace():
    # ReLU net: f is linear in each single parameter, so Tr H = (2/(N K)) Σ_{n,k} |∇θ f_k(x_n)|²
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 6), nn.ReLU(), nn.Linear(6, 2))
    x, y = torch.randn(12, 3), torch.randn(12, 2)
    exact = float(_exact_hessian(model, F.mse_loss, x, y).trace())
    gn = 0.0
    for n in range(12):
        for k in range(2):
            g = torch.autograd.grad(model(x[n:n + 1])[0, k], list(model.parameters()))
            gn += sum(float(t.pow(2).sum()) for t in g)
    assert exact == pytest.approx(2 / 24 * gn, rel=1e-5)
    est, se = model_hessian_trace(model, F.mse_loss, x, y, 2000, _gen(7))
    assert abs(est - exact) < 4 * se


def test_hinge_on_relu_has_zero_trace_and_is_not_applicable():
    torch.manual_seed(2)
    model = StagedModel([nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1, bias=False)])
    x, y = torch.randn(20, 4), torch.randint(0, 2, (20,)).float() * 2 - 1
    hinge = get_task("sparse-parity").loss
    H = _exact_hessian(model, hinge, x, y)
    assert float(H.abs().max()) > 0  # off-diagonal curvature exists...
    assert float(H.diagonal().abs().max()) == 0.0  # ...but the trace is exactly zero
    m = get_measure("hessian-trace")
    assert not m.applicable(get_task("sparse-parity"), model)
    assert m.applicable(get_task("modadd-relu")) and m.applicable(get_task("teacher-student"))


def test_measure_leaves_grads_alone_and_runs_on_mse_task():
    model, ctx = toy_context()
    grads = [None if p.grad is None else p.grad.clone() for p in model.parameters()]
    get_measure("hessian-trace").compute(model, ctx.for_measure("hessian-trace"))
    for g, p in zip(grads, model.parameters()):
        assert (g is None and p.grad is None) or torch.equal(g, p.grad)
    # float regression targets (F.mse_loss under forward-over-reverse) work, and the plugin
    # is exactly the functional core with 16 probes from the context's generator
    t = get_task("teacher-student")
    params = t.resolve({})
    d = t.make_data(params, 0)
    student = t.make_model(params, 0)
    c = MeasureContext.for_run(t, params, 0, d, 0, student.state_dict(), {})
    value = get_measure("hessian-trace").compute(student, c.for_measure("hessian-trace"))
    est, se = model_hessian_trace(student, t.loss, d.x_train, d.y_train, 16, c.for_measure("hessian-trace").generator)
    assert value == est and torch.isfinite(torch.tensor(value)) and se > 0


def test_mse_against_one_hot_targets_built_inside_the_loss_matches_exact_hessian():
    # digits-mlp's loss builds float one-hot targets from integer labels inside the loss: forward-mode
    # differentiation of F.mse_loss's backward then meets an immutable ZeroTensor tangent (torch 2.13),
    # so the product goes reverse-over-reverse; both are the exact H v
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 5), nn.SiLU(), nn.Linear(5, 4))
    x, y = torch.randn(20, 3), torch.randint(0, 4, (20,))
    loss = get_task("digits-mlp").loss
    H = _exact_hessian(model, loss, x, y)
    params = {k: v.detach() for k, v in model.named_parameters()}
    V = torch.cat([p.flatten(1) for p in rademacher_like(params, 8, _gen(8)).values()], 1).double()
    expected = float(torch.einsum("ki,ij,kj->k", V, H, V).mean())
    est, _ = model_hessian_trace(model, loss, x, y, 8, _gen(8))
    assert est == pytest.approx(expected, rel=1e-4)


def test_digits_mlp_trace_equals_the_forward_mode_route_with_explicit_targets():
    # the plugin on digits-mlp itself (at initialisation, weights ×8), against the same probes through
    # forward-over-reverse with the one-hot targets passed in as a float input
    t = get_task("digits-mlp")
    params = t.resolve({})
    d = t.make_data(params, 0)
    model = t.make_model(params, 0)
    c = MeasureContext.for_run(t, params, 0, d, 0, model.state_dict(), {}).for_measure("hessian-trace")
    value = get_measure("hessian-trace").compute(model, c)
    one_hot = F.one_hot(c.y_train, 10).float()
    c = MeasureContext.for_run(t, params, 0, d, 0, model.state_dict(), {}).for_measure("hessian-trace")
    est, _ = model_hessian_trace(model, F.mse_loss, c.x_train, one_hot, 16, c.generator)
    assert math.isfinite(value) and value > 0
    assert value == pytest.approx(est, rel=1e-4)
