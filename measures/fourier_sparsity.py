"""Fourier sparsity of the token embedding on cyclic-group tasks (Nanda et al. 2023).

A grokked modular-addition net represents a token t ∈ Z_p through a few frequencies
(cos/sin(2πkt/p) for a handful of "key" k); a memorising one spreads its embedding
over all of them. With E ∈ R^{p×d} the embedding table (row t = token t), its discrete
Fourier transform over tokens Ê[k] = Σ_t E[t] e^{−2πikt/p} and, for a real E,

    P_k = ‖Ê[k]‖² + ‖Ê[p−k]‖²   (k = 1, ..., ⌊(p−1)/2⌋;  P_{p/2} = ‖Ê[p/2]‖² for even p)

is the power of frequency k (cos and sin of one frequency pooled, a rotation of the
embedding dims leaves it unchanged). The constant component k = 0 is left out: it is
the mean embedding, which carries no information about t and which the next layer's
bias absorbs. Σ_k P_k + P_0 = p ‖E‖_F² (Parseval).

The measure is the **effective number of frequencies** exp(H(q)), q_k = P_k / Σ_j P_j,
H the Shannon entropy (nats): 1 when the embedding uses a single frequency, k when it
spreads evenly over k of them, at most ⌊p/2⌋ (15 for p = 31). direction = +1 (more
frequencies = less sparse = more complex). An embedding with no non-constant
component (all rows equal) uses no frequency and gets 0 (the only value below 1).
``topk_share`` (Nanda et al.'s "fraction of the norm in the key frequencies", keys
chosen online as the top k of the current checkpoint, so no future leakage) and
``gini`` (their Gini coefficient of Fourier-component norms, here over frequencies)
are offered as functions; only the effective number is a leaderboard row.

applies_to = "cyclic_group": the task's tokens must be the elements 0..p−1 of Z_p in
order (row t of the table = element t), so that the Fourier basis of Z_p is the
right basis. The table is the model's first ``nn.Embedding`` (``PairEmbedding``'s).

Example::

    >>> import math, torch
    >>> t = torch.arange(31.0)
    >>> E = torch.stack([torch.cos(2 * math.pi * 4 * t / 31), torch.sin(2 * math.pi * 4 * t / 31)], 1)
    >>> round(effective_frequencies(fourier_power(E)), 6)
    1.0
"""

from __future__ import annotations

import math

import torch
from torch import nn

from complexity_bench.contracts.measure import MeasureContext, measure

__all__ = ["fourier_power", "effective_frequencies", "topk_share", "gini", "embedding_table"]


def fourier_power(embedding: torch.Tensor) -> torch.Tensor:
    """Power P_k per frequency k = 1..⌊p/2⌋ of a (p, d) table over its token axis (float64, length ⌊p/2⌋)."""
    E = embedding.detach().double()
    p = E.shape[0]
    spec = torch.fft.rfft(E, dim=0).abs().square().sum(dim=1)  # k = 0..p//2
    power = spec[1:].clone()
    # rfft keeps one of each conjugate pair (k, p−k); double it, except the self-paired k = p/2
    if p % 2 == 0:
        power[:-1] *= 2
    else:
        power *= 2
    # FFT rounding leaves ~(eps·‖E‖)² of power in frequencies a table does not use;
    # zero anything at that level so that e.g. an all-constant table reports no power.
    floor = (1e3 * torch.finfo(torch.float64).eps) ** 2 * p * float(E.square().sum())
    return torch.where(power > floor, power, torch.zeros_like(power))


def effective_frequencies(power: torch.Tensor) -> float:
    """exp(Shannon entropy) of the normalised power spectrum; 0 when there is no power at all."""
    total = float(power.sum())
    if total <= 0.0:
        return 0.0
    q = power / total
    q = q[q > 0]  # 0 log 0 = 0
    return float(torch.exp(-(q * q.log()).sum()))


def topk_share(power: torch.Tensor, k: int) -> float:
    """Share of the (non-constant) power in the ``k`` strongest frequencies, in [k/n, 1]."""
    total = float(power.sum())
    return float(power.topk(min(k, len(power))).values.sum()) / total if total > 0 else math.nan


def gini(values: torch.Tensor) -> float:
    """Gini coefficient Σ_i (2i − n − 1) x_(i) / (n Σ x) of non-negative values (0: equal; (n−1)/n: one non-zero)."""
    x = values.double().sort().values
    n = len(x)
    i = torch.arange(1, n + 1, dtype=torch.float64, device=x.device)
    return float(((2 * i - n - 1) * x).sum() / (n * x.sum()))


def embedding_table(model: nn.Module) -> torch.Tensor:
    """The model's first ``nn.Embedding`` weight (vocab, dim)."""
    for module in model.modules():
        if isinstance(module, nn.Embedding):
            return module.weight.detach()
    raise ValueError("fourier-sparsity needs a token embedding (nn.Embedding), and the model has none")


@measure(name="fourier-sparsity", version="1", direction=+1, direction_source='Nanda et al. 2023: the generalising circuit uses a few Fourier frequencies (more frequencies = further from it)', needs=("weights",), cost="cheap",
         applies_to="cyclic_group",
         reference="Nanda, Chan, Lieberum, Smith & Steinhardt 2023, Progress measures for grokking via "
                   "mechanistic interpretability, ICLR (arXiv 2301.05217)",
         description="effective number of Fourier frequencies exp(H) of the token embedding's power spectrum over "
                     "Z_p (constant component excluded; cos/sin of a frequency pooled); 1 = one frequency")
def fourier_sparsity_measure(model: nn.Module, ctx: MeasureContext) -> float:
    return effective_frequencies(fourier_power(embedding_table(model)))
