"""Per-sample losses and gradients of a stacked model: the hand-written backward where it
applies (engine/stacked_mlp.py), autograd otherwise (engine/cohort.py).
"""

from __future__ import annotations


import torch
import torch.nn.functional as F

from complexity_bench.contracts.task import Task
from complexity_bench.engine.cohort_model import StackedModel
from complexity_bench.engine.stacked_mlp import explicit_gradients, supports_explicit


# --------------------------------------------------------------------------- losses
def per_sample_loss(task: Task, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(R, n) loss per sample whose mean over a run's samples is ``task.loss``."""
    r, n = out.shape[:2]
    kind = task.loss_kind
    if kind == "cross_entropy":
        return F.cross_entropy(out.reshape(r * n, -1), y.reshape(r * n), reduction="none").view(r, n)
    if kind == "mse":
        return (out - y).pow(2).reshape(r, n, -1).mean(-1)
    if kind == "hinge":
        return torch.clamp(1 - out.squeeze(-1) * y, min=0)
    raise ValueError(kind)


# --------------------------------------------------------------------------- gradients
def gradient_mode(task: Task, model: StackedModel) -> str:
    """How :func:`compute_gradients` differentiates: ``"explicit"`` (stacked_mlp's
    hand-written backward) where it can, else ``"autograd"``, or ``"custom_loss"``
    (autograd through the task's own loss, run by run)."""
    if overrides_loss(task):
        return "custom_loss"
    return "explicit" if model.explicit_backward and supports_explicit(model.plan, task.loss_kind) else "autograd"


def compute_gradients(task: Task, model: StackedModel, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor,
                      mode: str) -> None:
    """Fill ``model.grad`` with the gradient of every live run's weighted batch loss
    (x, y, w: the step's inputs, targets and per-sample weights, stacked by run)."""
    if mode == "explicit":
        for r0, r1, leaves in model.chunks:
            grads = {name: leaf.grad for name, leaf in leaves.items()}
            explicit_gradients(model.plan, leaves, grads, x[r0:r1], y[r0:r1], w[r0:r1], task.loss_kind)
        return
    model.grad.zero_()
    for r0, r1, leaves in model.chunks:
        out = model.forward(x[r0:r1], leaves)
        yc, wc = y[r0:r1], w[r0:r1]
        if mode == "custom_loss":
            loss = sum(task.loss(out[j][wc[j] > 0], yc[j][wc[j] > 0]) for j in range(r1 - r0))
        else:
            loss = (per_sample_loss(task, out, yc) * wc).sum()
        loss.backward()


def overrides_loss(task: Task) -> bool:
    return type(task).loss is not Task.loss
