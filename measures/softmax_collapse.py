"""Softmax-collapse fraction on the training set (Prieto, Barsbey, Mediano & Birdal 2025).

With z the logits of a training sample, c its class, and every operation in the
logits' own floating-point type (the training dtype, float32 for all our tasks),

    collapsed  ⟺  log_softmax(z)_c == 0 exactly  ⟺  softmax(z)_c == 1 exactly
               ⟺  z_c = max_j z_j  and  fl(Σ_j exp(z_j − max z)) == 1,

and the measure is the share of training samples that collapsed. For such a sample
the cross-entropy term is exactly 0 and so is the gradient of the correct logit
(softmax_c − 1): it stops contributing to learning, which is the numerical failure
Prieto et al. blame for runs that never grok. In float32, 1 + s rounds to 1 when
s ≤ 2⁻²⁴, so a two-class sample collapses once its margin exceeds 24·ln 2 ≈ 16.64
(the tests pin this boundary). Their logger counts S == 1 whether or not the largest
logit is the right one; we count only collapses onto the correct class, the ones that
freeze learning on a fitted sample (a collapse onto a wrong class has softmax_c ≈ 0
and a full-size gradient).

direction = +1: more collapsed samples = more of the training set frozen at
memorisation. applies_to = "classification" (softmax cross-entropy tasks).
Cost: one forward pass over the training set.

Example::

    >>> import torch
    >>> z = torch.tensor([[20.0, 0.0], [10.0, 0.0], [0.0, 30.0]])
    >>> collapse_mask(z, torch.tensor([0, 0, 0])).tolist()   # margins 20 and 10; the third is wrong
    [True, False, False]
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from complexity_bench.contracts.measure import MeasureContext, measure

__all__ = ["collapse_mask", "collapse_fraction"]


def collapse_mask(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-sample bool: the correct class gets softmax exactly 1 in ``logits.dtype``."""
    log_p = F.log_softmax(logits, dim=-1)
    return log_p.gather(-1, targets.long().unsqueeze(-1)).squeeze(-1) == 0


def collapse_fraction(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Share of samples whose correct-class softmax is exactly 1 (see :func:`collapse_mask`)."""
    return float(collapse_mask(logits, targets).double().mean())


@measure(name="softmax-collapse", version="1", direction=+1, direction_source='Prieto et al. 2025: softmax collapse stalls generalisation (more collapse = further from it)', needs=("weights", "data"), cost="cheap",
         applies_to="classification",
         reference="Prieto, Barsbey, Mediano & Birdal 2025, Grokking at the Edge of Numerical Stability, "
                   "ICLR (arXiv 2501.04697)",
         description="share of training samples whose softmax (in the training dtype) gives exactly 1.0 to the "
                     "correct class, i.e. zero loss and zero correct-logit gradient")
def softmax_collapse_measure(model: nn.Module, ctx: MeasureContext) -> float:
    with torch.no_grad():
        logits = model(ctx.x_train)
    return collapse_fraction(logits, ctx.y_train)
