"""Effective and stable rank against matrices with known spectra."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from complexity_bench.errors import UserError
from complexity_bench.measures.effective_rank import effective_rank, stable_rank, weight_effective_ranks, weight_matrices
from complexity_bench.contracts.models import PairEmbedding, StagedModel


def with_spectrum(sigma, m, n, seed=0):
    """A random m×n matrix U diag(σ) Vᵀ with the given singular values."""
    g = torch.Generator().manual_seed(seed)
    u, _ = torch.linalg.qr(torch.randn(m, m, dtype=torch.float64, generator=g))
    v, _ = torch.linalg.qr(torch.randn(n, n, dtype=torch.float64, generator=g))
    s = torch.zeros(m, n, dtype=torch.float64)
    s[range(len(sigma)), range(len(sigma))] = torch.tensor(sigma, dtype=torch.float64)
    return u @ s @ v.T


@pytest.mark.parametrize("k", [1, 2, 5, 10])
def test_k_equal_singular_values(k):
    d = torch.diag(torch.tensor([2.5] * k + [0.0] * (10 - k)))
    assert effective_rank(d) == pytest.approx(k, rel=1e-12)
    assert stable_rank(d) == pytest.approx(k, rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(sigma=st.lists(st.floats(0.0, 100.0), min_size=1, max_size=8).filter(lambda s: max(s) > 1e-3))
def test_known_spectrum(sigma):
    m = with_spectrum(sigma, 9, 8, seed=len(sigma))
    s = np.array(sigma)
    p = s / s.sum()
    p = p[p > 0]
    assert effective_rank(m) == pytest.approx(math.exp(-(p * np.log(p)).sum()), rel=1e-9)
    assert stable_rank(m) == pytest.approx((s**2).sum() / s.max() ** 2, rel=1e-9)
    assert 1 - 1e-9 <= effective_rank(m) <= np.count_nonzero(s) + 1e-9
    assert effective_rank(7.0 * m) == pytest.approx(effective_rank(m), rel=1e-9)  # scale-invariant


def test_diagonal_with_known_spectrum_and_transpose():
    d = torch.diag(torch.tensor([4.0, 2.0, 1.0, 1.0]))
    p = np.array([4, 2, 1, 1]) / 8
    assert effective_rank(d) == pytest.approx(math.exp(-(p * np.log(p)).sum()), rel=1e-12)
    assert stable_rank(d) == pytest.approx(22 / 16, rel=1e-12)
    r = torch.randn(3, 7)
    assert effective_rank(r) == pytest.approx(effective_rank(r.T), rel=1e-9)


def test_degenerate_matrices():
    assert effective_rank(torch.zeros(4, 3)) == 0.0 and stable_rank(torch.zeros(4, 3)) == 0.0
    assert effective_rank(torch.zeros(0, 3)) == 0.0 and stable_rank(torch.zeros(0, 3)) == 0.0
    assert effective_rank(torch.ones(5, 5)) == pytest.approx(1.0, rel=1e-12)  # rank one
    with pytest.raises(ValueError, match="non-finite"):
        effective_rank(torch.tensor([[1.0, float("nan")], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="non-finite"):
        stable_rank(torch.tensor([[float("inf")]]))
    with pytest.raises(UserError):
        effective_rank(torch.ones(3))


def staged(seed=0):
    torch.manual_seed(seed)
    return StagedModel([PairEmbedding(5, 3), nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 5)], input_stage=1)


def test_weight_matrices_cover_linear_and_embedding_weights():
    m = staged()
    mats = weight_matrices(m)
    assert list(mats) == ["stage0", "stage1", "stage3"]
    assert torch.equal(mats["stage0"], m.stages[0].embedding.weight.detach())
    ranks = weight_effective_ranks(m)
    assert ranks["stage3"] == pytest.approx(effective_rank(m.stages[3].weight), rel=1e-12)
    assert ranks["mean"] == pytest.approx(np.mean([ranks[k] for k in mats]), rel=1e-12)


@pytest.mark.parametrize("name", ["effective-rank", "stable-rank", "effective-rank-repr"])
def test_plugins(name):
    from complexity_bench.contracts.measure import MEASURES
    from complexity_bench.testing import toy_context

    model, ctx = toy_context()
    value = MEASURES.get(name).compute(model, ctx)
    if name == "effective-rank-repr":
        h = ctx.activations(model)[model.hidden_stage - 1]
        assert value == pytest.approx(effective_rank(h), rel=1e-12)
        assert 1 <= value <= min(h.shape)
    elif name == "effective-rank":
        # toy model: stages [PairEmbedding, Linear, ReLU, Linear, ReLU, Linear], input_stage 1
        mats = weight_matrices(model)
        assert set(value) == {"mean", "first", "last"}
        assert value["first"] == pytest.approx(effective_rank(mats["stage1"]), rel=1e-12)
        assert value["last"] == pytest.approx(effective_rank(mats["stage5"]), rel=1e-12)
        assert value["mean"] == pytest.approx(np.mean([effective_rank(w) for w in mats.values()]), rel=1e-12)
    else:
        assert value == pytest.approx(np.mean([stable_rank(w) for w in weight_matrices(model).values()]), rel=1e-12)


def test_stage_with_several_matrices_gets_unique_keys():
    torch.manual_seed(0)
    block = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4))
    m = StagedModel([nn.Linear(3, 4), block, nn.Linear(4, 2)])
    assert list(weight_matrices(m)) == ["stage0", "stage1", "stage1-2-weight", "stage2"]
    assert list(weight_matrices(nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1)))) == ["0-weight", "1-weight"]
