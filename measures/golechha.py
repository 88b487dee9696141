"""Golechha 2024's three progress measures: activation sparsity, absolute weight entropy, local circuit complexity.

Golechha (2024, "Progress Measures for Grokking on Real-world Tasks", arXiv 2405.12755) proposes
three quantities that track grokking on real data better than the weight norm. Prakash & Martin
(2025, arXiv 2506.04434, App. B eqs. 7–10) restate the same three definitions; the formulas below
are those, and docs/measures.md ("Golechha 2024") says which details each source fixes and which
this file chooses (τ, layer, data set, how the 10 % are drawn), each chosen before any score.

- ``activation-sparsity`` = (1/(N·K)) Σ_x Σ_k 1[a_k(x) < τ], τ = 0.1: the fraction of the first
  hidden layer's activations a(x) ∈ R^K (after the nonlinearity, ``model.hidden_stage``) that fall
  below τ, over the N training inputs. Golechha: it *rises* as the net groks (a generalising net
  uses few units per input), so a larger value is the simpler side: direction −1.
- ``abs-weight-entropy`` = −Σ_W Σ_ij |w_ij| ln |w_ij| (0 ln 0 = 0) over every Linear weight and
  embedding table (biases excluded: the definition names weights). Not the entropy of a
  distribution: it is not normalised and turns negative once many |w| > 1. Golechha: it *falls*
  as the net groks (weights concentrate on few large entries): direction +1.
- ``local-circuit-complexity`` = Σ_x KL(softmax f(x) ‖ softmax f̃(x)) over the N training
  inputs, where f̃ is the net with ⌊0.1·n⌉ of the n weights of its first Linear layer (the first
  ``nn.Linear`` from ``model.input_stage`` on) set to zero, chosen uniformly without replacement
  from ``ctx.generator``. It measures how much the output depends on any small part of the first
  layer. Golechha: it *falls* as the net groks: direction +1. Only for nets whose outputs are
  class scores (softmax cross-entropy logits, or digits' MSE class scores, the setting of both
  papers); a regression output or a single hinge score has no class distribution.

Sums run in float64. A non-finite activation, weight or output raises ``ValueError`` (the harness
records a missing value with that reason).

Example::

    >>> import torch
    >>> activation_fraction_below(torch.tensor([[0.0, 0.05, 0.5, 2.0]]), 0.1)
    0.5
    >>> round(absolute_weight_entropy([torch.tensor([[0.5, 1.0], [0.0, -0.5]])]), 12)   # 2 · (−0.5 ln 0.5)
    0.69314718056
    >>> summed_kl(torch.zeros(3, 2), torch.zeros(3, 2))
    0.0
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.func import functional_call

from complexity_bench.contracts.measure import Measure, MeasureContext, MeasureInfo, register_measure
from complexity_bench.measures.norm_family import weight_matrices

__all__ = ["THRESHOLD", "PRUNE_FRACTION", "activation_fraction_below", "absolute_weight_entropy", "summed_kl",
           "first_linear", "pruned_outputs", "ActivationSparsity", "AbsWeightEntropy", "LocalCircuitComplexity"]

THRESHOLD = 0.1  # τ: an activation below it counts as inactive (docs/measures.md, "Golechha 2024")
PRUNE_FRACTION = 0.1  # the share of the first layer's weights set to zero (both papers: 10 %)
CLASS_SCORE_PROPERTIES = ("classification", "class_scores_mse")
GOLECHHA = "Golechha 2024, Progress Measures for Grokking on Real-world Tasks (arXiv 2405.12755)"
RESTATED = "; restated in Prakash & Martin 2025, arXiv 2506.04434, App. B"


def _finite64(t: torch.Tensor, what: str) -> torch.Tensor:
    x = t.detach().to(torch.float64)
    if not torch.isfinite(x).all():
        raise ValueError(f"{what} has non-finite entries: Golechha measure undefined")
    return x


def activation_fraction_below(h: torch.Tensor, tau: float = THRESHOLD) -> float:
    """The fraction of the entries of ``h`` (N×K activations) below ``tau``."""
    x = _finite64(h, "activation")
    if x.numel() == 0:
        raise ValueError("no activations: sparsity undefined")
    return float((x < tau).to(torch.float64).mean())


def absolute_weight_entropy(matrices: list[torch.Tensor]) -> float:
    """−Σ |w| ln |w| over every entry of every matrix (0 ln 0 = 0)."""
    total = 0.0
    for m in matrices:
        a = _finite64(m, "weight").abs()
        a = a[a > 0]
        total -= float((a * a.log()).sum())
    return total


def summed_kl(logits_p: torch.Tensor, logits_q: torch.Tensor) -> float:
    """Σ_rows KL(softmax(p_row) ‖ softmax(q_row)), natural log."""
    lp = torch.log_softmax(_finite64(logits_p, "output"), dim=-1)
    lq = torch.log_softmax(_finite64(logits_q, "output"), dim=-1)
    return float((lp.exp() * (lp - lq)).sum())


def first_linear(model: nn.Module) -> tuple[str, nn.Linear]:
    """The first ``nn.Linear`` at or after ``model.input_stage`` (after any embedding), with its parameter path."""
    start = getattr(model, "input_stage", 0)
    stages = getattr(model, "stages", None)
    scopes = [(f"stages.{i}", s) for i, s in enumerate(stages)][start:] if stages is not None else [("", model)]
    for prefix, scope in scopes:
        for name, module in scope.named_modules():
            if isinstance(module, nn.Linear):
                return ".".join(p for p in (prefix, name) if p), module
    raise ValueError("model has no Linear layer after its input stage: local circuit complexity undefined")


def pruned_outputs(model: nn.Module, x: torch.Tensor, generator: torch.Generator,
                   fraction: float = PRUNE_FRACTION) -> torch.Tensor:
    """The model's outputs on ``x`` with round(fraction·n) of its first Linear layer's n weights set to 0.

    The zeroed entries are drawn uniformly without replacement from ``generator`` (CPU, so the draw
    is the same on every device) and the model itself is left unchanged.
    """
    path, layer = first_linear(model)
    w = layer.weight
    n = w.numel()
    k = int(round(fraction * n))
    chosen = torch.randperm(n, generator=generator, device=generator.device)[:k].to(w.device)
    pruned = w.detach().flatten().clone()
    pruned[chosen] = 0
    return functional_call(model, {f"{path}.weight": pruned.view_as(w)}, (x,))


@register_measure
class ActivationSparsity(Measure):
    info = MeasureInfo(
        name="activation-sparsity", version="1", direction=-1,
        direction_source="Golechha 2024: activation sparsity rises as the net groks (a generalising net uses "
                         "few units per input), so a larger value is the generalising side",
        needs=frozenset({"weights", "data"}), cost="cheap", applies_to="any", reference=GOLECHHA + RESTATED,
        description="fraction of the first hidden layer's activations (after the nonlinearity) below τ = 0.1, "
                    "over the training inputs",
    )

    def applicable(self, task: Any, model: nn.Module | None = None) -> bool:
        return model is None or getattr(model, "hidden_stage", None) is not None

    def compute(self, model: nn.Module, ctx: MeasureContext) -> float:
        stage = getattr(model, "hidden_stage", None)
        if stage is None:
            raise ValueError("activation sparsity needs a StagedModel with a hidden_stage")
        with torch.no_grad():
            h = model.stage_outputs(ctx.x_train)[stage - 1]
        return activation_fraction_below(h.flatten(1))


@register_measure
class AbsWeightEntropy(Measure):
    info = MeasureInfo(
        name="abs-weight-entropy", version="1", direction=+1,
        direction_source="Golechha 2024: absolute weight entropy falls as the net groks (the weights "
                         "concentrate), so a smaller value is the generalising side",
        needs=frozenset({"weights"}), cost="cheap", applies_to="any", reference=GOLECHHA + RESTATED,
        description="−Σ|w| ln|w| over every Linear weight and embedding table (biases excluded); "
                    "unnormalised, negative when many |w| > 1",
    )

    def compute(self, model: nn.Module, ctx: MeasureContext) -> float:
        mats = list(weight_matrices(model).values())
        if not mats:
            raise ValueError("model has no Linear or embedding weights: absolute weight entropy undefined")
        return absolute_weight_entropy(mats)


@register_measure
class LocalCircuitComplexity(Measure):
    info = MeasureInfo(
        name="local-circuit-complexity", version="1", direction=+1,
        direction_source="Golechha 2024: approximate local circuit complexity (output change when 10 % of "
                         "the first layer's weights are zeroed) falls as the net groks",
        needs=frozenset({"weights", "data"}), cost="cheap", stochastic=True, applies_to="any",
        reference=GOLECHHA + RESTATED,
        description="Σ over the training inputs of KL(softmax f(x) ‖ softmax f̃(x)), f̃ = the net with 10 % of "
                    "its first Linear layer's weights zeroed (one draw); class-score tasks only",
    )

    def applicable(self, task: Any, model: nn.Module | None = None) -> bool:
        return any(task.has_property(p) for p in CLASS_SCORE_PROPERTIES)

    def compute(self, model: nn.Module, ctx: MeasureContext) -> float:
        with torch.no_grad():
            original = model(ctx.x_train)
            pruned = pruned_outputs(model, ctx.x_train, ctx.generator)
        if original.ndim != 2 or original.shape[-1] < 2:
            raise ValueError(f"outputs of shape {tuple(original.shape)} are not class scores: KL undefined")
        return summed_kl(original, pruned)
