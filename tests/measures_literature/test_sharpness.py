"""Hessian top eigenvalue against a full eigendecomposition; PAC-Bayes flatness against a closed form."""

import math

import numpy as np
import pytest
import torch
from scipy.optimize import brentq
from scipy.stats import norm
from torch import nn
from torch.func import functional_call

from complexity_bench.contracts.measure import get_measure
from complexity_bench.measures.sharpness import flatness_sigma, top_hessian_eigenvalue


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _exact_hessian(model, loss, x, y):
    """The full Hessian of loss(model(x), y) over all parameters (float64), by autograd."""
    model = model.double()
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for _, p in model.named_parameters()]
    flat = torch.cat([p.detach().flatten() for _, p in model.named_parameters()])

    def f(theta):
        parts, i = {}, 0
        for n, s in zip(names, shapes):
            parts[n] = theta[i:i + s.numel()].view(s)
            i += s.numel()
        return loss(functional_call(model, parts, (x,)), y)

    return torch.autograd.functional.hessian(f, flat)


def test_quadratic_with_a_dominant_negative_eigenvalue():
    g = _gen(1)
    q, _ = torch.linalg.qr(torch.randn(6, 6, dtype=torch.float64, generator=g))
    eig = torch.tensor([2.0, -7.0, 0.5, 0.1, -3.0, -6.0], dtype=torch.float64)  # H + 7I: 9 vs 7.5 next
    a = q @ torch.diag(eig) @ q.T
    loss = lambda p: 0.5 * p["w"] @ a @ p["w"]  # noqa: E731
    value = top_hessian_eigenvalue(loss, {"w": torch.zeros(6, dtype=torch.float64)}, g, rtol=1e-9, max_iter=2000)
    assert value == pytest.approx(2.0, rel=1e-6)


@pytest.mark.parametrize("task_name,activation", [("modadd-mlp", nn.SiLU), ("sparse-parity", nn.ReLU),
                                                   ("digits-mlp", nn.ReLU)])
def test_tiny_net_matches_full_eigendecomposition(make_context, task_name, activation):
    torch.manual_seed(0)
    if task_name == "modadd-mlp":  # cross-entropy, 3 classes
        net = nn.Sequential(nn.Linear(2, 5), activation(), nn.Linear(5, 3))
        x, y = torch.randn(12, 2, dtype=torch.float64), torch.randint(0, 3, (12,))
    elif task_name == "digits-mlp":  # MSE against one-hot targets built inside the loss from integer labels
        net = nn.Sequential(nn.Linear(3, 5), activation(), nn.Linear(5, 4))
        x, y = torch.randn(16, 3, dtype=torch.float64), torch.randint(0, 4, (16,))
    else:  # hinge on a ReLU net: an indefinite Hessian (its diagonal is 0)
        net = nn.Sequential(nn.Linear(3, 4), activation(), nn.Linear(4, 1, bias=False))
        x = torch.randn(16, 3, dtype=torch.float64)
        y = torch.sign(torch.randn(16, dtype=torch.float64))
    net = net.double()
    ctx = make_context(task_name, x, y)
    exact = float(torch.linalg.eigvalsh(_exact_hessian(net, ctx.task.loss, x, y)).max())
    params = dict(net.named_parameters())
    loss_fn = lambda p, t: ctx.task.loss(functional_call(net, p, (x,)), t)  # noqa: E731
    tight = top_hessian_eigenvalue(loss_fn, params, _gen(), y, rtol=1e-9, max_iter=5000)
    assert tight == pytest.approx(exact, rel=1e-4)
    plugin = get_measure("hessian-top-eigenvalue").compute(net, ctx.for_measure("hessian-top-eigenvalue"))
    assert plugin == pytest.approx(exact, rel=2e-2)  # default stopping rule: rtol 1e-3 on the Rayleigh quotient


def test_unconverged_power_iteration_raises():
    a = torch.diag(torch.tensor([1.0, 0.999]))  # λ2/λ1 = 0.999: thousands of products to separate
    with pytest.raises(ValueError, match="did not converge"):
        top_hessian_eigenvalue(lambda p: 0.5 * p["w"] @ a @ p["w"], {"w": torch.zeros(2)}, _gen(), rtol=1e-9,
                               max_iter=50)


def test_symmetric_spectrum_finds_the_positive_end():
    """±1 both eigenvalues: the Rayleigh quotient stalls between them; the shifted run finds +1."""
    a = torch.diag(torch.tensor([1.0, -1.0, 0.3], dtype=torch.float64))
    value = top_hessian_eigenvalue(lambda p: 0.5 * p["w"] @ a @ p["w"], {"w": torch.zeros(3, dtype=torch.float64)},
                                   _gen(), rtol=1e-12, max_iter=5000)
    assert value == pytest.approx(1.0, rel=1e-9)


def test_flatness_sigma_matches_the_gaussian_closed_form():
    """A linear classifier sign(x·w): under w + σz, sample i is wrong with probability Φ(−m_i / (σ‖x_i‖))."""
    g = np.random.default_rng(0)
    x = torch.from_numpy(g.normal(size=(20, 5)))
    w = torch.from_numpy(g.normal(size=5))
    y = torch.sign(x @ w)  # every sample correct: base error 0
    margins, lengths = (y * (x @ w)).numpy(), x.norm(dim=1).numpy()

    def expected_error(sigma):
        return float(norm.cdf(-margins / (sigma * lengths)).mean())

    exact = brentq(lambda s: expected_error(s) - 0.1, 1e-6, 100.0)
    error_of = lambda p: (y * (x @ p["w"]) <= 0).to(torch.float64).mean()  # noqa: E731
    sigma = flatness_sigma(error_of, {"w": w}, _gen(3), n_draws=20000)
    assert sigma == pytest.approx(exact, rel=0.03)


def test_flatness_sigma_is_capped_at_both_ends():
    assert flatness_sigma(lambda p: p["w"].sum() * 0, {"w": torch.ones(3)}, _gen()) == 10.0  # never worse
    assert flatness_sigma(lambda p: (p["w"] != 1).any().double(), {"w": torch.ones(3)}, _gen()) == 1e-6  # any noise


def test_pac_bayes_flatness_is_one_over_sigma_squared(make_context):
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(3, 4))
    x, y = torch.randn(40, 3), torch.randint(0, 4, (40,))
    ctx = make_context("modadd-mlp", x, y).for_measure("pac-bayes-flatness")
    err = lambda p: 1.0 - (functional_call(net, p, (x,)).argmax(-1) == y).double().mean()  # noqa: E731
    sigma = flatness_sigma(err, dict(net.named_parameters()), torch.Generator().manual_seed(0))
    value = get_measure("pac-bayes-flatness").compute(net, ctx)
    assert 0 < value < math.inf and math.isfinite(sigma)
