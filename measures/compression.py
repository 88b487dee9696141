"""Compression complexity (DeMoss, Sapora, Foerster, Hawes & Posner 2024).

The complexity of a net is the length of the shortest description of a coarse-grained
copy that still fits the training data as well. Concretely:

1. **Quantise** every parameter on one uniform grid of width Δ: θ̃ = Δ · round(θ / Δ)
   (integer codes q = round(θ / Δ), −0 = 0).
2. **Coarsest Δ**: Δ runs down a geometric grid Δ_j = 2·max|θ| · 2^(−j/4) (four widths
   per octave; at j = 0 every code is 0) to 2^(−20)·max|θ|; the largest Δ with
   |L(θ̃) − L(θ)| ≤ ε is kept. L is the task's mean training loss on the full training
   set, evaluated in float64 on the model's outputs. The search scans whole octaves
   from the coarse end to the first feasible one, then the quarter-octave widths just
   above it: the coarsest feasible width on the grid unless the loss, which is not
   monotone in Δ, is feasible above an infeasible octave point (DeMoss et al. bisect,
   which assumes monotonicity throughout).
3. **Code length**: the codes of all parameters (``named_parameters`` order) as
   little-endian integers of the narrowest width holding them all (1, 2, 4 or 8
   bytes), compressed by ``zlib`` at level 9 (DEFLATE; it matched lzma's size on
   int8 codes here within 1% at a tenth of a millisecond, where lzma preset 9 spends
   ~150 ms setting up its 64 MB dictionary); the measure is that byte count. The width Δ
   itself (8 bytes) is left out: it is the same for every net.

Tolerance: ε = ``eps_frac`` · L(0), with L(0) the training loss of the all-zero net
(every code 0; log C for C-class cross-entropy, 1 for hinge, mean y² for MSE), so ε
has one meaning across losses. The default ``eps_frac = 0.03`` gives ε = 0.103 nats on
the 31-class tasks, DeMoss et al.'s ε = 0.1. Consequence, by design: a net whose
loss is within ε of the trivial predictor's (e.g. at initialisation) quantises to all
zeros and costs almost nothing.

DeMoss et al. compress pickled float arrays of the quantised values with bzip2 and
also search a low-rank factorisation (Bayesian optimisation over (Δ, rank
threshold)); we quantise only and code integers, the "cleaner variant" of
shared/reference/measures.md §5. Compare trajectories, not absolute byte counts
across architectures. direction = +1 (more bytes = more complex).

Example::

    >>> import torch
    >>> code_length({"w": torch.zeros(1000, dtype=torch.long)}) < 40
    True
"""

from __future__ import annotations

import zlib
from typing import Callable, Mapping

import torch
from torch import nn
from torch.func import functional_call

from complexity_bench.contracts.measure import MeasureContext, measure

__all__ = ["quantise", "dequantise", "encode_codes", "code_length", "delta_grid", "coarsest_delta",
           "compression_complexity", "model_compression"]

DEFAULT_EPS_FRAC = 0.03
STEPS_PER_OCTAVE = 4
OCTAVES = 21  # 2·max|θ| down to 2^-20·max|θ|: finer than float32's relative error is useless
ZLIB_LEVEL = 9


def quantise(params: Mapping[str, torch.Tensor], delta: float) -> dict[str, torch.Tensor]:
    """Integer codes round(θ / Δ) (int64; round half to even)."""
    return {k: torch.round(v.detach().double() / delta).long() for k, v in params.items()}


