"""Spectral entropy of the hidden representation's covariance on the probe set.

For the N×K matrix H of first-hidden-layer activations on the probe set (the representation
``effective-rank-repr`` uses, ``model.hidden_stage``), centred over the probe set,

    C = (1/N) (H − 1 h̄ᵀ)ᵀ (H − 1 h̄ᵀ),   λ_1 >= ... >= λ_K >= 0 its eigenvalues,
    p_k = λ_k / Σ_j λ_j,   S = −Σ_k p_k ln p_k  (0 ln 0 = 0),
    repr-spectral-entropy = S / ln r,   r = min(K, N − 1)

r is the largest rank a centred N×K matrix can have, so the value lies in [0, 1]: 0 when the
probe set spreads along one direction only, 1 when it spreads equally along r directions.
The normalisation makes nets of different widths comparable; the 2026 preprint in the
literature notes (docs/measures.md) reports a threshold (≈ 0.61) on a normalised scale.
Eigenvalues are the squared singular values of the centred H divided by N (float64 SVD:
the small eigenvalues keep their relative accuracy, and none comes out negative).

Unlike RankMe (``effective-rank-repr``: uncentred, singular values) this is the entropy of
the *covariance* spectrum (centred, squared singular values), the quantity the preprint
names. direction = +1, from the compression view of grokking (Liu, Zhong & Tegmark 2023;
the same direction as ``effective-rank-repr``): the representation concentrates onto the few
directions a generalising solution uses, so a lower entropy is the simpler side. The
preprint's own sign could not be read here (its code is on an anonymised host), so the
direction rests on that view, not on the preprint.

A representation that is constant on the probe set (C = 0) or a probe set of one point has
no spectrum: ``ValueError`` (the harness records a missing value with the reason).

Example::

    >>> import torch
    >>> h = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])   # equal spread on 2 axes
    >>> round(spectral_entropy(h), 12)      # S = ln 2, r = min(2, 3) = 2
    1.0
"""

from __future__ import annotations

import math

import torch
from torch import nn

from complexity_bench.contracts.measure import MeasureContext, measure
from complexity_bench.measures.effective_rank import representation

__all__ = ["covariance_eigenvalues", "spectral_entropy"]


def covariance_eigenvalues(h: torch.Tensor) -> torch.Tensor:
    """Eigenvalues of the (1/N) covariance of the rows of ``h`` (N×K), float64, descending."""
    x = h.detach().to(torch.float64)
    if x.ndim != 2:
        raise ValueError(f"expected an N×K representation, got shape {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError("representation has non-finite entries: spectral entropy undefined")
    centred = x - x.mean(dim=0, keepdim=True)
    return torch.linalg.svdvals(centred).square() / len(x)


def spectral_entropy(h: torch.Tensor) -> float:
    """S / ln min(K, N − 1) of the covariance spectrum of ``h`` (module docstring)."""
    n, k = h.shape
    rank_max = min(k, n - 1)
    if rank_max < 2:
        raise ValueError(f"a {n}×{k} representation has at most rank {rank_max}: normalised entropy undefined")
    lam = covariance_eigenvalues(h)
    total = lam.sum()
    if total == 0:
        raise ValueError("representation is constant on the probe set: spectral entropy undefined")
    p = lam / total
    p = p[p > 0]
    return float(-(p * p.log()).sum()) / math.log(rank_max)


@measure(
    name="repr-spectral-entropy",
    version="1",
    direction=+1,
    direction_source="the compression view of grokking (Liu, Zhong & Tegmark 2023): the representation's "
                     "covariance spectrum concentrates as the net generalises; lower entropy = simpler",
    needs=("weights", "data"),
    cost="cheap",
    reference="Shannon entropy of the normalised covariance spectrum (von Neumann entropy of the normalised "
              "covariance); preprint 2026, anonymous.4open.science/r/grokking-entropy",
    description="entropy of the normalised eigenvalues of the probe set's first-hidden-layer covariance "
                "(centred), divided by ln min(width, N−1): in [0, 1]",
)
def repr_spectral_entropy(model: nn.Module, ctx: MeasureContext) -> float:
    return spectral_entropy(representation(model, ctx))
