"""HTSR α against weightwatcher and a brute-force maximum-likelihood fit; correlation traps on planted cases."""

import math

import numpy as np
import pytest
import torch
from scipy.optimize import minimize_scalar
from torch import nn

from complexity_bench.contracts.measure import get_measure
from complexity_bench.measures.htsr import correlation_traps, layer_alphas, power_law_fit, trap_threshold


def _power_law_sample(alpha, n, seed):
    rng = np.random.default_rng(seed)
    return (1 - rng.random(n)) ** (-1 / (alpha - 1)) * rng.lognormal(0, 0.1, n)


def _brute_force_fit(x):
    """Every candidate λ_min: α by numerically maximising the power-law likelihood, D by a Python loop."""
    x = np.sort(x)
    best = None
    for i in range(len(x) - 1):
        tail, xmin = x[i:], x[i]
        n = len(tail)
        nll = lambda a: -(n * math.log(a - 1) - n * math.log(xmin) - a * np.log(tail / xmin).sum())  # noqa: E731
        alpha = minimize_scalar(nll, bounds=(1 + 1e-9, 100), method="bounded", options={"xatol": 1e-12}).x
        d = max(abs(j / n - (1 - (tail[j] / xmin) ** (1 - alpha))) for j in range(n))
        if best is None or d < best[0]:
            best = (d, alpha, xmin)
    return best


@pytest.mark.parametrize("alpha,n,seed", [(2.5, 40, 0), (3.5, 100, 1), (5.0, 60, 2)])
def test_fit_matches_a_brute_force_maximum_likelihood_scan(alpha, n, seed):
    x = _power_law_sample(alpha, n, seed)
    d, a, xmin = _brute_force_fit(x)
    fit = power_law_fit(torch.from_numpy(x))
    assert fit["xmin"] == xmin
    assert fit["ks"] == pytest.approx(d, abs=1e-6)
    assert fit["alpha"] == pytest.approx(a, rel=1e-5)


def test_recovers_the_exponent_of_a_large_sample():
    x = (1 - np.random.default_rng(3).random(1500)) ** (-1 / 2.0)  # pure power law, α = 3
    assert power_law_fit(torch.from_numpy(x))["alpha"] == pytest.approx(3.0, abs=0.2)


def _heavy_tailed_net():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(30, 40), nn.ReLU(), nn.Linear(40, 40), nn.ReLU(), nn.Linear(40, 25))
    with torch.no_grad():
        for m in net:
            if isinstance(m, nn.Linear):
                m.weight.copy_(torch.distributions.StudentT(3.0).sample(m.weight.shape))
    return net


@pytest.mark.slow  # importing weightwatcher alone costs ~4 s of CPU; the brute-force scan above runs by default
def test_layer_alphas_equal_weightwatcher():
    ww = pytest.importorskip("weightwatcher")
    import logging

    logging.getLogger("weightwatcher").setLevel(logging.ERROR)
    net = _heavy_tailed_net()
    frame = ww.WeightWatcher(model=net).analyze()
    theirs = dict(zip(frame["name"].astype(str), frame["alpha"]))
    ours = layer_alphas(net)
    assert len(ours) == 3 and len(theirs) == 3
    for name, alpha in ours.items():
        assert alpha == pytest.approx(theirs[name.split(".")[0]], rel=1e-9)


def test_scale_free():
    net = _heavy_tailed_net()
    before = layer_alphas(net)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(0.01)
    assert layer_alphas(net) == pytest.approx(before, rel=1e-6)  # float32 weights: the scaling itself rounds


def test_gaussian_matrices_rarely_exceed_the_trap_threshold():
    """The threshold is the 99th percentile of the top eigenvalue of an i.i.d. matrix: check by simulation."""
    g = torch.Generator().manual_seed(0)
    n, m, trials = 60, 30, 300
    tops = torch.stack([torch.linalg.svdvals(torch.randn(n, m, dtype=torch.float64, generator=g))[0] ** 2
                        for _ in range(trials)])
    exceed = float((tops > trap_threshold(n, m, 1.0)).double().mean())
    assert exceed < 0.04  # nominally 1 %
    assert float((tops > trap_threshold(n, m, 1.0) * 0.9).double().mean()) > exceed  # not a vacuous bound


@pytest.mark.parametrize("planted", [0, 1, 2, 5])
def test_planted_large_entries_are_traps(planted):
    """Entries of 60σ: after the shuffle they form a sparse matrix P, each of whose non-zero singular
    values (>= 60) lifts one eigenvalue far above the bulk edge (≈ 14²): traps = rank P."""
    g = torch.Generator().manual_seed(planted)
    w = torch.randn(80, 40, generator=g, dtype=torch.float64)
    w.view(-1)[:planted] = 60.0
    perm = torch.randperm(w.numel(), generator=torch.Generator().manual_seed(7))  # the shuffle the measure draws
    spikes = (w.flatten()[perm].view(80, 40).abs() == 60.0).double()
    assert correlation_traps(w, torch.Generator().manual_seed(7)) == int(torch.linalg.matrix_rank(spikes))


def test_plugin_returns_mean_alpha_and_traps(make_context):
    net = _heavy_tailed_net()
    ctx = make_context("modadd-mlp", torch.zeros(1, 30), torch.zeros(1, dtype=torch.long)).for_measure("htsr")
    out = get_measure("htsr").compute(net, ctx)
    assert out["mean-alpha"] == pytest.approx(sum(layer_alphas(net).values()) / 3)
    assert out["traps"] >= 0

