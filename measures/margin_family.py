"""Output-margin measures: circuit efficiency (Varma et al. 2023) and Jiang et al. 2020's margin family.

For a classifier with outputs f(x) and a training set {(x_i, y_i)}, the output margin of sample i is

    cross-entropy (k logits):  m_i = f(x_i)_{y_i} − max_{j ≠ y_i} f(x_i)_j
    hinge (one output, y = ±1): m_i = y_i · f(x_i)

(positive iff the sample is classified correctly). Three leaderboard rows:

- ``circuit-efficiency`` = mean_i m_i / ‖θ‖_2: the correct-class margin the net produces on
  the training set per unit of parameter norm (θ = every parameter, embeddings and biases
  included). Varma et al. explain grokking by the generalising circuit reaching the same
  training logits with a smaller parameter norm (a more *efficient* circuit), so a larger
  value is the generalising side: direction −1.
- ``output-margin`` = γ, the 10th percentile of {m_i} (Jiang et al.'s robust stand-in for the
  minimum margin). Jiang et al.'s measure is 1/γ² (larger = worse), i.e. a larger γ
  generalises better: direction −1. γ is reported as it is, negative while more than 10 % of
  the training set is misclassified (1/γ² would be undefined or reverse its order there).
- ``spectral-margin`` = γ / Π_l ‖W_l‖_2, the margin normalised by the spectral product
  (Bartlett et al. 2017's spectrally-normalised margin; Jiang et al.'s ``spec-orig`` is
  Π‖W‖²/γ², its inverse square when γ > 0). W_l are the matrices of ``norm_family``
  (every Linear weight and embedding table). Larger = better: direction −1.

Percentiles use linear interpolation between order statistics (``torch.quantile``'s default,
numpy's "linear"). Sums run in float64. Not applicable where there is no margin: regression
and MSE-trained tasks (teacher-student, digits) and losses the harness does not know.
A non-finite output raises ``ValueError`` (the harness records a missing value with that reason).

Example::

    >>> import torch
    >>> output_margins(torch.tensor([[3.0, 1.0, 0.0], [0.0, 2.0, 5.0]]), torch.tensor([0, 1]), "cross_entropy").tolist()
    [2.0, -3.0]
    >>> output_margins(torch.tensor([[0.5], [-2.0]]), torch.tensor([1.0, 1.0]), "hinge").tolist()
    [0.5, -2.0]
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from complexity_bench.contracts.measure import Measure, MeasureContext, MeasureInfo, register_measure
from complexity_bench.measures.l2 import parameter_norm
from complexity_bench.measures.norm_family import log_spectral_product, weight_matrices

__all__ = ["MARGIN_LOSSES", "output_margins", "margin_percentile", "CircuitEfficiency",
           "OutputMargin", "SpectralMargin"]

# loss kinds whose outputs carry a margin (see the module docstring)
MARGIN_LOSSES = ("cross_entropy", "hinge")
PERCENTILE = 0.10  # Jiang et al. 2020, §"Output margin": the 10th percentile, robust to outliers
JIANG = ("Jiang, Neyshabur, Mobahi, Krishnan & Bengio 2020, Fantastic Generalization Measures and Where to "
         "Find Them, ICLR (arXiv 1912.02178)")


def output_margins(outputs: torch.Tensor, targets: torch.Tensor, loss_kind: str) -> torch.Tensor:
    """Per-sample margins m_i in float64 (module docstring); ``ValueError`` on non-finite outputs."""
    out = outputs.detach().double()
    if not torch.isfinite(out).all():
        raise ValueError("model outputs are non-finite: margin undefined")
    if loss_kind == "cross_entropy":
        correct = out.gather(1, targets.view(-1, 1)).squeeze(1)
        others = out.scatter(1, targets.view(-1, 1), -math.inf)
        return correct - others.max(dim=1).values
    if loss_kind == "hinge":
        return out.squeeze(-1) * targets.double()
    raise ValueError(f"no output margin for loss kind {loss_kind!r} (only {', '.join(MARGIN_LOSSES)})")


def margin_percentile(margins: torch.Tensor, q: float = PERCENTILE) -> float:
    """The ``q`` quantile of the margins (linear interpolation between order statistics)."""
    return float(torch.quantile(margins, q))


def _train_margins(model: nn.Module, ctx: MeasureContext) -> torch.Tensor:
    with torch.no_grad():
        return output_margins(model(ctx.x_train), ctx.y_train, ctx.task.loss_kind)


class _MarginMeasure(Measure):
    """Shared applicability: tasks whose loss defines a margin."""

    def applicable(self, task: Any, model: nn.Module | None = None) -> bool:
        return getattr(task, "loss_kind", None) in MARGIN_LOSSES


@register_measure
class CircuitEfficiency(_MarginMeasure):
    info = MeasureInfo(
        name="circuit-efficiency", version="1", direction=-1,
        direction_source="Varma et al. 2023: the generalising circuit is the more efficient one (larger logits "
                         "per unit parameter norm), and grokking is the switch to it",
        needs=frozenset({"weights", "data"}), cost="cheap", applies_to="any",
        reference="Varma, Shah, Kenton, Kramár & Kumar 2023, Explaining grokking through circuit efficiency "
                  "(arXiv 2309.02390)",
        description="mean training-set output margin (correct logit minus the largest other; y·f for hinge) "
                    "divided by the parameter norm ‖θ‖_2; cross-entropy and hinge tasks only",
    )

    def compute(self, model: nn.Module, ctx: MeasureContext) -> float:
        norm = parameter_norm(model)
        if norm == 0:
            raise ValueError("all parameters are zero: margin per unit norm undefined")
        return float(_train_margins(model, ctx).mean()) / norm


@register_measure
class OutputMargin(_MarginMeasure):
    info = MeasureInfo(
        name="output-margin", version="1", direction=-1,
        direction_source="Jiang et al. 2020: 1/γ² of the 10th-percentile output margin γ is a complexity "
                         "measure (larger = worse), so a larger γ is the generalising side",
        needs=frozenset({"weights", "data"}), cost="cheap", applies_to="any", reference=JIANG,
        description="γ: 10th percentile of the training-set output margins (correct logit minus the largest "
                    "other; y·f for hinge); cross-entropy and hinge tasks only",
    )

    def compute(self, model: nn.Module, ctx: MeasureContext) -> float:
        return margin_percentile(_train_margins(model, ctx))


@register_measure
class SpectralMargin(_MarginMeasure):
    info = MeasureInfo(
        name="spectral-margin", version="1", direction=-1,
        direction_source="Bartlett, Foster & Telgarsky 2017; Jiang et al. 2020 (spec-orig = Π‖W‖²/γ², larger = "
                         "worse): a larger spectrally-normalised margin generalises better",
        needs=frozenset({"weights", "data"}), cost="cheap", applies_to="any",
        reference=JIANG + "; Bartlett, Foster & Telgarsky 2017, Spectrally-normalized margin bounds (arXiv 1706.08498)",
        description="γ / Π_l ‖W_l‖_2: the 10th-percentile training margin over the product of the spectral norms "
                    "of every Linear weight and embedding table; cross-entropy and hinge tasks only",
    )

    def compute(self, model: nn.Module, ctx: MeasureContext) -> float:
        log_prod = log_spectral_product(list(weight_matrices(model).values()))
        if not math.isfinite(log_prod):
            raise ValueError("a weight matrix is zero or non-finite: spectral product undefined")
        return margin_percentile(_train_margins(model, ctx)) * math.exp(-log_prod)
