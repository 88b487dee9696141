"""Fourier sparsity on embeddings built from pure cosines (exact) vs random ones, and brute-force DFTs."""

import math

import pytest
import torch
from torch import nn

from complexity_bench.measures.fourier_sparsity import (
    effective_frequencies, embedding_table, fourier_power, gini, topk_share,
)


def _wave(p, k, phase=0.0):
    t = torch.arange(p, dtype=torch.float64)
    return torch.cos(2 * math.pi * k * t / p + phase)


def _brute_power(E):
    """P_k = Σ over (cos, sin) of |Σ_t E[t] basis_k(t)|² with explicit sums (k = 1..p//2)."""
    p = E.shape[0]
    out = []
    for k in range(1, p // 2 + 1):
        total = 0.0
        for col in E.T.double():
            c = sum(float(col[t]) * math.cos(2 * math.pi * k * t / p) for t in range(p))
            s = sum(float(col[t]) * math.sin(2 * math.pi * k * t / p) for t in range(p))
            total += c * c + s * s
        out.append(total if 2 * k == p else 2 * total)
    return torch.tensor(out, dtype=torch.float64)


@pytest.mark.parametrize("p", [7, 8, 31])
def test_power_matches_brute_force_and_parseval(p):
    E = torch.randn(p, 3, generator=torch.Generator().manual_seed(p))
    P = fourier_power(E)
    assert torch.allclose(P, _brute_power(E), rtol=1e-9)
    dc = float(E.double().sum(0).pow(2).sum())
    assert float(P.sum()) + dc == pytest.approx(p * float(E.double().pow(2).sum()), rel=1e-10)


def test_pure_frequency_embeddings_are_exactly_sparse():
    p = 31
    one = torch.stack([_wave(p, 5), _wave(p, 5, math.pi / 2), 0.3 * _wave(p, 5, 1.0)], 1)
    assert effective_frequencies(fourier_power(one)) == pytest.approx(1.0, abs=1e-9)
    assert topk_share(fourier_power(one), 1) == pytest.approx(1.0)
    # equal power in 3 frequencies -> exactly 3; a constant offset changes nothing
    three = torch.stack([_wave(p, 2), _wave(p, 7, 0.4), _wave(p, 11, 2.0)], 1) + 5.0
    assert effective_frequencies(fourier_power(three)) == pytest.approx(3.0, rel=1e-9)
    assert topk_share(fourier_power(three), 3) == pytest.approx(1.0)
    # unequal powers 1:4 over two frequencies -> exp of the entropy of (0.2, 0.8)
    two = torch.stack([_wave(p, 3), 2 * _wave(p, 9)], 1)
    h = -(0.2 * math.log(0.2) + 0.8 * math.log(0.8))
    assert effective_frequencies(fourier_power(two)) == pytest.approx(math.exp(h), rel=1e-9)


def test_random_embedding_is_dense_and_sparse_ones_are_not():
    p, d = 31, 32
    E = torch.randn(p, d, generator=torch.Generator().manual_seed(0))
    eff = effective_frequencies(fourier_power(E))
    assert 12.0 < eff <= 15.0  # 15 frequencies, near-flat expected spectrum
    assert gini(fourier_power(E)) < 0.2
    sparse = torch.stack([_wave(p, k, 0.1 * j) for j, k in enumerate([1, 4, 4, 9] * 8)], 1)
    assert effective_frequencies(fourier_power(sparse)) < 3.0 < eff


def test_invariances_token_shift_and_dim_rotation():
    p = 13
    E = torch.randn(p, 4, generator=torch.Generator().manual_seed(1))
    Q, _ = torch.linalg.qr(torch.randn(4, 4, generator=torch.Generator().manual_seed(2)))
    P = fourier_power(E)
    assert torch.allclose(fourier_power(torch.roll(E, 5, dims=0)), P, rtol=1e-9)  # t -> t + 5 in Z_p
    assert torch.allclose(fourier_power(E @ Q), P, rtol=1e-5)


def test_gini_by_hand_and_degenerate_cases():
    assert gini(torch.tensor([1.0, 1.0, 1.0, 1.0])) == 0.0
    assert gini(torch.tensor([0.0, 0.0, 0.0, 5.0])) == pytest.approx(3 / 4)
    assert gini(torch.tensor([1.0, 2.0, 3.0])) == pytest.approx((-2 * 1 + 0 * 2 + 2 * 3) / (3 * 6))
    assert effective_frequencies(fourier_power(torch.ones(7, 3))) == 0.0  # constant rows: no frequency used


def test_embedding_table_lookup():
    with pytest.raises(ValueError, match="embedding"):
        embedding_table(nn.Linear(2, 2))
