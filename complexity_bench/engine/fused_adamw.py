"""One AdamW step on lists of tensors, in place: the only place the engine touches a
private torch API.

``torch._fused_adamw_`` is the kernel behind ``torch.optim.AdamW(fused=True)``: one call
updates every tensor of a block of runs that share hyperparameters. It is private, so
it may move between torch releases; without it the step falls back to the public
functional form of the same optimizer (``torch.optim.adamw.adamw``), which gives the
same values (tests/test_fused_adamw.py), only slower.
"""

from __future__ import annotations

import torch
from torch.optim.adamw import adamw as functional_adamw

_FUSED = getattr(torch, "_fused_adamw_", None)


def adamw_step(params: list[torch.Tensor], grads: list[torch.Tensor], exp_avgs: list[torch.Tensor],
               exp_avg_sqs: list[torch.Tensor], step: torch.Tensor, *, lr: float, beta1: float, beta2: float,
               weight_decay: float, eps: float, fused: bool | None = None) -> None:
    """The ``step``-th AdamW update of every tensor in ``params`` from ``grads``, updating
    the moment buffers. ``step``: a 0-d float tensor on the parameters' device holding the
    1-based step, as torch.optim counts (the caller keeps one and refills it). ``fused=None``
    takes the fused kernel when this torch has it."""
    if fused is None:
        fused = _FUSED is not None
    if fused:
        _FUSED(params, grads, exp_avgs, exp_avg_sqs, [], [step] * len(params), lr=lr, beta1=beta1, beta2=beta2,
               weight_decay=weight_decay, eps=eps, amsgrad=False, maximize=False)
        return
    # the functional form increments each step tensor itself, so it gets step - 1, one per tensor
    steps = [torch.tensor(float(step) - 1, dtype=torch.float32) for _ in params]
    functional_adamw(params, grads, exp_avgs, exp_avg_sqs, [], steps, foreach=False, capturable=False,
                     amsgrad=False, beta1=beta1, beta2=beta2, lr=lr, weight_decay=weight_decay, eps=eps,
                     maximize=False)
