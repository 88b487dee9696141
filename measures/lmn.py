"""Linear Mapping Number (Liu, Zhong & Tegmark 2023, arXiv 2310.05918).

For a (sub)network f: R^d1 -> R^d2 and N samples x_i:

1. for every pair (i, j) interpolate x(λ) = x_i + λ (x_j - x_i) at ``n_interp``
   (21) points λ = 0, 1/20, ..., 1 and map them through f;
2. for every output coordinate k take r²_k, the squared Pearson correlation of
   y_k(λ) with λ over those points; L_ij = mean_k r²_k, L_ii = 1, L symmetric;
3. with μ the eigenvalues of L, p = |μ| / Σ|μ|, S = -Σ p log2 p (0 log 0 = 0),
   LMN = 2^S.  1 <= LMN <= N; an affine f gives 1; L = I gives N.

The 0/0 case (paper silent): an output coordinate that is constant along a
segment is a straight line of slope 0, so its r² is defined as **1**. "Constant"
means its standard deviation over the segment is at most 64 ulps of its mean
(``rtol = 64 * eps(dtype of f's output)``), i.e. any variation is below the
working precision of the forward pass. A zero-length segment (duplicate probe
points, x_i == x_j exactly) gets L_ij = 1 explicitly: the two points share one
linear map, whatever rounding f adds.

Non-finite outputs of f raise ``ValueError`` (the harness records the value as
missing with that reason). Bad arguments raise ``UserError``.

Cost: N(N-1)/2 pairs x n_interp forward rows, computed in chunks of pairs with
one forward call per chunk (no Python loop over pairs); only the upper triangle
is computed, and the end points (λ = 0, 1) are mapped once per sample. Leading
affine layers of an ``nn.Sequential`` f (``nn.Linear``, ``nn.Identity``) are
applied to the N samples once instead of to every interpolated point: an affine
map of an interpolation is the interpolation of the images, so this changes
only rounding, and it removes most of the work for the paper's sub-network
(Linear(100,100)-SiLU-Linear(100,31)). A trailing Linear with an output width
that is not a multiple of 8 runs zero-padded (31 -> 32 columns: twice as fast
on CPU GEMM kernels); the padding never enters r².
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from complexity_bench.errors import UserError
from complexity_bench.contracts.measure import Measure, MeasureContext, MeasureInfo, register_measure

__all__ = [
    "interpolation_points", "r_squared", "lmn_from_connectivity", "linear_connectivity",
    "linear_mapping_number", "default_start", "model_lmn", "LMNMeasure",
]

# rows (pairs x n_interp) per forward call: 4096 rows x 100 floats (1.6 MB) keep a
# chunk's hidden activations in cache; 4x larger chunks measured ~12% slower
DEFAULT_CHUNK_ROWS = 4096


def interpolation_points(n_interp: int = 21, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """λ = 0, 1/(n-1), ..., 1 (the paper's 21 points: 0, 0.05, ..., 1).

    >>> interpolation_points(5).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    if not isinstance(n_interp, int) or n_interp < 3:
        raise UserError(f"n_interp must be an integer >= 3 (r² needs 3 points to mean anything), got {n_interp!r}")
    # cpu: the same λ on every device; linear_connectivity moves them to the samples' device
    return torch.linspace(0.0, 1.0, n_interp, dtype=dtype)


def r_squared(y: torch.Tensor, lam: torch.Tensor, rtol: float | None = None) -> torch.Tensor:
    """Squared Pearson correlation of each column of ``y`` with ``lam``.

    ``y`` has shape (..., T, K) (T points along a segment, K output coordinates),
    ``lam`` shape (T,). Returns (..., K) in float64:
    r² = cov(λ, y)² / (var λ · var y), computed in float64 on y centred along T
    (float32 sums would leave 1 - r² ~ 1e-7 for a straight line, which the
    entropy turns into an LMN error ~1e-6), and 1 for a column that is constant
    (std <= rtol·|mean|, rtol defaulting to 64 ulps of y's dtype).

    >>> lam = interpolation_points(21, torch.float64)
    >>> r_squared(torch.stack([3 * lam - 1, (lam - 0.5) ** 2, 0 * lam + 2], -1), lam).tolist()
    [1.0, 0.0, 1.0]
    """
    if rtol is None:
        rtol = 64 * torch.finfo(y.dtype).eps if y.dtype.is_floating_point else 0.0
    y = y.to(torch.float64)
    lc = lam.to(y.device, torch.float64)
    lc = lc - lc.mean()
    mean = y.mean(dim=-2, keepdim=True)
    yc = y - mean
    var = yc.square().sum(dim=-2)  # (..., K), = T·var y
    cov = torch.einsum("...tk,t->...k", yc, lc)  # = T·cov
    # clamp: a float excess over 1 would put L outside [0, 1]
    r2 = (cov.square() / (var * lc.square().sum())).clamp_(max=1.0)
    constant = var.sqrt() <= (rtol * math.sqrt(y.shape[-2])) * mean.squeeze(-2).abs()
    return r2.masked_fill_(constant, 1.0)


def _mean_r2_inplace(y: torch.Tensor, lc: torch.Tensor, rtol: float) -> torch.Tensor:
    """:func:`r_squared` for a float64 (P, T, K) buffer the caller owns (overwritten): 4x fewer passes."""
    mean = y.mean(dim=1, keepdim=True)
    y -= mean
    cov = torch.matmul(lc, y)  # (P, K) = T·cov
    var = y.mul_(y).sum(dim=1)  # (P, K) = T·var
    r2 = cov.square_().div_(var * lc.square().sum()).clamp_(max=1.0)
    constant = var.sqrt_() <= (rtol * math.sqrt(y.shape[1])) * mean.squeeze(1).abs()
    return r2.masked_fill_(constant, 1.0)


def lmn_from_connectivity(L: torch.Tensor) -> float:
    """LMN = 2^S, S = -Σ p log2 p, p = |μ| / Σ|μ| over the eigenvalues μ of symmetric L.

    >>> round(lmn_from_connectivity(torch.block_diag(*[torch.ones(2, 2)] * 3)), 9)
    3.0
    >>> round(lmn_from_connectivity(torch.eye(7)), 9)
    7.0
    """
    if L.ndim != 2 or L.shape[0] != L.shape[1] or L.shape[0] == 0:
        raise UserError(f"connectivity matrix must be square and non-empty, got shape {tuple(L.shape)}")
    L64 = L.detach().to(torch.float64)
    if not torch.isfinite(L64).all():
        raise ValueError("connectivity matrix has non-finite entries")
    if not torch.allclose(L64, L64.T, rtol=0, atol=1e-9):
        raise UserError("connectivity matrix must be symmetric")
    mu = torch.linalg.eigvalsh(L64).abs()
    total = mu.sum()
    if total <= 0:
        raise ValueError("connectivity matrix is zero: LMN undefined")
    p = mu / total
    p = p[p > 0]  # 0 log 0 = 0
    entropy = float(-(p * torch.log2(p)).sum())
    return 2.0 ** entropy


def _split(f: Callable) -> tuple[Callable | None, Callable, nn.Linear | None]:
    """(leading affine layers, body, trailing Linear) of an nn.Sequential.

    Anything else is (None, f, None): a plain callable is used as it is.
    """
    if not isinstance(f, nn.Sequential):
        return None, f, None
    mods = list(f)
    k = 0
    while k < len(mods) and isinstance(mods[k], (nn.Linear, nn.Identity)):
        k += 1
    prefix = nn.Sequential(*mods[:k]) if k else None
    rest = mods[k:]
    head = rest.pop() if rest and isinstance(rest[-1], nn.Linear) else None
    return prefix, nn.Sequential(*rest), head


def _padded_head(head: nn.Linear) -> tuple[torch.Tensor, torch.Tensor | None, int]:
    """The head's weight (and bias) zero-padded to a multiple of 8 outputs.

    CPU GEMM kernels run a 31-column output at half the speed of a 32-column
    one; the padded columns are sliced off before r², so results are unchanged.
    """
    w, b = head.weight.detach(), None if head.bias is None else head.bias.detach()
    k = w.shape[0]
    pad = (-k) % 8 if k >= 8 else 0
    if pad:
        w = torch.cat([w, w.new_zeros(pad, w.shape[1])])
        b = None if b is None else torch.cat([b, b.new_zeros(pad)])
    return w, b, k


NON_FINITE = "f produced non-finite outputs (NaN/inf weights or overflow): LMN undefined"


def _check_output(y: torch.Tensor, rows: int, check_finite: bool = True) -> None:
    if not isinstance(y, torch.Tensor) or y.ndim != 2 or y.shape[0] != rows:
        shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise UserError(f"f must map a (B, d1) batch to a (B, d2) tensor; got {shape} for B={rows}")
    if check_finite and not torch.isfinite(y).all():
        raise ValueError(NON_FINITE)


def linear_connectivity(
    f: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    n_interp: int = 21,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    affine_prefix: bool = True,
) -> torch.Tensor:
    """The N×N linear-connectivity matrix L (float64) of f on the samples x (N, d1).

    L_ij = mean over output coordinates k of r²(y_k(λ), λ) along the segment
    x_i -> x_j (see :func:`r_squared` for the constant-coordinate rule); L_ii = 1.
    ``affine_prefix=False`` disables the leading-affine-layer shortcut (same L up
    to rounding). Runs under ``torch.no_grad()``; f is not modified.

    >>> f = nn.Sequential(nn.Linear(3, 4), nn.SiLU(), nn.Linear(4, 2))
    >>> L = linear_connectivity(f, torch.randn(5, 3))
    >>> L.shape, bool((L == L.T).all()), L.diagonal().tolist()
    (torch.Size([5, 5]), True, [1.0, 1.0, 1.0, 1.0, 1.0])
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[0] == 0:
        raise UserError(f"x must be a (N, d1) tensor with N >= 1, got {getattr(x, 'shape', type(x).__name__)}")
    if not x.dtype.is_floating_point:
        raise UserError(f"x must be floating point (interpolation needs real inputs), got {x.dtype}")
    if not torch.isfinite(x).all():
        raise ValueError("samples x have non-finite entries: LMN undefined")
    if not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise UserError(f"chunk_rows must be a positive integer, got {chunk_rows!r}")
    n = x.shape[0]
    lam = interpolation_points(n_interp, x.dtype).to(x.device)
    T = n_interp
    dev = x.device
    L = torch.eye(n, dtype=torch.float64, device=dev)
    if n == 1:
        return L
    with torch.no_grad():
        prefix, body, head = _split(f) if affine_prefix else (None, f, None)
        if head is not None:
            w_head, b_head, k_out = _padded_head(head)

        def tail(rows: torch.Tensor, check_finite: bool = False) -> torch.Tensor:
            y = body(rows)
            if head is not None:  # padded columns are kept until r² and left out of the mean
                y = F.linear(y, w_head, b_head)
            _check_output(y, rows.shape[0], check_finite)
            return y

        z = x.detach()
        if prefix is not None:
            z = prefix(z)
            _check_output(z, n)
        # λ = 0 and 1 are the samples themselves: map them once, not once per pair
        y_end = tail(z, check_finite=True)
        k_out = k_out if head is not None else y_end.shape[1]
        rtol = 64 * torch.finfo(y_end.dtype).eps
        y_end = y_end.to(torch.float64)
        lc = lam.to(torch.float64) - lam.to(torch.float64).mean()
        # upper triangle only: L is symmetric by construction
        iu, ju = torch.triu_indices(n, n, offset=1, device=dev)
        n_pairs = iu.numel()
        pairs_per_chunk = max(1, chunk_rows // (T - 2))
        lam_inner = lam[1:-1].view(1, T - 2, 1)
        values = torch.empty(n_pairs, dtype=torch.float64, device=dev)
        for start in range(0, n_pairs, pairs_per_chunk):
            i = iu[start:start + pairs_per_chunk]
            j = ju[start:start + pairs_per_chunk]
            p = i.numel()
            za = z[i].unsqueeze(1)  # (P, 1, h)
            # z_a + λ (z_b - z_a) for all pairs and inner λ in one broadcast pass: (P, T-2, h)
            zt = torch.addcmul(za, lam_inner, z[j].unsqueeze(1) - za)
            y_inner = tail(zt.view(p * (T - 2), -1))
            y = torch.empty(p, T, y_end.shape[1], dtype=torch.float64, device=dev)
            y[:, 0] = y_end[i]
            y[:, 1:-1] = y_inner.reshape(p, T - 2, -1)  # reshape: a user's f may return a strided view
            y[:, -1] = y_end[j]
            values[start:start + p] = _mean_r2_inplace(y, lc, rtol)[:, :k_out].mean(dim=-1)
        # duplicate samples: a zero-length segment is one linear piece by definition, whatever
        # rounding f adds (an output that cancels to ~0 would otherwise give r² of noise)
        _, row_id = torch.unique(x.detach(), dim=0, return_inverse=True)
        values[row_id[iu] == row_id[ju]] = 1.0
        # NaN/inf inside a chunk propagates to its r² (inf - inf = NaN): one check here
        # instead of one per chunk, which cost ~10% of the run
        if not torch.isfinite(values).all():
            raise ValueError(NON_FINITE)
        L[iu, ju] = values
        L[ju, iu] = values
    return L


def linear_mapping_number(
    f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, n_interp: int = 21, **kwargs
) -> float:
    """LMN of f on samples x: ``lmn_from_connectivity(linear_connectivity(f, x, n_interp))``.

    >>> abs(linear_mapping_number(nn.Linear(3, 2), torch.randn(6, 3)) - 1) < 1e-5  # affine: 1 up to float32 rounding
    True
    """
    return lmn_from_connectivity(linear_connectivity(f, x, n_interp, **kwargs))


# stages that are affine maps of their (flattened) input: a sub-network made only of them has LMN 1
AFFINE_STAGES = (nn.Linear, nn.Identity, nn.Flatten)


def default_start(model: nn.Module, stop: int | None = None) -> int:
    """The paper's cut, ``model.hidden_stage``, unless ``stages[hidden_stage:stop]`` is affine.

    In a net with one hidden layer (sparse parity, say) the part after the first
    hidden activation is a single Linear, whose LMN is 1 whatever the weights;
    there the input space (``model.input_stage``) is the only informative cut.
    """
    stages = list(model.stages)
    stop = len(stages) if stop is None else stop
    if all(isinstance(m, AFFINE_STAGES) for m in stages[model.hidden_stage:stop]):
        return model.input_stage
    return model.hidden_stage


def model_lmn(
    model: nn.Module,
    probe_x: torch.Tensor,
    start: int | None = None,
    stop: int | None = None,
    n_interp: int = 21,
    activations: list[torch.Tensor] | None = None,
) -> float:
    """LMN of the sub-network ``model.stages[start:stop]`` of a StagedModel on the probe set.

    ``start`` defaults to :func:`default_start` (the paper's first hidden layer
    after its activation), ``stop`` to the logits; when that default leaves only affine
    stages (a cut right before one Linear, say), the value would be 1 at every step whatever
    the weights, so it is refused (UserError) rather than scored. The samples are the
    probe set's representation entering stage ``start`` (``activations`` are
    the model's ``stage_outputs(probe_x)`` if already computed).
    """
    stages = getattr(model, "stages", None)
    if stages is None:
        raise UserError("model_lmn needs a StagedModel (with .stages); call linear_mapping_number(f, x) otherwise")
    stop = len(stages) if stop is None else stop
    chosen = start is None  # the measure's own cut: refused where it leaves only affine stages
    start = default_start(model, stop) if start is None else start
    if not (0 <= start < stop <= len(stages)):
        raise UserError(f"LMN stages must satisfy 0 <= start < stop <= {len(stages)}, got start={start}, stop={stop}")
    if start == 0:
        x = probe_x
    else:
        if activations is None:
            with torch.no_grad():
                activations = model.stage_outputs(probe_x)
        x = activations[start - 1]
    if chosen and all(isinstance(m, AFFINE_STAGES) for m in stages[start:stop]):
        raise UserError(
            f"lmn: the part of the model it measures ({', '.join(type(m).__name__ for m in stages[start:stop])}) "
            "is affine, so its LMN is 1 at every step whatever the weights; cut before a nonlinearity "
            "(Tracker: lmn_cut=(a, b) with an activation in b)")
    f = nn.Sequential(*stages[start:stop])
    return linear_mapping_number(f, x.detach().flatten(1), n_interp)


@register_measure
class LMNMeasure(Measure):
    """Plugin: LMN from the first hidden layer (after activation) to the logits on the probe set."""

    start: int | None = None  # stage index; None = default_start(model): the paper's choice

    info = MeasureInfo(
        name="lmn",
        version="1",
        direction=+1, direction_source='Liu, Zhong & Tegmark 2023: LMN falls as the network generalises',
        needs=frozenset({"weights", "data"}),
        cost="moderate",
        stochastic=False,
        applies_to="any",
        reference="Liu, Zhong & Tegmark 2023, Grokking as Compression: A Nonlinear Complexity Perspective, arXiv 2310.05918",
        description=(
            "Linear Mapping Number: 2^entropy of the |eigenvalues| of the linear-connectivity matrix "
            "(mean r² of each logit against λ along 21-point segments between all probe pairs), "
            "first hidden layer (after activation) to logits (from the input stage in one-hidden-layer nets, "
            "where that part is affine); constant logits count as r²=1"
        ),
    )

    def compute(self, model: nn.Module, ctx: MeasureContext) -> float:
        return model_lmn(model, ctx.probe_x, start=self.start, activations=ctx.activations(model))
