"""Forward pass and hand-written gradients of R stacked MLPs (the cohort engine's model).

The cohort minimises, for every run r at once, the weighted loss of its batch::

    L_r = sum_i w_ri * loss(f_r(x_ri), y_ri)      (w_ri = 1/n_r, 0 on padding)

For the architectures the suite trains (an optional (pair) embedding, then Linear
and elementwise activation stages) and the built-in loss kinds, the gradient is
computed explicitly, layer by layer, for all runs at once::

    forward    z_l = h_{l-1} W_l^T + b_l,  h_l = act(z_l)      (one baddbmm each)
    loss       d_L = dL/d(out): mse 2 (out - y) w / k  (k outputs per sample),
               cross entropy (softmax(out) - onehot(y)) w,  hinge -y w [1 - out y >= 0]
    backward   dW_l = d_l^T h_{l-1},  db_l = sum_i d_l,  d_{l-1} = act'(z_{l-1}) * (d_l W_l)

Weight and bias gradients are written straight into the cohort's gradient buffer
(``bmm(..., out=)``), and activations use aten's own backward kernels
(``tanh_backward``, ``threshold_backward``, ``silu_backward``, ...: the ones
autograd calls), so the result is autograd's up to the order of float sums.

Why not autograd: for the smallest net (5-100-100-5, 100 samples) the graph's
book-keeping -- saved tensors, gradients produced transposed and then added into
the existing ``.grad`` views, the loss's intermediate tensors -- was ~18% of a
16-run step on the 2-core AMD EPYC (docs/performance.md). A task that overrides
``Task.loss`` still goes through autograd (:func:`supports_explicit`).
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

aten = torch.ops.aten

# activation -> (what its backward needs: "input" or "output", d(act) given that tensor)
Backward = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]
ACTIVATION_BACKWARD: dict[type, tuple[str, Backward]] = {
    nn.Tanh: ("output", lambda m, d, y: aten.tanh_backward(d, y)),
    nn.Sigmoid: ("output", lambda m, d, y: aten.sigmoid_backward(d, y)),
    nn.ReLU: ("output", lambda m, d, y: aten.threshold_backward(d, y, 0)),
    nn.SiLU: ("input", lambda m, d, z: aten.silu_backward(d, z)),
    nn.GELU: ("input", lambda m, d, z: aten.gelu_backward(d, z, approximate=m.approximate)),
    nn.LeakyReLU: ("input", lambda m, d, z: aten.leaky_relu_backward(d, z, m.negative_slope, False)),
    nn.Identity: ("output", lambda m, d, y: d),
}
LOSS_KINDS = ("mse", "cross_entropy", "hinge")
Plan = list[tuple[str, nn.Module, tuple[str, ...]]]  # (kind, stage module, parameter names) per stage


def supports_explicit(plan: Plan, loss_kind: str | None) -> bool:
    """True when :func:`explicit_gradients` can train a StackedModel with this ``plan``.

    Needs a built-in loss kind, activations listed in ACTIVATION_BACKWARD (not in
    place), and an embedding (if any) only as the first stage (its input is
    integer tokens).
    """
    if loss_kind not in LOSS_KINDS:
        return False
    for i, (kind, module, _) in enumerate(plan):
        if kind in ("embedding", "pair_embedding") and i != 0:
            return False
        # an in-place activation would overwrite the input its backward needs
        if kind == "elementwise" and (type(module) not in ACTIVATION_BACKWARD or getattr(module, "inplace", False)):
            return False
    return True


def loss_gradient(kind: str, out: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """d(sum_ri w_ri loss(out_ri, y_ri)) / d(out), for (r, n, ...) outputs and (r, n) weights."""
    r, n = out.shape[:2]
    if kind == "mse":  # per sample: mean over its k outputs of (out - y)^2
        k = out[0, 0].numel()
        return (out - y).mul_((w * (2.0 / k)).view(r, n, *([1] * (out.dim() - 2))))
    if kind == "cross_entropy":
        g = torch.softmax(out, dim=-1)
        flat = g.view(r * n, -1)
        flat[torch.arange(r * n, device=out.device), y.reshape(r * n)] -= 1
        return g.mul_(w.unsqueeze(-1))
    if kind == "hinge":  # clamp(1 - out y, min=0); torch's clamp passes the gradient at exactly 0
        margin = 1 - out.squeeze(-1) * y
        g = torch.where(margin >= 0, -y * w, torch.zeros((), dtype=out.dtype, device=out.device))
        return g.unsqueeze(-1)
    raise ValueError(f"no explicit gradient for loss kind {kind!r}")


def stacked_forward(plan: Plan, params: dict[str, torch.Tensor], x: torch.Tensor,
                    saved: list[torch.Tensor] | None = None) -> torch.Tensor:
    """(r, n, ...) inputs, one slice per run -> (r, n, out) outputs.

    ``params``: ``(r, *shape)`` weights per parameter name. With ``saved``, appends
    per stage what its backward needs (a Linear's input, an embedding's rows, an
    activation's input or output).
    """
    h = x
    for kind, module, names in plan:
        if kind == "linear":
            if saved is not None:
                saved.append(h)
            w_t = params[names[0]].transpose(1, 2)
            h = torch.baddbmm(params[names[1]].unsqueeze(1), h, w_t) if len(names) == 2 else torch.bmm(h, w_t)
        elif kind in ("embedding", "pair_embedding"):
            table = params[names[0]]
            r, vocab, dim = table.shape
            # offset each run's tokens into its own rows of the flattened tables
            rows = h + (torch.arange(r, device=h.device) * vocab).view(r, *([1] * (h.dim() - 1)))
            if saved is not None:
                saved.append(rows)
            h = F.embedding(rows, table.reshape(r * vocab, dim))
            if kind == "pair_embedding":
                h = h.flatten(2)
        else:
            z, h = h, module(h)
            if saved is not None:
                saved.append(z if ACTIVATION_BACKWARD[type(module)][0] == "input" else h)
    return h


@torch.no_grad()
def explicit_gradients(plan: Plan, params: dict[str, torch.Tensor], grads: dict[str, torch.Tensor],
                       x: torch.Tensor, y: torch.Tensor, w: torch.Tensor, loss_kind: str) -> None:
    """Write the gradient of the weighted loss into ``grads`` (overwritten, not added).

    ``params`` and ``grads``: ``(r, *shape)`` tensors per parameter name, ``grads``
    contiguous; x: (r, n, ...) inputs; y: targets; w: (r, n) per-sample weights.
    Requires :func:`supports_explicit`.
    """
    saved: list[torch.Tensor] = []
    d = loss_gradient(loss_kind, stacked_forward(plan, params, x, saved), y, w)
    # stages before the first one with parameters need no gradient
    first = next((i for i, (kind, _, _) in enumerate(plan) if kind != "elementwise"), len(plan))
    for i in range(len(plan) - 1, first - 1, -1):
        kind, module, names = plan[i]
        if kind == "linear":
            torch.bmm(d.transpose(1, 2), saved[i], out=grads[names[0]])
            if len(names) == 2:
                torch.sum(d, dim=1, out=grads[names[1]])
            if i > first:  # the input of the first parameter stage needs no gradient
                d = torch.bmm(d, params[names[0]])
        elif kind in ("embedding", "pair_embedding"):
            g = grads[names[0]]
            r, vocab, dim = g.shape
            g.zero_()
            g.view(r * vocab, dim).index_add_(0, saved[i].reshape(-1), d.reshape(-1, dim))
        else:
            d = ACTIVATION_BACKWARD[type(module)][1](module, d, saved[i])
