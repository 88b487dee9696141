"""Region counts against brute-force sign-pattern enumeration and analytic cases."""

from __future__ import annotations

import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from complexity_bench.errors import UserError
from complexity_bench.measures.linear_regions import (
    LinearRegionsMeasure, count_regions_batch, count_regions_on_segment, count_sign_changes_batch,
    probe_segments,
)
from complexity_bench.contracts.models import PairEmbedding, StagedModel


def relu_net(widths, seed, leaky=None):
    torch.manual_seed(seed)
    mods = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        mods.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            mods.append(nn.ReLU() if leaky is None else nn.LeakyReLU(leaky))
    return nn.Sequential(*mods).double()


def brute_force_regions(net, x0, x1, min_length=1e-9):
    """Enumerate every sign pattern s of the hidden neurons. With s forced, the net is affine in t,
    so {t in [0,1] : pattern(x(t)) = s} is an interval cut out by linear inequalities; count the
    patterns whose interval has positive length (regions are convex: one interval each)."""
    linears = [m for m in net if isinstance(m, nn.Linear)]
    acts = [m for m in net if isinstance(m, (nn.ReLU, nn.LeakyReLU))]
    widths = [l.out_features for l in linears[:-1]]
    n = sum(widths)
    patterns = torch.tensor(list(itertools.product([0, 1], repeat=n)), dtype=torch.bool)  # (2^n, n)
    P = patterns.shape[0]
    h = x0.double().expand(P, -1)
    dh = (x1 - x0).double().expand(P, -1)
    lo = torch.zeros(P, dtype=torch.float64)
    hi = torch.ones(P, dtype=torch.float64)
    feasible = torch.ones(P, dtype=torch.bool)
    offset = 0
    with torch.no_grad():
        for lin, act, w in zip(linears, acts, widths):
            z, dz = lin(h), dh @ lin.weight.T.double()
            s = patterns[:, offset:offset + w]
            offset += w
            sign = torch.where(s, 1.0, -1.0).double()
            c, e = sign * z, sign * dz  # constraint c + t e >= 0
            bound = -c / e
            lo = torch.maximum(lo, torch.where(e > 0, bound, torch.full_like(bound, -1.0)).amax(1))
            hi = torch.minimum(hi, torch.where(e < 0, bound, torch.full_like(bound, 2.0)).amin(1))
            feasible &= ((e != 0) | (c >= 0)).all(1)
            slope = 0.0 if isinstance(act, nn.ReLU) else act.negative_slope
            h = torch.where(s, z, slope * z)
            dh = torch.where(s, dz, slope * dz)
    return int((feasible & (hi - lo > min_length)).sum())


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), widths=st.sampled_from([[2, 5, 5, 1], [3, 4, 4, 4, 2], [1, 8, 3], [3, 12, 2], [4, 6, 5, 3]]),
       leaky=st.sampled_from([None, 0.1]), scale=st.floats(0.5, 4.0))
def test_walk_matches_brute_force_enumeration(seed, widths, leaky, scale):
    net = relu_net(widths, seed, leaky)
    g = torch.Generator().manual_seed(seed)
    x0 = scale * torch.randn(widths[0], dtype=torch.float64, generator=g)
    x1 = scale * torch.randn(widths[0], dtype=torch.float64, generator=g)
    assert count_regions_on_segment(net, x0, x1) == brute_force_regions(net, x0, x1)


def test_batched_walk_matches_one_by_one():
    net = relu_net([3, 5, 5, 2], seed=3)
    g = torch.Generator().manual_seed(0)
    x0, x1 = 3 * torch.randn(40, 3, generator=g, dtype=torch.float64), 3 * torch.randn(40, 3, generator=g, dtype=torch.float64)
    batched = count_regions_batch(net, x0, x1)
    single = [brute_force_regions(net, a, b) for a, b in zip(x0, x1)]
    assert batched.tolist() == single
    assert batched.max() > 3  # the test exercises multi-region segments


def test_segment_inside_one_region_counts_one():
    net = relu_net([3, 6, 6, 2], seed=1)
    x0 = torch.tensor([0.3, -0.2, 0.5], dtype=torch.float64)
    x1 = x0 + 1e-6 * torch.tensor([1.0, 2.0, -1.0], dtype=torch.float64)
    assert brute_force_regions(net, x0, x1, min_length=0) == 1
    assert count_regions_on_segment(net, x0, x1) == 1
    assert count_regions_on_segment(net, x0, x0) == 1  # zero length (duplicate probe points)


