"""LLC chain health: the MALA acceptance formula against scipy densities, the drift against a linear trend,
and the gate turning failed chains into missing values."""

import math

import numpy as np
import pytest
import torch
from scipy.stats import norm

from complexity_bench.measures.llc import (check_chain_health, mala_log_acceptance, second_half_drift,
                                          second_half_drift_z, sgld_llc)


def test_log_acceptance_matches_scipy_gaussian_densities():
    g = np.random.default_rng(0)
    eps, chains, d = 0.07, 3, 4
    w, w2, gu, gu2 = (g.normal(size=(chains, d)) for _ in range(4))
    u, u2 = g.normal(size=chains), g.normal(size=chains)
    expected = []
    for c in range(chains):
        log_q_back = norm.logpdf(w[c], loc=w2[c] - eps / 2 * gu2[c], scale=math.sqrt(eps)).sum()
        log_q_forth = norm.logpdf(w2[c], loc=w[c] - eps / 2 * gu[c], scale=math.sqrt(eps)).sum()
        expected.append((-u2[c] + log_q_back) - (-u[c] + log_q_forth))
    t = lambda a: {"w": torch.from_numpy(a)}  # noqa: E731
    got = mala_log_acceptance(t(w), torch.from_numpy(u), t(gu), t(w2), torch.from_numpy(u2), t(gu2), eps)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10)


def _quadratic_chain(step, seed=0):
    return sgld_llc(lambda p: 0.5 * (p["w"] ** 2).sum(), {"w": torch.zeros(5)}, n_beta=100.0, gamma=1.0, step=step,
                    num_chains=8, num_burnin=50, num_draws=100, generator=torch.Generator().manual_seed(seed))


def test_acceptance_falls_as_the_step_nears_the_stability_limit():
    # per coordinate the chain is AR(1) with c = nβ + γ = 101, stable while ε c < 4; its λ̂ is biased by
    # 1 / (1 − ε c / 4): x1.03 at ε c = 0.1 (relaxing in ~20 steps), x4 at ε c = 3
    slow, fast = _quadratic_chain(0.1 / 101), _quadratic_chain(3.0 / 101)
    assert slow["mala_acceptance"] > 0.97
    assert math.isfinite(fast["llc"]) and fast["mala_acceptance"] < 0.65
    assert check_chain_health(slow) == slow["llc"]
    with pytest.raises(ValueError, match="MALA acceptance 0.5"):
        check_chain_health(fast, min_acceptance=0.9)
    with pytest.raises(ValueError, match="MALA acceptance 0.4"):
        check_chain_health({**fast, "mala_acceptance": 0.4})


def test_drift_of_a_linear_trend():
    """A loss trace a + b t over T = 40 + 80 steps: the last two quarters' means differ by b · 30."""
    t = torch.arange(40, 120, dtype=torch.float64)
    draws = (2.0 + 0.01 * t).repeat(2, 1)
    n_beta, llc = 50.0, 3.0
    assert second_half_drift(draws, 40, n_beta, llc) == pytest.approx(n_beta * 0.01 * 30 / llc)
    assert second_half_drift(torch.ones(2, 80), 40, n_beta, llc) == 0.0
    assert second_half_drift_z(torch.ones(2, 80), 40) == 0.0


def test_drift_z_against_a_direct_batch_means_computation():
    g = np.random.default_rng(1)
    draws = g.normal(size=(2, 80)) + np.linspace(0, 1, 80)
    third, last = draws[:, 20:50], draws[:, 50:80]  # steps 60-89 and 90-119 of T = 120
    bm = [q.reshape(2, 6, 5).mean(2).ravel() for q in (third, last)]
    z = abs(bm[1].mean() - bm[0].mean()) / math.sqrt(bm[0].var(ddof=1) / 12 + bm[1].var(ddof=1) / 12)
    assert second_half_drift_z(torch.from_numpy(draws), 40) == pytest.approx(z)


def test_a_chain_still_relaxing_fails_the_drift_check():
    """ε c = 0.01: the loss needs ~200 steps to climb to its stationary level, longer than the chain."""
    out = _quadratic_chain(0.01 / 101)
    assert out["mala_acceptance"] > 0.99
    with pytest.raises(ValueError, match="drifts"):
        check_chain_health(out)


def test_a_descending_chain_fails_the_drift_check():
    """Far from a minimum (a linear loss, weak localisation) the loss falls at a constant rate: drift ≈ 30/80."""
    out = sgld_llc(lambda p: 3.0 * p["w"].sum(), {"w": torch.zeros(5)}, n_beta=10.0, gamma=0.01, step=1e-3,
                   num_chains=4, num_burnin=40, num_draws=80, generator=torch.Generator().manual_seed(1))
    assert out["mala_acceptance"] > 0.9  # a fine sampler: only the trace is wrong
    assert out["drift"] == pytest.approx(30 / 80, rel=0.1)
    with pytest.raises(ValueError, match="drifts"):
        check_chain_health(out)
