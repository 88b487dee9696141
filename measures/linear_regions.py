"""Linear regions crossed by segments between probe points (Hanin & Rolnick 2019).

A ReLU / leaky-ReLU MLP is affine on each *activation region* (a set where the
sign pattern of every hidden pre-activation is constant). Along the segment
x(t) = x0 + t (x1 - x0), t in [0, 1], the number of regions crossed is

    R = 1 + (number of t in (0, 1) where the activation pattern changes).

**Exact walk** (piecewise-linear nets, float64): at the current t compute every
pre-activation z and its directional derivative dz = d z / d t (forward mode,
layer by layer, with the pattern of the region being entered: a neuron with
|z| <= tol takes the sign of dz). Inside the region every z is affine in t, so
the region ends at t + min{-z/dz : z moving towards 0}; jump there, count one
more region, repeat until t >= 1. Many segments walk at once (one batched
forward per step; in closed form when a single Linear precedes the only
activation layer). Regions thinner than the tolerance (1e-10 relative to the
pre-activation's scale ||W_i|| ||h|| + |b_i|) merge with a neighbour: below
float64 resolution they are indistinguishable from a tie.

**Smooth activations** (SiLU, tanh, GELU, ...): the network has no linear
regions. The measure ``activation-pattern-changes`` counts pre-activation sign
changes instead, on any net (``linear-regions`` is only for piecewise-linear nets):
R = 1 + Σ over a uniform grid of ``n_grid`` intervals of the number of neurons
whose sign differs between the interval's ends. This is a lower bound that
converges to 1 + (number of zero crossings) as the grid is refined (a neuron
crossing twice inside one interval is missed); for a piecewise-linear net it
equals the exact count whenever no region is thinner than the grid spacing.

Non-finite weights or inputs raise ``ValueError``; unsupported layers raise
``UserError``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from complexity_bench.errors import UserError
from complexity_bench.contracts.measure import Measure, MeasureContext, MeasureInfo, register_measure

__all__ = [
    "count_regions_on_segment", "count_regions_batch", "count_sign_changes_batch",
    "probe_segments", "LinearRegionsMeasure",
]

PIECEWISE_LINEAR = (nn.ReLU, nn.LeakyReLU)
SMOOTH = (nn.SiLU, nn.Tanh, nn.GELU, nn.Sigmoid, nn.Softplus, nn.ELU, nn.Mish, nn.Softsign, nn.CELU, nn.SELU)
RTOL = 1e-10
PAIR_SEED = 20_231_009  # fixed: the same probe pairs at every checkpoint of every run


@dataclass(frozen=True)
class _Affine:
    weight_t: torch.Tensor  # float64 copies (transposed): the model is never touched
    bias: torch.Tensor
    row_norm: torch.Tensor  # ||W_i||_2, for the rounding-error scale of z_i
    abs_bias: torch.Tensor


@dataclass(frozen=True)
class _Act:
    module: nn.Module
    negative_slope: float | None  # None: smooth activation


def _flatten(net: nn.Module) -> list[nn.Module]:
    stages = getattr(net, "stages", None)
    if stages is not None and hasattr(net, "input_stage"):  # a StagedModel: walk its real-vector part
        return _flatten(nn.Sequential(*list(stages)[net.input_stage:]))
    if isinstance(net, (nn.Sequential, nn.ModuleList)):
        out: list[nn.Module] = []
        children = list(net)
        for k, child in enumerate(children):
            pattern = getattr(child, "activation_pattern_layers", None)
            if pattern is not None:
                # A block that is not a chain (a residual ReLU MLP) but whose activation
                # regions are those of its own first layers: walk those. Exact only when
                # everything after it is affine (adds no boundary), so then stop there.
                rest = [m for c in children[k + 1:] for m in _flatten(c)]
                if not all(isinstance(m, (nn.Linear, nn.Identity)) for m in rest):
                    raise UserError(f"{type(child).__name__} gives its activation pattern only when the "
                                    "rest of the net is affine; here an activation follows it")
                return out + list(pattern())
            out.extend(_flatten(child))
        return out
    return [net]


def _layers(net: nn.Module) -> list[_Affine | _Act]:
    out: list[_Affine | _Act] = []
    for m in _flatten(net):
        if isinstance(m, nn.Linear):
            w = m.weight.detach().to(torch.float64)
            b = (torch.zeros(w.shape[0], dtype=torch.float64, device=w.device) if m.bias is None
                 else m.bias.detach().to(torch.float64))
            if not (torch.isfinite(w).all() and torch.isfinite(b).all()):
                raise ValueError("network has non-finite weights: region count undefined")
            out.append(_Affine(w.T.contiguous(), b, w.norm(dim=1), b.abs()))
        elif isinstance(m, nn.ReLU):
            out.append(_Act(m, 0.0))
        elif isinstance(m, nn.LeakyReLU):
            out.append(_Act(m, float(m.negative_slope)))
        elif isinstance(m, SMOOTH):
            out.append(_Act(m, None))
        elif isinstance(m, nn.Identity):
            continue
        else:
            raise UserError(
                f"region counting needs a net of Linear layers and elementwise activations; got {type(m).__name__} "
                "(for a task model pass model.tail(model.input_stage) and inputs in that stage's space)"
            )
    return out


def _through_last_activation(layers: list[_Affine | _Act]) -> list[_Affine | _Act]:
    """``layers`` up to the last activation: the affine layers after it move no
    pre-activation of an activation layer, so they cannot change a count."""
    acts = [k for k, l in enumerate(layers) if isinstance(l, _Act)]
    return layers[:acts[-1] + 1] if acts else []


def _as_segments(x0: torch.Tensor, x1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(x0, torch.Tensor) or not isinstance(x1, torch.Tensor) or x0.shape != x1.shape:
        raise UserError("segment ends x0 and x1 must be tensors of the same shape")
    if x0.ndim != 2 or x0.shape[0] == 0:
        raise UserError(f"segment ends must have shape (S, d) with S >= 1, got {tuple(x0.shape)}")
    if not x0.dtype.is_floating_point or not x1.dtype.is_floating_point:
        raise UserError("segment ends must be floating point (real input vectors, not tokens)")
    a, b = x0.detach().to(torch.float64), x1.detach().to(torch.float64)
    if not (torch.isfinite(a).all() and torch.isfinite(b).all()):
        raise ValueError("segment ends have non-finite entries: region count undefined")
    return a, b


def _one_layer_counts(layer: _Affine, a: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
    """The walk in closed form when a single Linear precedes the only activation layer.

    Then z_i(t) = z_i(0) + t dz_i on the whole segment, so neuron i crosses at
    t_i = -z_i(0)/dz_i, and R = 1 + the number of distinct t_i in (0, 1).
    Crossings closer than the walk's tolerance, |z_j(t_i)| <= tol_j, count as
    one, as they do in the walk (wide one-hidden-layer nets, e.g. sparse
    parity, would otherwise take one batched step per region).
    """
    z = torch.addmm(layer.bias, a, layer.weight_t)
    dz = direction @ layer.weight_t
    tol = torch.outer(a.norm(dim=1), layer.row_norm).add_(layer.abs_bias).mul_(RTOL)
    t = z.div(dz).neg_()
    inside = (t > 0) & (t < 1) & (z.abs() > tol)
    t = t.masked_fill_(~inside, math.inf)
    order = t.argsort(dim=1)
    t_sorted = t.gather(1, order)
    # neuron j merges with the previous crossing if it is within its tolerance there
    slack = (tol / dz.abs()).gather(1, order)
    gap = t_sorted[:, 1:] - t_sorted[:, :-1]
    distinct = torch.cat([t_sorted[:, :1] < 1, (t_sorted[:, 1:] < 1) & (gap > slack[:, 1:])], dim=1)
    return 1 + distinct.sum(dim=1)


def count_regions_batch(net: nn.Module, x0: torch.Tensor, x1: torch.Tensor, max_steps: int = 1_000_000) -> torch.Tensor:
    """Exact activation-region counts of the segments x0[s] -> x1[s] (S, d) through a piecewise-linear net.

    Returns an int64 tensor (S,); a zero-length segment counts 1.

    >>> net = nn.Sequential(nn.Linear(1, 3), nn.ReLU(), nn.Linear(3, 1))
    >>> with torch.no_grad():
    ...     _ = net[0].weight.fill_(1.0); _ = net[0].bias.copy_(torch.tensor([-0.5, -1.5, -2.5]))
    >>> count_regions_batch(net, torch.tensor([[0.0], [0.0]]), torch.tensor([[3.0], [1.0]])).tolist()
    [4, 2]
    """
    layers = _through_last_activation(_layers(net))
    if any(isinstance(l, _Act) and l.negative_slope is None for l in layers):
        raise UserError("count_regions_batch needs ReLU / leaky-ReLU activations; use count_sign_changes_batch for smooth ones")
    a, b = _as_segments(x0, x1)
    direction = b - a
    acts = [k for k, l in enumerate(layers) if isinstance(l, _Act)]
    if acts == [1] and isinstance(layers[0], _Affine):
        return _one_layer_counts(layers[0], a, direction)
    n = a.shape[0]
    t = torch.zeros(n, dtype=torch.float64, device=a.device)
    count = torch.ones(n, dtype=torch.int64, device=a.device)
    active = torch.arange(n, device=a.device)
    with torch.no_grad():
        for _ in range(max_steps):
            if active.numel() == 0:
                return count
            h = torch.addcmul(a[active], t[active, None], direction[active])
            dh = direction[active]
            step = torch.full((active.numel(),), math.inf, dtype=torch.float64, device=a.device)
            for layer in layers:
                if isinstance(layer, _Affine):
                    # rounding scale of z_i: ||W_i|| ||h|| + |b_i| bounds Σ_j |W_ij h_j| + |b_i|
                    tol = torch.outer(h.norm(dim=1), layer.row_norm).add_(layer.abs_bias).mul_(RTOL)
                    h = torch.addmm(layer.bias, h, layer.weight_t)
                    dh = dh @ layer.weight_t
                    continue
                near = h.abs() <= tol
                # the pattern of the region being entered: sign of z, or of dz when z is ~0
                on = torch.where(near, dh > 0, h > 0)
                # z reaches 0 after -z/dz > 0 (z and dz of opposite signs), unless it sits at 0 already
                dist = h.div(dh).neg_()
                dist.masked_fill_((dist <= 0) | dist.isnan() | near, math.inf)
                step = torch.minimum(step, dist.amin(dim=1))
                if layer.negative_slope == 0.0:
                    off = ~on
                    h, dh = h.masked_fill_(off, 0.0), dh.masked_fill_(off, 0.0)
                else:
                    slope = on.to(torch.float64).mul_(1.0 - layer.negative_slope).add_(layer.negative_slope)
                    h, dh = h.mul_(slope), dh.mul_(slope)
            t_next = t[active] + step
            cont = t_next < 1.0
            t[active[cont]] = t_next[cont]
            count[active[cont]] += 1
            active = active[cont]
    raise RuntimeError(f"region walk did not finish within max_steps={max_steps}")


def count_sign_changes_batch(net: nn.Module, x0: torch.Tensor, x1: torch.Tensor, n_grid: int = 1024,
                             chunk_points: int = 262_144) -> torch.Tensor:
    """1 + pre-activation sign changes along each segment, on a grid of ``n_grid`` intervals (any activations).

    >>> net = nn.Sequential(nn.Linear(1, 3), nn.Tanh(), nn.Linear(3, 1))
    >>> with torch.no_grad():
    ...     _ = net[0].weight.fill_(1.0); _ = net[0].bias.copy_(torch.tensor([-0.5, -1.5, -2.5]))
    >>> count_sign_changes_batch(net, torch.tensor([[0.0]]), torch.tensor([[3.0]])).tolist()
    [4]
    """
    if not isinstance(n_grid, int) or n_grid < 1:
        raise UserError(f"n_grid must be a positive integer, got {n_grid!r}")
    layers = _through_last_activation(_layers(net))
    a, b = _as_segments(x0, x1)
    # made on the CPU and moved: the same grid points on every device
    t = torch.linspace(0.0, 1.0, n_grid + 1, dtype=torch.float64).to(a.device)
    per_chunk = max(1, chunk_points // (n_grid + 1))
    counts = []
    with torch.no_grad():
        for s in range(0, a.shape[0], per_chunk):
            a_c, d_c = a[s:s + per_chunk], b[s:s + per_chunk] - a[s:s + per_chunk]
            h = (a_c[:, None, :] + t[None, :, None] * d_c[:, None, :]).reshape(-1, a.shape[1])
            flips = torch.zeros(a_c.shape[0], dtype=torch.int64, device=a.device)
            for layer in layers:
                if isinstance(layer, _Affine):
                    h = torch.addmm(layer.bias, h, layer.weight_t)
                    continue
                sign = (h > 0).view(a_c.shape[0], n_grid + 1, -1)
                flips += (sign[:, 1:] != sign[:, :-1]).sum(dim=(1, 2))
                h = layer.module(h) if layer.negative_slope is None else torch.where(h > 0, h, layer.negative_slope * h)
            counts.append(flips + 1)
    return torch.cat(counts)


def _is_piecewise_linear(net: nn.Module) -> bool:
    return all(not (isinstance(l, _Act) and l.negative_slope is None) for l in _layers(net))


def count_regions_on_segment(net: nn.Module, x0: torch.Tensor, x1: torch.Tensor, n_grid: int = 1024) -> int:
    """Regions crossed by the segment x0 -> x1 (1-D tensors of the net's input size).

    Exact for ReLU / leaky-ReLU nets (the walk); for nets with smooth
    activations, 1 + pre-activation sign changes on an ``n_grid`` grid. A
    StagedModel is walked from ``input_stage`` (x0, x1 in that stage's input space).

    >>> net = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
    >>> count_regions_on_segment(net, torch.zeros(2), torch.zeros(2))  # zero length: one region
    1
    """
    if not isinstance(x0, torch.Tensor) or x0.ndim != 1:
        raise UserError("count_regions_on_segment takes 1-D segment ends; use count_regions_batch for many")
    if _is_piecewise_linear(net):
        return int(count_regions_batch(net, x0[None], x1[None])[0])
    return int(count_sign_changes_batch(net, x0[None], x1[None], n_grid=n_grid)[0])


def probe_segments(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed pairs of probe points: x[π(k)] -> x[π(k+1 mod N)] for a permutation π seeded by a constant.

    Every point starts one segment and ends another; no point is paired with
    itself (for N >= 2), and the pairs are the same at every checkpoint.
    """
    n = x.shape[0]
    # cpu: drawn by a CPU generator (the same pairs on every device), then moved to x's device
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(PAIR_SEED)).to(x.device)
    return x[perm], x[perm.roll(-1)]


@register_measure
class LinearRegionsMeasure(Measure):
    """Plugin: mean linear regions per probe segment, and boundary crossings per unit
    length, counted exactly; piecewise-linear (ReLU-family) nets only, where linear
    regions exist. Smooth nets get :class:`ActivationPatternChangesMeasure`."""

    info = MeasureInfo(
        name="linear-regions",
        version="2",  # 2: piecewise-linear nets only (smooth nets: activation-pattern-changes)
        direction=+1,
        direction_source="Hanin & Rolnick 2019: more regions = a more complex function; Liu, Zhong & Tegmark "
                         "2023 and others report region counts falling as networks generalise",
        needs=frozenset({"weights", "data"}),
        cost="moderate",
        applies_to="piecewise_linear",
        reference="Hanin & Rolnick 2019, Complexity of Linear Regions in Deep Networks, ICML (arXiv 1901.09021)",
        description=(
            "Linear regions crossed by segments between fixed pairs of probe points, in the input space of "
            "the first real-vector stage, by an exact float64 walk (ReLU/leaky-ReLU nets only). Sub-measures: "
            "per-segment (mean count) and per-unit-length (boundary crossings / total segment length)"
        ),
    )

    def counts(self, net: nn.Module, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        if not _is_piecewise_linear(net):
            raise UserError("linear-regions counts exact regions of piecewise-linear nets only; "
                            "use activation-pattern-changes for smooth activations")
        return count_regions_batch(net, x0, x1)

    def compute(self, model: nn.Module, ctx: MeasureContext) -> dict[str, float]:
        start = getattr(model, "input_stage", 0)
        x = ctx.probe_x if start == 0 else ctx.activations(model)[start - 1]
        x = x.detach().flatten(1)
        if x.shape[0] < 2:
            raise UserError(f"{self.info.name} needs at least 2 probe points")
        net = model.tail(start) if hasattr(model, "tail") else model
        x0, x1 = probe_segments(x)
        if _is_piecewise_linear(net):
            # both region measures count by the same exact walk of the same segments here
            # (see ActivationPatternChangesMeasure): walked once per checkpoint, shared
            counts = ctx.shared(("exact-region-counts", id(model), start), lambda: count_regions_batch(net, x0, x1))
        else:
            counts = self.counts(net, x0, x1)
        length = float((x1.double() - x0.double()).norm(dim=1).sum())
        if length == 0:
            raise ValueError("all probe segments have zero length (duplicate probe points): density undefined")
        return {
            "per-segment": float(counts.double().mean()),
            "per-unit-length": float((counts - 1).sum()) / length,
        }


@register_measure
class ActivationPatternChangesMeasure(LinearRegionsMeasure):
    """Plugin: 1 + hidden pre-activation sign changes along probe segments, for any
    activation. On a smooth net these are hyperplane crossings, not linear regions (it
    has none), counted on a grid; on a piecewise-linear net every change of pattern is
    a region boundary, so the exact walk counts them (the same value as linear-regions,
    and ~90x cheaper than the grid on sparse parity's 1000-wide layer)."""

    # 256 intervals: on the paper's SiLU net (init and 1k-4k steps of training) the
    # mean count equalled that of 4,096 and 8,192 intervals, at a quarter of the cost of 1,024
    n_grid: int = 256

    info = MeasureInfo(
        name="activation-pattern-changes",
        version="2",  # 2: exact on piecewise-linear nets
        direction=+1,
        direction_source="as linear-regions (Hanin & Rolnick 2019), of which it is the smooth-net generalisation",
        needs=frozenset({"weights", "data"}),
        cost="moderate",
        applies_to="any",
        reference="Hanin & Rolnick 2019, Complexity of Linear Regions in Deep Networks, ICML (arXiv 1901.09021)",
        description=(
            "1 + hidden pre-activation sign changes along segments between fixed pairs of probe points, in the "
            "input space of the first real-vector stage: exact on ReLU-family nets (= linear-regions), on a "
            "256-interval grid for smooth activations (a lower bound on the zero crossings). Sub-measures: "
            "per-segment (mean) and per-unit-length (changes / total segment length)"
        ),
    )

    def counts(self, net: nn.Module, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        if _is_piecewise_linear(net):
            return count_regions_batch(net, x0, x1)
        return count_sign_changes_batch(net, x0, x1, n_grid=self.n_grid)