def test_one_hidden_layer_counts_neurons_changing_sign():
    # first-layer pre-activations are affine along a segment: each changes sign at most once,
    # exactly when its signs at the ends differ; distinct crossings a.s., so R = 1 + that number
    torch.manual_seed(0)
    for act in (nn.ReLU(), nn.Tanh(), nn.SiLU()):
        net = nn.Sequential(nn.Linear(4, 50), act, nn.Linear(50, 3)).double()
        x0, x1 = torch.randn(4, dtype=torch.float64), torch.randn(4, dtype=torch.float64)
        z0, z1 = net[0](x0), net[0](x1)
        expected = 1 + int(((z0 > 0) != (z1 > 0)).sum())
        assert count_regions_on_segment(net, x0, x1) == expected


def test_one_layer_closed_form_equals_the_step_by_step_walk():
    # an identity Linear in front hides the one-layer structure and forces the general walk
    for leaky in (None, 0.05):
        net = relu_net([8, 400, 1], seed=11, leaky=leaky)
        walked = nn.Sequential(nn.Linear(8, 8).double(), *net)
        with torch.no_grad():
            walked[0].weight.copy_(torch.eye(8))
            walked[0].bias.zero_()
        g = torch.Generator().manual_seed(2)
        x0, x1 = torch.randn(20, 8, dtype=torch.float64, generator=g), torch.randn(20, 8, dtype=torch.float64, generator=g)
        closed = count_regions_batch(net, x0, x1)
        assert torch.equal(closed, count_regions_batch(walked, x0, x1))
        assert closed.min() > 50


def test_float32_model_is_walked_in_float64():
    net32 = relu_net([2, 5, 5, 1], seed=7).float()
    x0, x1 = torch.tensor([-2.0, 1.0]), torch.tensor([2.5, -1.5])
    assert count_regions_on_segment(net32, x0, x1) == brute_force_regions(net32.double(), x0.double(), x1.double())


def test_wide_relu_net_walk_agrees_with_dense_grid():
    # 200 hidden neurons: no enumeration, but a 40k-point grid sees every region thicker than 2.5e-5
    net = relu_net([16, 100, 100, 10], seed=2)
    g = torch.Generator().manual_seed(1)
    x0, x1 = torch.randn(6, 16, generator=g, dtype=torch.float64), torch.randn(6, 16, generator=g, dtype=torch.float64)
    exact = count_regions_batch(net, x0, x1)
    grid = count_sign_changes_batch(net, x0, x1, n_grid=40_000)
    assert (grid <= exact).all() or (grid == exact).all()
    assert (exact - grid).abs().sum() <= 2  # a near-tie may hide in one grid cell
    assert exact.min() > 5


def test_smooth_net_grid_count_converges():
    torch.manual_seed(4)
    net = nn.Sequential(nn.Linear(3, 20), nn.Tanh(), nn.Linear(20, 20), nn.SiLU(), nn.Linear(20, 2)).double()
    x0, x1 = 2 * torch.randn(5, 3, dtype=torch.float64), 2 * torch.randn(5, 3, dtype=torch.float64)
    coarse = count_sign_changes_batch(net, x0, x1, n_grid=1024)
    fine = count_sign_changes_batch(net, x0, x1, n_grid=100_000)
    assert (coarse <= fine).all() and (fine - coarse).sum() <= 1
    assert count_regions_on_segment(net, x0[0], x1[0]) == int(coarse[0])


def test_staged_model_walks_from_input_stage():
    torch.manual_seed(0)
    model = StagedModel([PairEmbedding(5, 3), nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 5)], input_stage=1)
    e = model.stage_outputs(torch.tensor([[0, 1], [3, 4]]))[0].detach()
    assert count_regions_on_segment(model, e[0], e[1]) == count_regions_on_segment(model.tail(1), e[0], e[1])


def test_bad_input():
    net = relu_net([2, 3, 1], seed=0)
    with pytest.raises(UserError):
        count_regions_on_segment(nn.Sequential(nn.Embedding(3, 2), nn.Linear(2, 1)), torch.zeros(2), torch.ones(2))
    with pytest.raises(UserError):
        count_regions_batch(net, torch.zeros(2, 2), torch.zeros(3, 2))
    with pytest.raises(UserError):
        count_regions_batch(nn.Sequential(nn.Linear(2, 3), nn.Tanh()), torch.zeros(1, 2), torch.ones(1, 2))
    with torch.no_grad():
        net[0].weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="non-finite"):
        count_regions_on_segment(net, torch.zeros(2), torch.ones(2))


