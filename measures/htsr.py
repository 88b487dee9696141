"""Heavy-tailed self-regularisation (HTSR): power-law α of weight spectra, and correlation traps.

For each weight matrix W (every Linear weight and embedding table, ``norm_family.weight_matrices``),
oriented N×M with N >= M, the eigenvalues of X = WᵀW are λ_i = s_i², s the singular values.

**α** (Martin & Mahoney 2021): the exponent of a continuous power law p(λ) ∝ λ^{−α}, λ >= λ_min,
fitted to the tail of {λ_i} by the method of Clauset, Shalizi & Newman 2009:

- for a candidate λ_min, with the n eigenvalues λ_i >= λ_min, the maximum-likelihood exponent
  is α̂ = 1 + n / Σ_i ln(λ_i / λ_min)  (Clauset et al. eq. 3.1);
- its Kolmogorov–Smirnov distance is D = max_j |j/n − P(λ_(j))|, j = 0..n−1 over the sorted
  tail, P(λ) = 1 − (λ/λ_min)^{1−α̂} (the empirical CDF read just below each step, the
  convention of weightwatcher, the field's tool, so that our α are its α; Clauset's sup
  would also take (j+1)/n, and picks a different λ_min on some samples);
- λ_min is the candidate (every eigenvalue but the largest) with the smallest D; a candidate
  whose α̂ is not > 1 is not a power law and is never chosen.

Eigenvalues below 1e-5 · λ_max count as zero and are left out (a rank-deficient matrix's
zero eigenvalues are not a tail). A matrix with fewer than 8 non-zero eigenvalues (a
1000→1 read-out, a 2-class head) has no spectrum to fit and is left out. α is scale-free
(ratios only), so weight decay alone does not move it.

**Correlation traps** (Martin & Mahoney; Prakash & Martin 2025): the matrix with its entries
randomly shuffled (one permutation per matrix from ``ctx.generator``) has i.i.d.-like entries
of variance σ² (the entries' variance), so its eigenvalues should stay under the
Marchenko–Pastur bulk edge. A trap is an eigenvalue of W_rᵀW_r above the edge plus a
finite-size margin: Johnstone's (2001) Tracy–Widom centring μ = (√(N−1) + √M)² and scale
s = (√(N−1) + √M)(1/√(N−1) + 1/√M)^{1/3}, threshold σ²(μ + 2.02 s) (2.02 is the 99th percentile
of the Tracy–Widom β=1 law), so an i.i.d. Gaussian matrix has a trap with probability ~1 %.
An eigenvalue there comes from a few very large entries, which shuffling keeps.

Sub-measures: ``mean-alpha`` (mean α over the fitted matrices) and ``traps`` (traps summed
over every matrix with at least 8 eigenvalues). direction = +1 for both: HTSR reads a smaller
α (a heavier-tailed, more correlated spectrum, in the 2–6 range) as a better-trained layer,
and traps as a failure (Prakash & Martin: traps appear with late generalisation collapse).
Note their warning sign, α < 2 (over-fitting), sits at the low end: the mean over layers is
ranked by the main HTSR claim, not by that threshold.

Example::

    >>> import torch
    >>> lam = torch.tensor([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0], dtype=torch.float64)
    >>> round(power_law_fit(lam)["alpha"], 6) > 1
    True
"""

from __future__ import annotations

import math

import torch
from torch import nn

from complexity_bench.contracts.measure import MeasureContext, measure
from complexity_bench.measures.norm_family import weight_matrices

__all__ = ["power_law_fit", "eigenvalues", "layer_alphas", "trap_threshold", "correlation_traps"]

MIN_EIGENVALUES = 8  # fewer non-zero eigenvalues: no tail to fit (module docstring)
ZERO_EIGENVALUE = 1e-5  # relative to the largest
TRACY_WIDOM_99 = 2.02  # 99th percentile of the Tracy–Widom β=1 distribution


def eigenvalues(matrix: torch.Tensor) -> torch.Tensor:
    """Non-zero eigenvalues of WᵀW (squared singular values above 1e-5·max), float64, ascending."""
    m = matrix.detach().to(torch.float64)
    if not torch.isfinite(m).all():
        raise ValueError("weight matrix has non-finite entries: spectrum undefined")
    lam = torch.linalg.svdvals(m).square().flip(0)
    return lam[lam > ZERO_EIGENVALUE * lam[-1]] if len(lam) and lam[-1] > 0 else lam[:0]


