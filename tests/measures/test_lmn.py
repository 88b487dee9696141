"""LMN against analytic values and a brute-force (numpy, pair-by-pair) reference."""

from __future__ import annotations


import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from complexity_bench.errors import UserError
from complexity_bench.measures.lmn import (
    LMNMeasure, interpolation_points, linear_connectivity, linear_mapping_number,
    lmn_from_connectivity, model_lmn, r_squared,
)
from complexity_bench.contracts.models import PairEmbedding, StagedModel


def silu_net(d_in=5, h=7, d_out=3, seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d_in, h), nn.SiLU(), nn.Linear(h, h), nn.Tanh(), nn.Linear(h, d_out)).to(dtype)


def brute_force_L(f, x, n_interp=21):
    """Pair-by-pair loop with numpy's corrcoef: an independent reference."""
    lam = np.linspace(0, 1, n_interp)
    n = len(x)
    L = np.eye(n)
    with torch.no_grad():
        for i in range(n):
            for j in range(i + 1, n):
                pts = torch.stack([x[i] + float(t) * (x[j] - x[i]) for t in lam])
                y = f(pts).double().numpy()
                r2 = [np.corrcoef(lam, y[:, k])[0, 1] ** 2 for k in range(y.shape[1])]
                L[i, j] = L[j, i] = np.mean(r2)
    return L


# -- r² -----------------------------------------------------------------------------
def test_r_squared_line_parabola_constant():
    lam = interpolation_points(21, torch.float64)
    assert lam.tolist() == pytest.approx([k / 20 for k in range(21)], abs=1e-15)
    y = torch.stack([-2.5 * lam + 7, (lam - 0.5) ** 2, torch.full_like(lam, 3.0), torch.zeros_like(lam)], -1)
    r2 = r_squared(y, lam)
    assert r2[0] == pytest.approx(1.0, abs=1e-14)  # a line
    assert r2[1] == pytest.approx(0.0, abs=1e-14)  # a symmetric parabola
    assert r2[2] == 1.0 and r2[3] == 1.0  # constant: the 0/0 case is defined as 1


def test_r_squared_matches_numpy_on_random_curves():
    lam = interpolation_points(21, torch.float64)
    y = torch.randn(4, 21, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    ref = np.array([[np.corrcoef(lam.numpy(), y[p, :, k].numpy())[0, 1] ** 2 for k in range(6)] for p in range(4)])
    np.testing.assert_allclose(r_squared(y, lam).numpy(), ref, atol=1e-12)


def test_r_squared_constant_up_to_float32_rounding_counts_as_constant():
    lam = interpolation_points(21)
    # a float32 coordinate that only wobbles in its last bit is "constant" (r² = 1), not noise
    y = (torch.full((21, 1), 10.0) + torch.tensor([0.0, 1e-6] * 10 + [0.0]).unsqueeze(1)).float()
    assert r_squared(y, lam).item() == 1.0
    # a real variation well above rounding is measured
    y2 = torch.full((21, 1), 10.0) + 1e-2 * (lam - 0.5).square().unsqueeze(1)
    assert r_squared(y2, lam).item() < 1e-6


# -- L -> LMN -------------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(c=st.integers(1, 8), size=st.integers(1, 6))
def test_block_diagonal_equal_blocks_gives_c(c, size):
    L = torch.block_diag(*[torch.ones(size, size)] * c)
    assert lmn_from_connectivity(L) == pytest.approx(c, rel=1e-9)


@settings(max_examples=20, deadline=None)
@given(sizes=st.lists(st.integers(1, 6), min_size=1, max_size=6))
def test_unequal_blocks_give_perplexity_of_sizes(sizes):
    L = torch.block_diag(*[torch.ones(s, s) for s in sizes])
    p = np.array(sizes) / sum(sizes)
    assert lmn_from_connectivity(L) == pytest.approx(2 ** -(p * np.log2(p)).sum(), rel=1e-9)


@pytest.mark.parametrize("n", [1, 2, 17, 100])
def test_identity_gives_n(n):
    assert lmn_from_connectivity(torch.eye(n)) == pytest.approx(n, rel=1e-12)


def test_negative_eigenvalues_use_absolute_values():
    L = torch.tensor([[1.0, 0.9, 0.0], [0.9, 1.0, 0.9], [0.0, 0.9, 1.0]], dtype=torch.float64)
    mu = np.abs(np.linalg.eigvalsh(L.numpy()))
    assert (np.linalg.eigvalsh(L.numpy()) < 0).any()
    p = mu / mu.sum()
    assert lmn_from_connectivity(L) == pytest.approx(2 ** -(p * np.log2(p)).sum(), rel=1e-12)


def test_lmn_from_connectivity_rejects_bad_input():
    with pytest.raises(UserError):
        lmn_from_connectivity(torch.ones(2, 3))
    with pytest.raises(UserError):
        lmn_from_connectivity(torch.tensor([[1.0, 0.2], [0.7, 1.0]]))
    with pytest.raises(ValueError):
        lmn_from_connectivity(torch.tensor([[1.0, float("nan")], [float("nan"), 1.0]]))


# -- f, x -> L, LMN -------------------------------------------------------------------------
@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-9), (torch.float32, 1e-6)])
def test_affine_map_gives_one(dtype, tol):
    # float32 leaves 1 - r² ~ 1e-9 on straight lines, which the entropy (δ log 1/δ) lifts to ~1e-8
    torch.manual_seed(0)
    x = torch.randn(30, 4, dtype=dtype)
    deep_linear = nn.Sequential(nn.Linear(4, 9), nn.Linear(9, 3)).to(dtype)
    assert linear_mapping_number(deep_linear, x) == pytest.approx(1.0, abs=tol)
    # the same through the generic path (a plain callable: no affine shortcut)
    assert linear_mapping_number(lambda z: deep_linear(z), x) == pytest.approx(1.0, abs=tol)