def test_probe_segments_are_fixed_and_never_self_pairs():
    x = torch.arange(10.0).unsqueeze(1)
    a0, b0 = probe_segments(x)
    a1, b1 = probe_segments(x)
    assert torch.equal(a0, a1) and torch.equal(b0, b1)
    assert (a0 != b0).all()
    assert sorted(a0.squeeze().tolist()) == sorted(b0.squeeze().tolist()) == list(range(10))


def test_plugin_matches_functional_core():
    from complexity_bench.testing import toy_context

    model, ctx = toy_context()
    out = LinearRegionsMeasure().compute(model, ctx)
    x = ctx.activations(model)[model.input_stage - 1]
    x0, x1 = probe_segments(x)
    # 32 hidden neurons: too many to enumerate; the walk itself is checked above, here the wrapper
    counts = [count_regions_on_segment(model.tail(model.input_stage), a, b) for a, b in zip(x0, x1)]
    grid = count_sign_changes_batch(model.tail(model.input_stage), x0, x1, n_grid=20_000)
    assert (grid == torch.tensor(counts)).float().mean() > 0.9
    assert out["per-segment"] == pytest.approx(sum(counts) / len(counts), rel=1e-12)
    length = float((x1.double() - x0.double()).norm(dim=1).sum())
    assert out["per-unit-length"] == pytest.approx((sum(counts) - len(counts)) / length, rel=1e-12)


def test_linear_regions_only_where_they_exist():
    """A smooth net has no linear regions: its sign-change count has its own name
    (activation-pattern-changes), and linear-regions applies to ReLU-family tasks only."""
    from complexity_bench.contracts.measure import MEASURES
    from complexity_bench.contracts.task import get_task

    regions, changes = MEASURES.get("linear-regions"), MEASURES.get("activation-pattern-changes")
    silu, relu = get_task("modadd-mlp"), get_task("modadd-relu")
    assert not regions.applicable(silu, silu.make_model(silu.resolve({}), 0))
    assert regions.applicable(relu, relu.make_model(relu.resolve({}), 0))
    assert changes.applicable(silu, silu.make_model(silu.resolve({}), 0))


def test_pattern_changes_equal_exact_regions_on_relu_nets():
    """On a piecewise-linear net every pattern change is a region boundary: the two
    measures agree exactly (the grid would only bound it from below)."""
    from complexity_bench.contracts.measure import MEASURES
    from complexity_bench.testing import toy_context

    model, ctx = toy_context()
    regions = MEASURES.get("linear-regions").compute(model, ctx.for_measure("linear-regions"))
    changes = MEASURES.get("activation-pattern-changes").compute(model, ctx.for_measure("activation-pattern-changes"))
    assert regions == changes


def test_region_measures_walk_once_per_checkpoint(monkeypatch):
    """On a ReLU net linear-regions and activation-pattern-changes count by the same
    exact walk of the same segments: one checkpoint's context walks them once for both,
    and both values are exactly those each measure computes on a context of its own."""
    import complexity_bench.measures.linear_regions as regions_module
    from complexity_bench.contracts.measure import MEASURES, compute_measure
    from complexity_bench.testing import toy_context

    names = ("activation-pattern-changes", "linear-regions")
    alone = {}
    for name in names:
        model, ctx = toy_context()
        alone[name] = compute_measure(MEASURES.get(name), model, ctx)
    walks = []
    walk = regions_module.count_regions_batch
    monkeypatch.setattr(regions_module, "count_regions_batch", lambda *a, **k: walks.append(1) or walk(*a, **k))
    model, ctx = toy_context()
    together = {name: compute_measure(MEASURES.get(name), model, ctx) for name in names}
    assert len(walks) == 1
    assert together == alone
    # another checkpoint (a fresh context) walks again
    _, later = toy_context(trained_steps=31)
    compute_measure(MEASURES.get("linear-regions"), model, later)
    assert len(walks) == 2


@pytest.mark.parametrize("count", [count_regions_batch, count_sign_changes_batch])
def test_layers_after_the_last_activation_are_not_computed(count):
    """The affine layers after the last activation cannot change a count: neither count
    multiplies by them (no product as wide as the 7-wide output), and the counts equal
    those of the net without them."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Widths(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.seen = set()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if func in (torch.ops.aten.addmm.default, torch.ops.aten.mm.default):
                self.seen.add(out.shape[-1])
            return out

    net = relu_net([3, 5, 4, 7], seed=1)
    torch.manual_seed(2)
    x0, x1 = torch.randn(6, 3, dtype=torch.float64), torch.randn(6, 3, dtype=torch.float64)
    with Widths() as mode:
        counts = count(net, x0, x1)
    assert 7 not in mode.seen
    assert torch.equal(counts, count(net[:-1], x0, x1))
