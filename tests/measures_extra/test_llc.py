"""SGLD LLC on losses whose learning coefficient is known: regular quadratics (d/2) and w⁴ (d/4)."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from complexity_bench.measures.llc import default_n_beta, model_llc, sgld_llc


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _discrete_chain_llc(eigs, n_beta, gamma, step):
    """Exact λ̂ of the SGLD chain on L = L* + ½ Σ a_i δ_i²: per direction the chain is AR(1) with
    precision c = nβ a + γ and stationary variance 1 / (c (1 − ε c / 4)); λ̂ = nβ · ½ Σ a_i Var_i."""
    return sum(0.5 * n_beta * a / ((n_beta * a + gamma) * (1 - step * (n_beta * a + gamma) / 4)) for a in eigs)


def test_regular_quadratic_minimum_gives_half_the_dimension():
    a = torch.tensor([1.0, 1.5, 2.0, 2.5, 3.0, 4.0])
    n_beta, gamma, step = 100.0, 0.1, 1e-4
    out = sgld_llc(lambda p: 0.5 * (a * p["w"] ** 2).sum(), {"w": torch.zeros(6)}, n_beta, gamma, step,
                   num_chains=256, num_burnin=600, num_draws=1000, generator=_gen(1))
    exact = _discrete_chain_llc(a.tolist(), n_beta, gamma, step)
    assert exact == pytest.approx(3.0, rel=0.02)  # the chain's own target: d/2 up to γ and step-size bias
    assert out["llc"] == pytest.approx(exact, rel=0.05)


def test_quartic_singular_minimum_gives_a_quarter_per_dimension():
    # p ∝ exp(-nβ w⁴) per coordinate: E[nβ w⁴] = 1/4 exactly (the RLCT of w⁴), vs 1/2 for w²
    out = sgld_llc(lambda p: (p["w"] ** 4).sum(), {"w": torch.zeros(4)}, 1000.0, 1e-3, 1e-4,
                   num_chains=64, num_burnin=1500, num_draws=1500, generator=_gen(2))
    assert out["llc"] == pytest.approx(1.0, rel=0.1)


def test_linear_regression_model_at_its_least_squares_minimum():
    g = _gen(3)
    X, y = torch.randn(200, 3, generator=g), torch.randn(200, 1, generator=g)
    Xb = torch.cat([X, torch.ones(200, 1)], 1)
    sol = torch.linalg.lstsq(Xb, y).solution
    model = nn.Linear(3, 1)
    with torch.no_grad():
        model.weight.copy_(sol[:3].T), model.bias.copy_(sol[3])
    eigs = torch.linalg.eigvalsh(2 / 200 * Xb.T @ Xb).tolist()  # Hessian of the MSE in (w, b)
    n_beta, gamma, step = default_n_beta(200), 1.0, 1e-3
    out = model_llc(model, F.mse_loss, X, y, _gen(4), step=step, gamma=gamma, num_chains=256, num_burnin=500,
                    num_draws=1000)
    assert out["llc"] == pytest.approx(_discrete_chain_llc(eigs, n_beta, gamma, step), rel=0.06)
    assert 1.6 < out["llc"] < 2.2  # ≈ (3 + 1)/2 parameters


def test_divergence_raises_as_soon_as_the_loss_is_non_finite():
    # |1 − ε c / 2| = 5e8 per step: the loss overflows within a handful of steps, and the chain stops there
    # instead of running its remaining gradient evaluations (digits-mlp's early checkpoints diverge so)
    calls = 0

    def loss(p):
        nonlocal calls
        calls += 1
        return 0.5 * (p["w"] ** 2).sum() * 1e6

    with pytest.raises(ValueError, match="diverged"):
        sgld_llc(loss, {"w": torch.zeros(2)}, 1000.0, 1.0, 1.0, num_chains=1, num_burnin=0, num_draws=200,
                 generator=_gen(0))
    assert calls < 20
