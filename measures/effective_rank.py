"""Effective rank (Roy & Vetterli 2007) and stable rank, of weights and of representations.

For M with singular values σ_1 >= ... >= σ_Q >= 0:

    erank(M) = exp(H(p)),  p_k = σ_k / Σ_j σ_j,  H(p) = -Σ_k p_k ln p_k  (0 ln 0 = 0)
    srank(M) = ||M||_F² / ||M||_2² = Σ σ_k² / σ_1²

Both lie in [1, rank M] for M != 0 and are scale-invariant. A zero matrix has
rank 0 and both are defined as **0** here (the ratios would be 0/0). SVDs run
in float64. Non-finite entries raise ``ValueError`` (the harness records the
value as missing with that reason).

Weights: every parameter with >= 2 dimensions (Linear and Embedding weights;
higher-dimensional ones reshaped to (out, -1)). Representation (RankMe,
Garrido et al. 2023): the N×K matrix of first-hidden-layer activations on the
probe set, uncentred as in RankMe, with the exact entropy (no ε added).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from complexity_bench.errors import UserError
from complexity_bench.contracts.measure import MeasureContext, measure

__all__ = ["effective_rank", "stable_rank", "weight_matrices", "weight_effective_ranks", "representation"]


def _singular_values(matrix: torch.Tensor) -> torch.Tensor:
    if not isinstance(matrix, torch.Tensor) or matrix.ndim != 2:
        raise UserError(f"expected a 2-D matrix, got {getattr(matrix, 'shape', type(matrix).__name__)}")
    m = matrix.detach().to(torch.float64)
    if not torch.isfinite(m).all():
        raise ValueError("matrix has non-finite entries: rank undefined")
    if m.numel() == 0:
        return m.new_zeros(0)
    return torch.linalg.svdvals(m)


def effective_rank(matrix: torch.Tensor) -> float:
    """Roy & Vetterli effective rank exp(H(σ / Σσ)); 0 for the zero matrix.

    >>> round(effective_rank(torch.diag(torch.tensor([1.0, 1.0, 1.0, 0.0]))), 12)
    3.0
    >>> effective_rank(torch.zeros(3, 2))
    0.0
    """
    s = _singular_values(matrix)
    total = s.sum()
    if total == 0:
        return 0.0
    p = s / total
    p = p[p > 0]
    return math.exp(float(-(p * p.log()).sum()))


def stable_rank(matrix: torch.Tensor) -> float:
    """||M||_F² / ||M||_2²; 0 for the zero matrix.

    >>> stable_rank(torch.diag(torch.tensor([2.0, 1.0, 1.0])))
    1.5
    """
    s = _singular_values(matrix)
    if s.numel() == 0 or s[0] == 0:
        return 0.0
    return float(s.square().sum() / s[0].square())


def weight_matrices(model: nn.Module) -> dict[str, torch.Tensor]:
    """Parameters with >= 2 dims, as (out, -1) matrices, keyed by a short layer name.

    For a StagedModel the key is ``stage<k>`` (k = index in ``model.stages``; a
    further matrix of the same stage adds its path, ``stage<k>-attn-in_proj_weight``);
    otherwise the parameter name with '-' for '.'.
    """
    out: dict[str, torch.Tensor] = {}
    for name, p in model.named_parameters():
        if p.ndim < 2:
            continue
        parts = name.split(".")
        if parts[0] == "stages" and len(parts) > 1 and parts[1].isdigit():
            key = f"stage{parts[1]}"
            if key in out:  # a second matrix in one stage: its full path keeps keys unique
                key = "-".join([key, *parts[2:]])
        else:
            key = name.replace(".", "-")
        out[key] = p.detach().reshape(p.shape[0], -1)
    return out


def weight_effective_ranks(model: nn.Module, fn=effective_rank) -> dict[str, float]:
    """``fn`` (effective_rank or stable_rank) of every weight matrix, plus their ``mean``."""
    mats = weight_matrices(model)
    if not mats:
        raise UserError("model has no weight matrices (parameters with >= 2 dimensions)")
    ranks = {k: fn(m) for k, m in mats.items()}
    return {"mean": sum(ranks.values()) / len(ranks), **ranks}


def representation(model: nn.Module, ctx: MeasureContext) -> torch.Tensor:
    """The probe set's first-hidden-layer representation (N×K), from the shared activation cache."""
    stage = getattr(model, "hidden_stage", None)
    if stage is None:
        raise UserError("representation measures need a StagedModel with a hidden_stage")
    return ctx.activations(model)[stage - 1].flatten(1)


@measure(
    name="effective-rank",
    version="2",
    direction=+1, direction_source='Roy & Vetterli 2007 (more effective dimensions = more complex); the compression view of grokking (Liu, Zhong & Tegmark 2023)',
    needs=("weights",),
    cost="cheap",
    reference="Roy & Vetterli 2007, The effective rank: a measure of effective dimensionality, EUSIPCO",
    description=(
        "Roy-Vetterli effective rank exp(H(σ/Σσ)) of the weight matrices (Linear and Embedding weights): "
        "sub-measures mean over matrices, first (the first layer after any embedding) and last (the output layer)"
    ),
)
def effective_rank_measure(model: nn.Module, ctx: MeasureContext) -> dict[str, float]:
    # Leaderboard rows average over tasks, so keys must name the same role in every
    # architecture; per-stage values (stage<k>) differ by net and stay in weight_effective_ranks.
    ranks = weight_effective_ranks(model, effective_rank)
    first_stage = getattr(model, "input_stage", 0)
    layers = [k for k in ranks if k.startswith("stage") and _stage_index(k) >= first_stage]
    if not layers:
        return {"mean": ranks["mean"]}
    return {"mean": ranks["mean"], "first": ranks[layers[0]], "last": ranks[layers[-1]]}


def _stage_index(key: str) -> int:
    return int(key[len("stage"):].split("-")[0])


@measure(
    name="stable-rank",
    version="1",
    direction=+1, direction_source='Jiang et al. 2020: the fro/spec ratio enters norm-based capacity bounds, larger = larger capacity',
    needs=("weights",),
    cost="cheap",
    reference="Rudelson & Vershynin 2007; Jiang et al. 2020, Fantastic Generalization Measures (fro/spec)",
    description="stable rank ||W||_F^2/||W||_2^2, mean over the weight matrices (Linear and Embedding weights)",
)
def stable_rank_measure(model: nn.Module, ctx: MeasureContext) -> float:
    return weight_effective_ranks(model, stable_rank)["mean"]


@measure(
    name="effective-rank-repr",
    version="1",
    direction=+1, direction_source='the compression view of grokking (Liu, Zhong & Tegmark 2023): representations lose dimensions as the net generalises (RankMe, Garrido et al. 2023, argues the opposite for transfer)',
    needs=("weights", "data"),
    cost="cheap",
    reference="Garrido et al. 2023, RankMe, ICML (arXiv 2210.02885); Roy & Vetterli 2007",
    description=(
        "RankMe: Roy-Vetterli effective rank of the probe set's first-hidden-layer representation "
        "(N x width, after the activation, uncentred)"
    ),
)
def effective_rank_repr_measure(model: nn.Module, ctx: MeasureContext) -> float:
    return effective_rank(representation(model, ctx))