def power_law_fit(lam: torch.Tensor) -> dict[str, float]:
    """Clauset et al.'s fit of the tail of ``lam`` (positive, any order): ``alpha``, ``xmin``, ``ks``, ``n_tail``."""
    x = torch.sort(lam.to(torch.float64)).values
    n = len(x)
    if n < 2 or not bool((x > 0).all()):
        raise ValueError(f"power-law fit needs >= 2 positive values, got {n}")
    logs = x.log()
    i = torch.arange(n - 1, device=x.device)  # candidate λ_min = x[i]
    n_tail = (n - i).to(torch.float64)
    suffix = logs.flip(0).cumsum(0).flip(0)[:-1]  # Σ_{j>=i} ln x_j
    denom = suffix - n_tail * logs[:-1]
    alpha = torch.where(denom > 0, 1 + n_tail / denom.clamp_min(1e-300), torch.full_like(denom, math.inf))
    # D_i over j >= i: P_ij = 1 − (x_j/x_i)^{1−α_i}; steps j−i and j−i+1 over n_i
    j = torch.arange(n, device=x.device)
    rank = (j[None, :] - i[:, None]).to(torch.float64)
    ratio = (logs[None, :] - logs[:-1, None]).clamp_min(0)
    cdf = 1 - torch.exp((1 - alpha[:, None]) * ratio)
    gap = (rank / n_tail[:, None] - cdf).abs()
    ks = torch.where(rank >= 0, gap, torch.zeros_like(gap)).amax(1)
    ks = torch.where(torch.isfinite(alpha) & (alpha > 1), ks, torch.full_like(ks, math.inf))
    best = int(torch.argmin(ks))
    return {"alpha": float(alpha[best]), "xmin": float(x[best]), "ks": float(ks[best]), "n_tail": int(n_tail[best])}


def _oriented(matrix: torch.Tensor) -> torch.Tensor:
    m = matrix.detach().reshape(matrix.shape[0], -1)
    return m if m.shape[0] >= m.shape[1] else m.T


def layer_alphas(model: nn.Module) -> dict[str, float]:
    """α of every weight matrix with at least MIN_EIGENVALUES non-zero eigenvalues, keyed by parameter name."""
    out = {}
    for name, w in weight_matrices(model).items():
        lam = eigenvalues(_oriented(w))
        if len(lam) >= MIN_EIGENVALUES:
            out[name] = power_law_fit(lam)["alpha"]
    return out


def trap_threshold(n: int, m: int, variance: float) -> float:
    """Largest eigenvalue of WᵀW an i.i.d. N×M matrix (entry variance σ²) exceeds with probability ~1 %."""
    a, b = math.sqrt(n - 1), math.sqrt(m)
    mu, scale = (a + b) ** 2, (a + b) * (1 / a + 1 / b) ** (1 / 3)
    return variance * (mu + TRACY_WIDOM_99 * scale)


def correlation_traps(matrix: torch.Tensor, generator: torch.Generator) -> int:
    """Eigenvalues of the element-wise shuffled matrix's WᵀW above :func:`trap_threshold`."""
    w = _oriented(matrix).to(torch.float64)
    n, m = w.shape
    if n < 2 or m < 1:
        return 0
    # cpu: the permutation is drawn on ctx.generator's device so it is the same on every device
    perm = torch.randperm(w.numel(), generator=generator, device=generator.device).to(w.device)
    shuffled = w.flatten()[perm].view(n, m)
    variance = float(w.var(unbiased=False))
    if variance == 0:
        return 0
    lam = torch.linalg.svdvals(shuffled).square()
    return int((lam > trap_threshold(n, m, variance)).sum())


@measure(
    name="htsr",
    version="1",
    direction=+1,
    direction_source="Martin & Mahoney 2021: a smaller power-law α (heavier-tailed spectrum) marks a better-trained "
                     "layer; Prakash & Martin 2025: correlation traps come with generalisation collapse",
    needs=("weights",),
    cost="cheap",
    stochastic=True,
    reference="Martin & Mahoney 2021, Implicit self-regularization in deep neural networks, JMLR; Clauset, Shalizi "
              "& Newman 2009, Power-law distributions in empirical data; Prakash & Martin 2025 (arXiv 2506.04434)",
    description="mean-alpha: mean over weight matrices (>= 8 eigenvalues) of the power-law exponent of the tail of "
                "the WᵀW spectrum (MLE, λ_min by KS distance); traps: eigenvalues of the element-wise shuffled "
                "matrices above the Marchenko–Pastur edge plus a Tracy–Widom 99 % margin",
)
def htsr_measure(model: nn.Module, ctx: MeasureContext) -> dict[str, float]:
    alphas = layer_alphas(model)
    if not alphas:
        raise ValueError(f"no weight matrix has >= {MIN_EIGENVALUES} non-zero eigenvalues: no spectrum to fit")
    traps = 0
    for w in weight_matrices(model).values():
        if min(w.shape[0], w[0].numel()) >= MIN_EIGENVALUES:
            traps += correlation_traps(w, ctx.generator)
    return {"mean-alpha": sum(alphas.values()) / len(alphas), "traps": float(traps)}