def dequantise(codes: Mapping[str, torch.Tensor], delta: float, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """Δ · codes, in ``dtype``."""
    return {k: (c.double() * delta).to(dtype) for k, c in codes.items()}


def encode_codes(codes: Mapping[str, torch.Tensor]) -> bytes:
    """All codes, concatenated in order, as little-endian integers of the narrowest sufficient width."""
    # cpu: no codes, no bytes (the bytes are made on the host: .cpu() below, for a CUDA model's codes)
    flat = torch.cat([c.flatten() for c in codes.values()]) if codes else torch.zeros(0, dtype=torch.long)
    biggest = int(flat.abs().max()) if flat.numel() else 0
    for dtype, limit in ((torch.int8, 2**7), (torch.int16, 2**15), (torch.int32, 2**31)):
        if biggest < limit:
            return flat.to(dtype).cpu().numpy().astype(f"<i{dtype.itemsize}").tobytes()
    return flat.cpu().numpy().astype("<i8").tobytes()


def code_length(codes: Mapping[str, torch.Tensor]) -> int:
    """Bytes of the zlib-compressed (level 9) integer codes."""
    return len(zlib.compress(encode_codes(codes), ZLIB_LEVEL))


def delta_grid(max_abs: float, steps_per_octave: int = STEPS_PER_OCTAVE, octaves: int = OCTAVES) -> list[float]:
    """Bin widths from 2·max|θ| (all codes 0) down by 2^(1/steps_per_octave), coarse first."""
    return [2.0 * max_abs * 2.0 ** (-j / steps_per_octave) for j in range(steps_per_octave * octaves + 1)]


def coarsest_delta(
    loss_of: Callable[[dict[str, torch.Tensor]], float],
    params: Mapping[str, torch.Tensor],
    eps: float,
    grid: list[float],
    stride: int = STEPS_PER_OCTAVE,
) -> tuple[float, float, bool]:
    """(Δ, L(θ̃_Δ), feasible): a coarsest Δ of ``grid`` (coarse first) with |L(θ̃_Δ) − L(θ)| ≤ eps.

    Two passes: every ``stride``-th width from the coarse end until the first feasible
    one, then the widths between it and the infeasible one before it, coarse first.
    With ``stride=1`` this is the exhaustive scan (the first feasible width of the
    grid); a larger stride can only miss a feasible width that lies above an
    infeasible coarse-pass width (the loss is not monotone in Δ), and costs ~4× fewer
    loss evaluations. When no width is feasible the finest one is returned with
    ``feasible=False``.
    """
    dtypes = {k: v.dtype for k, v in params.items()}
    reference = loss_of(dict(params))

    def loss_at(delta: float) -> float:
        return loss_of({k: (c.double() * delta).to(dtypes[k]) for k, c in quantise(params, delta).items()})

    coarse = list(range(0, len(grid), stride))
    if coarse[-1] != len(grid) - 1:
        coarse.append(len(grid) - 1)
    previous = -1
    for j in coarse:
        loss = loss_at(grid[j])
        if abs(loss - reference) <= eps:
            for i in range(previous + 1, j):  # refine between the last infeasible and this width
                refined = loss_at(grid[i])
                if abs(refined - reference) <= eps:
                    return grid[i], refined, True
            return grid[j], loss, True
        previous = j
    return grid[-1], loss, False


def compression_complexity(
    loss_of: Callable[[dict[str, torch.Tensor]], float],
    params: Mapping[str, torch.Tensor],
    eps_frac: float = DEFAULT_EPS_FRAC,
) -> dict[str, float]:
    """Bytes of the coarsest ε-feasible quantisation, with the width and tolerance used.

    ``loss_of`` maps a parameter dict to the (float) training loss; ε = eps_frac · L(0).
    """
    params = {k: v.detach() for k, v in params.items()}
    zero_loss = loss_of({k: torch.zeros_like(v) for k, v in params.items()})
    eps = eps_frac * abs(zero_loss)
    max_abs = max(float(v.abs().max()) for v in params.values())
    if max_abs == 0.0:
        delta, feasible = 1.0, True  # every code is 0 at any width
    else:
        delta, _, feasible = coarsest_delta(loss_of, params, eps, delta_grid(max_abs))
    return {"bytes": float(code_length(quantise(params, delta))), "delta": delta, "eps": eps,
            "feasible": float(feasible)}


def model_compression(
    model: nn.Module, loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x: torch.Tensor, y: torch.Tensor, eps_frac: float = DEFAULT_EPS_FRAC,
) -> dict[str, float]:
    """:func:`compression_complexity` of ``model`` on (x, y); the model itself is never modified."""
    y64 = y.double() if y.is_floating_point() else y

    def loss_of(p: dict[str, torch.Tensor]) -> float:
        with torch.no_grad():
            return float(loss(functional_call(model, p, (x,)).double(), y64))

    return compression_complexity(loss_of, dict(model.named_parameters()), eps_frac)


@measure(name="compression", version="1", direction=+1, direction_source='DeMoss et al. 2024: the compressed description length falls as the network generalises', needs=("weights", "data"), cost="cheap",
         reference="DeMoss, Sapora, Foerster, Hawes & Posner 2024, The Complexity Dynamics of Grokking "
                   "(arXiv 2412.09810)",
         description="zlib bytes of the integer codes of the coarsest uniform quantisation of all parameters whose "
                     "train loss stays within ε = 0.03·L(all-zero net) of the unquantised loss")
def compression_measure(model: nn.Module, ctx: MeasureContext) -> float:
    return model_compression(model, ctx.task.loss, ctx.x_train, ctx.y_train)["bytes"]
