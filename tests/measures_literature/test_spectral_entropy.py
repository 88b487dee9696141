"""Representation spectral entropy against representations with known covariance spectra and numpy."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from complexity_bench.contracts.measure import get_measure
from complexity_bench.measures.spectral_entropy import spectral_entropy
from complexity_bench.testing import toy_context


def with_covariance_spectrum(scales, n, k, seed=0):
    """An n×k matrix whose rows have (1/n) covariance eigenvalues scales²/n, plus a constant offset row."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, len(scales), dtype=torch.float64, generator=g)
    q, _ = torch.linalg.qr(a - a.mean(0))  # orthonormal columns orthogonal to the ones vector
    v, _ = torch.linalg.qr(torch.randn(k, k, dtype=torch.float64, generator=g))
    h = q @ torch.diag(torch.tensor(scales, dtype=torch.float64)) @ v[:, :len(scales)].T
    return h + torch.randn(1, k, dtype=torch.float64, generator=g)  # centring must remove the offset


def _expected(eigenvalues, n, k):
    p = np.asarray(eigenvalues, dtype=float)
    p = p[p > 0] / p.sum()
    return float(-(p * np.log(p)).sum() / math.log(min(k, n - 1)))


@settings(max_examples=30, deadline=None)
@given(scales=st.lists(st.floats(0.0, 50.0), min_size=1, max_size=6).filter(lambda s: max(s) > 1e-3))
def test_known_covariance_spectrum(scales):
    n, k = 20, 8
    h = with_covariance_spectrum(scales, n, k, seed=len(scales))
    assert spectral_entropy(h) == pytest.approx(_expected(np.square(scales) / n, n, k), abs=1e-9)


@pytest.mark.parametrize("n,k", [(30, 5), (6, 40), (128, 100)])
def test_matches_numpy_covariance_eigenvalues(n, k):
    h = np.random.default_rng(n + k).normal(size=(n, k)) @ np.diag(np.linspace(0.1, 3.0, k))
    eig = np.clip(np.linalg.eigvalsh(np.cov(h, rowvar=False, bias=True)), 0, None)
    assert spectral_entropy(torch.from_numpy(h)) == pytest.approx(_expected(eig, n, k), abs=1e-9)


@pytest.mark.parametrize("r", [2, 3, 5])
def test_equal_spread_on_the_maximal_rank_gives_one(r):
    h = with_covariance_spectrum([2.0] * r, r + 1, r)  # rank r = min(K, N − 1)
    assert spectral_entropy(h) == pytest.approx(1.0, abs=1e-12)


def test_one_direction_gives_zero():
    h = with_covariance_spectrum([4.0], 10, 6)
    assert spectral_entropy(h) == pytest.approx(0.0, abs=1e-12)


def test_constant_representation_raises():
    with pytest.raises(ValueError, match="constant"):
        spectral_entropy(torch.ones(10, 4))


def test_plugin_reads_the_first_hidden_layer():
    model, ctx = toy_context()
    h = model.stage_outputs(ctx.probe_x)[model.hidden_stage - 1].detach().double().numpy()
    eig = np.clip(np.linalg.eigvalsh(np.cov(h, rowvar=False, bias=True)), 0, None)
    value = get_measure("repr-spectral-entropy").compute(model, ctx.for_measure("repr-spectral-entropy"))
    assert value == pytest.approx(_expected(eig, *h.shape), abs=1e-6)