def test_symmetric_parabola_pairs_give_identity():
    # y = x² between -1 and +1 is a symmetric parabola in λ: r² = 0, so L = I_2 and LMN = 2
    x = torch.tensor([[-1.0], [1.0]], dtype=torch.float64)
    L = linear_connectivity(lambda z: z**2, x)
    assert L[0, 1].item() == pytest.approx(0.0, abs=1e-12)
    assert linear_mapping_number(lambda z: z**2, x) == pytest.approx(2.0, rel=1e-9)


@pytest.mark.parametrize("generic", [False, True])
def test_connectivity_matches_brute_force(generic):
    f = silu_net()
    x = torch.randn(9, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    fn = (lambda z: f(z)) if generic else f
    L = linear_connectivity(fn, x, chunk_rows=50)  # several chunks, a ragged last one
    np.testing.assert_allclose(L.numpy(), brute_force_L(f, x), atol=1e-10)
    assert torch.equal(L, L.T) and (L.diagonal() == 1).all() and L.min() >= 0 and L.max() <= 1


def test_float32_fast_path_agrees_with_float64_reference():
    f32 = silu_net(dtype=torch.float32, seed=4)
    x = torch.randn(12, 5, generator=torch.Generator().manual_seed(2))
    L32 = linear_connectivity(f32, x)
    np.testing.assert_allclose(L32.numpy(), brute_force_L(f32.double(), x.double()), atol=1e-5)


def test_chunk_size_does_not_change_L():
    f = silu_net(seed=5)
    x = torch.randn(11, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    a = linear_connectivity(f, x, chunk_rows=1)
    b = linear_connectivity(f, x, chunk_rows=10**6)
    torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


def test_n_interp_is_honoured():
    f = silu_net(seed=6)
    x = torch.randn(5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    np.testing.assert_allclose(linear_connectivity(f, x, n_interp=7).numpy(), brute_force_L(f, x, 7), atol=1e-10)


def test_duplicate_probe_points_are_fully_connected():
    f = silu_net(seed=7)
    x = torch.randn(4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    x = torch.cat([x, x[:1]])  # point 4 duplicates point 0: a zero-length segment
    L = linear_connectivity(f, x)
    assert L[0, 4].item() == 1.0
    assert L[1, 4].item() == pytest.approx(L[1, 0].item(), abs=1e-12)
    assert linear_mapping_number(f, x[[0, 0, 0]]) == pytest.approx(1.0, abs=1e-12)


def test_duplicates_are_one_even_when_f_is_pure_rounding_noise():
    # an f whose output is rounding noise around 0 on every row: duplicates still get L_ij = 1
    noise = lambda z: torch.randn(z.shape[0], 2, dtype=z.dtype) * 1e-30  # noqa: E731
    x = torch.ones(3, 2, dtype=torch.float64)
    assert linear_connectivity(noise, x).tolist() == [[1.0] * 3] * 3


def test_constant_output_coordinate_counts_as_straight():
    # output 1 ignores the input: r² would be 0/0; it is defined as 1
    first, lin = nn.Linear(2, 2).double(), nn.Linear(2, 2).double()
    with torch.no_grad():  # fixed weights: output 0 = tanh(x_0), output 1 = 0.5
        first.weight.copy_(torch.eye(2))
        first.bias.zero_()
        lin.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
        lin.bias.copy_(torch.tensor([0.0, 0.5]))
    f = nn.Sequential(first, nn.Tanh(), lin)
    x = torch.tensor([[-3.0, 0.0], [3.0, 1.0]], dtype=torch.float64)
    L = linear_connectivity(f, x)
    r2_out0 = brute_force_L(lambda z: f(z)[:, :1], x)[0, 1]  # output 0 alone, by numpy
    assert r2_out0 < 0.99  # curved along the segment, so L_01 = 1 would be wrong
    assert L[0, 1].item() == pytest.approx((r2_out0 + 1.0) / 2, abs=1e-12)  # mean of r²_0 and 1


def test_nan_weights_raise_value_error():
    f = silu_net()
    with torch.no_grad():
        f[2].weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="non-finite"):
        linear_mapping_number(f, torch.randn(4, 5, dtype=torch.float64))


def test_bad_arguments_are_user_errors():
    f = silu_net()
    with pytest.raises(UserError):
        linear_connectivity(f, torch.randn(5, dtype=torch.float64))
    with pytest.raises(UserError):
        linear_connectivity(f, torch.randn(4, 5, dtype=torch.float64), n_interp=2)
    with pytest.raises(UserError):
        linear_connectivity(f, torch.zeros(4, 2, dtype=torch.long))
    with pytest.raises(UserError):
        linear_connectivity(lambda z: z.sum(), torch.randn(4, 5))


def test_single_sample_gives_one():
    assert linear_mapping_number(silu_net(), torch.randn(1, 5, dtype=torch.float64)) == 1.0


# -- models and the plugin -----------------------------------------------------------------
def paper_like_model(seed=0):
    torch.manual_seed(seed)
    return StagedModel([PairEmbedding(7, 4), nn.Linear(8, 12), nn.SiLU(), nn.Linear(12, 12), nn.SiLU(),
                        nn.Linear(12, 7)], input_stage=1, hidden_stage=3)


def test_model_lmn_default_is_first_hidden_layer_to_logits():
    model = paper_like_model()
    grid = torch.cartesian_prod(torch.arange(7), torch.arange(7))
    tokens = grid[torch.randperm(49, generator=torch.Generator().manual_seed(0))[:20]]  # distinct pairs
    h = model.stage_outputs(tokens)[2].detach()
    expected = lmn_from_connectivity(torch.tensor(brute_force_L(model.tail(3), h)))
    assert model_lmn(model, tokens) == pytest.approx(expected, rel=1e-5)
    # other layer choices: from the embeddings, and hidden -> second hidden (pre-activation)
    emb = model.stage_outputs(tokens)[0].detach()
    assert model_lmn(model, tokens, start=1) == pytest.approx(linear_mapping_number(model.tail(1), emb), rel=1e-12)
    assert model_lmn(model, tokens, start=3, stop=4) == pytest.approx(1.0, abs=1e-6)  # affine piece (float32)
    with pytest.raises(UserError):
        model_lmn(model, tokens, start=4, stop=2)


def test_plugin_uses_cached_activations():
    from complexity_bench.testing import toy_context

    model, ctx = toy_context()
    value = LMNMeasure().compute(model, ctx)
    acts = ctx.activations(model)
    assert value == pytest.approx(
        linear_mapping_number(model.tail(model.hidden_stage), acts[model.hidden_stage - 1]), rel=1e-12)
    assert 1.0 <= value <= len(ctx.probe_x)


def test_one_hidden_layer_net_measures_from_the_input_stage():
    torch.manual_seed(0)
    model = StagedModel([nn.Linear(6, 20), nn.ReLU(), nn.Linear(20, 1)], input_stage=0, hidden_stage=2)
    x = torch.randn(15, 6)
    assert model_lmn(model, x, start=2) == pytest.approx(1.0, abs=1e-6)  # a single Linear: always 1
    assert model_lmn(model, x) == pytest.approx(linear_mapping_number(model.tail(0), x), rel=1e-12)
    assert model_lmn(model, x) > 1.5


def test_f_returning_a_strided_view_is_accepted():
    f = silu_net(d_out=4, seed=9)
    strided = lambda z: f(z).T.contiguous().T  # noqa: E731  (same values, column-major layout)
    x = torch.randn(6, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(8))
    torch.testing.assert_close(linear_connectivity(strided, x), linear_connectivity(f, x, affine_prefix=False))
