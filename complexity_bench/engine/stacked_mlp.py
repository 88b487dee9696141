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
(``bmm(..., out=)``). Activations use aten's own backward kernels (``tanh_backward``,
``threshold_backward``, ...: the ones autograd calls), except SiLU, whose forward keeps
its sigmoid s so that the backward, silu'(z) = s + h (1 - s) with h = z s, needs no
second exp: one ``lerp`` pass instead of aten's ``silu_backward`` (23 vs 85 us per
768 x 100 run-layer; as accurate, tests/test_stacked_mlp.py).

Memory layout: tensors have the logical shape (r, n, d) (run, sample, feature)
throughout, but a Linear narrower than the batch (out < n) writes its output
feature-major, as the contiguous (r, out, n) product ``W h^T + b`` seen through
``.transpose(1, 2)``, whenever autograd is not recording. For the paper's 100 -> 31
output layer, ``h W^T`` is a 768 x 100 x 31 matmul that MKL runs at 33 GFLOP/s on the
2-core AMD EPYC, ``W h^T`` (31 x 100 x 768) at 62; its other layers are as fast or
faster that way round, while layers wider than the batch are faster sample-major
(docs/performance.md). Elementwise operations keep their input's layout, and every
gradient is computed in the layout of the tensor it belongs to, so nothing is copied
to change layout. The layout is not read back from strides: ``_linear`` returns the
one it chose, the forward records each stage's (:class:`Tape`), and the backward
passes it on to the kernels that depend on it (:func:`loss_gradient`,
``_times_weight``).

Why not autograd: for the smallest net (5-100-100-5, 100 samples) the graph's
book-keeping -- saved tensors, gradients produced transposed and then added into
the existing ``.grad`` views, the loss's intermediate tensors -- was ~18% of a
16-run step on the 2-core AMD EPYC (docs/performance.md). A task that overrides
``Task.loss`` still goes through autograd (:func:`supports_explicit`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from complexity_bench.contracts.task import LOSS_KINDS

aten = torch.ops.aten


class Layout(enum.Enum):
    """Memory layout of an (r, n, d) (run, sample, feature) activation or gradient.

    With one feature (d = 1) the two are the same memory; such a tensor counts as
    sample-major (as ``is_contiguous`` sees it).
    """

    SAMPLE_MAJOR = "sample-major"  # the contiguous (r, n, d) tensor
    FEATURE_MAJOR = "feature-major"  # the contiguous (r, d, n) tensor seen through .transpose(1, 2)


@dataclass
class Tape:
    """What :func:`stacked_forward` leaves for the backward, one entry per stage."""

    kept: list[Any] = field(default_factory=list)  # a Linear's input, an embedding's rows, what an activation keeps
    layouts: list[Layout] = field(default_factory=list)  # the memory layout of the stage's output

    def input_layout(self, stage: int) -> Layout:
        """Layout of the input of ``stage``: the previous stage's output (the net's
        input x counts as sample-major)."""
        return self.layouts[stage - 1] if stage > 0 else Layout.SAMPLE_MAJOR

    def output_layout(self) -> Layout:
        """Layout of the net's output: the last stage's."""
        return self.input_layout(len(self.layouts))


class Activation(NamedTuple):
    """An activation's forward, keeping what its backward needs, and that backward."""

    forward: Callable[[nn.Module, torch.Tensor], tuple[torch.Tensor, Any]]  # (module, z) -> (h, kept)
    backward: Callable[[nn.Module, torch.Tensor, Any], torch.Tensor]  # (module, dL/dh, kept) -> dL/dz


def _keeping_output(backward: Callable[[nn.Module, torch.Tensor, Any], torch.Tensor]) -> Activation:
    def forward(m: nn.Module, z: torch.Tensor) -> tuple[torch.Tensor, Any]:
        h = m(z)
        return h, h
    return Activation(forward, backward)


def _keeping_input(backward: Callable[[nn.Module, torch.Tensor, Any], torch.Tensor]) -> Activation:
    return Activation(lambda m, z: (m(z), z), backward)


def _silu_forward(m: nn.Module, z: torch.Tensor) -> tuple[torch.Tensor, Any]:
    s = torch.sigmoid(z)
    h = z * s
    return h, (s, h)


def _silu_backward(m: nn.Module, d: torch.Tensor, kept: Any) -> torch.Tensor:
    s, h = kept
    return torch.lerp(s, s.new_ones(()), h).mul_(d)  # lerp(s, 1, h) = s + h (1 - s) = silu'(z)


ACTIVATION_KERNELS: dict[type, Activation] = {
    nn.Tanh: _keeping_output(lambda m, d, y: aten.tanh_backward(d, y)),
    nn.Sigmoid: _keeping_output(lambda m, d, y: aten.sigmoid_backward(d, y)),
    nn.ReLU: _keeping_output(lambda m, d, y: aten.threshold_backward(d, y, 0)),
    nn.SiLU: Activation(_silu_forward, _silu_backward),
    nn.GELU: _keeping_input(lambda m, d, z: aten.gelu_backward(d, z, approximate=m.approximate)),
    nn.LeakyReLU: _keeping_input(lambda m, d, z: aten.leaky_relu_backward(d, z, m.negative_slope, False)),
    nn.Identity: _keeping_output(lambda m, d, y: d),
}
StagePlan = list[tuple[str, nn.Module, tuple[str, ...]]]  # (kind, stage module, parameter names) per stage


def supports_explicit(plan: StagePlan, loss_kind: str | None) -> bool:
    """True when :func:`explicit_gradients` can train a StackedModel with this ``plan``.

    Needs a built-in loss kind, activations listed in ACTIVATION_KERNELS (not in place),
    and an embedding (if any) only as the first stage (its input is integer tokens).
    """
    if loss_kind not in LOSS_KINDS:
        return False
    for i, (kind, module, _) in enumerate(plan):
        if kind in ("embedding", "pair_embedding") and i != 0:
            return False
        # an in-place activation would overwrite the input its backward needs
        if kind == "elementwise" and (type(module) not in ACTIVATION_KERNELS or getattr(module, "inplace", False)):
            return False
    return True


def loss_gradient(kind: str, out: torch.Tensor, y: torch.Tensor, w: torch.Tensor, layout: Layout) -> torch.Tensor:
    """d(sum_ri w_ri loss(out_ri, y_ri)) / d(out), for (r, n, ...) outputs and (r, n) weights.

    ``layout``: the memory layout of ``out``; the gradient is returned in it.
    """
    r, n = out.shape[:2]
    if kind == "mse":  # per sample: mean over its k outputs of (out - y)^2
        k = out[0, 0].numel()
        return (out - y).mul_((w * (2.0 / k)).view(r, n, *([1] * (out.dim() - 2))))
    if kind == "cross_entropy":
        # over the classes of the (r, k, n) transpose, in out's layout (no copy)
        if layout is Layout.FEATURE_MAJOR:
            g = torch.softmax(out.transpose(1, 2), dim=1)
        else:
            g = torch.softmax(out, -1).transpose(1, 2)
        g.scatter_add_(1, y.unsqueeze(1), torch.full((), -1.0, dtype=g.dtype, device=g.device).expand(r, 1, n))
        return g.mul_(w.unsqueeze(1)).transpose(1, 2)
    if kind == "hinge":  # clamp(1 - out y, min=0); torch's clamp passes the gradient at exactly 0
        margin = 1 - out.squeeze(-1) * y
        g = torch.where(margin >= 0, -y * w, torch.zeros((), dtype=out.dtype, device=out.device))
        return g.unsqueeze(-1)
    raise ValueError(f"no explicit gradient for loss kind {kind!r}")


def stacked_forward(plan: StagePlan, params: dict[str, torch.Tensor], x: torch.Tensor,
                    tape: Tape | None = None) -> torch.Tensor:
    """(r, n, ...) inputs, one slice per run -> (r, n, out) outputs (in either memory
    layout: see the module docstring; ``tape.output_layout()`` says which).

    ``params``: ``(r, *shape)`` weights per parameter name. With ``tape``, appends per
    stage what its backward needs (a Linear's input, an embedding's rows, what an
    activation keeps) and the layout of its output. Without it, activations are the
    stage modules themselves.
    """
    h, layout = x, Layout.SAMPLE_MAJOR
    for kind, module, names in plan:
        kept: Any = None
        if kind == "linear":
            kept = h
            # feature-major only where autograd is not recording: its backward would meet such
            # outputs with gradients in the other layout (slow mixed-stride kernels)
            h, layout = _linear(h, params[names[0]], params[names[1]] if len(names) == 2 else None,
                                feature_major_ok=not torch.is_grad_enabled())
        elif kind in ("embedding", "pair_embedding"):
            table = params[names[0]]
            r, vocab, dim = table.shape
            # offset each run's tokens into its own rows of the flattened tables
            kept = h + (torch.arange(r, device=h.device) * vocab).view(r, *([1] * (h.dim() - 1)))
            h, layout = F.embedding(kept, table.reshape(r * vocab, dim)), Layout.SAMPLE_MAJOR
            if kind == "pair_embedding":
                h = h.flatten(2)
        elif tape is None:
            h = module(h)
        else:  # elementwise: the output keeps the input's layout
            h, kept = ACTIVATION_KERNELS[type(module)].forward(module, h)
        if tape is not None:
            tape.kept.append(kept)
            tape.layouts.append(layout)
    return h


def _linear(h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
            feature_major_ok: bool) -> tuple[torch.Tensor, Layout]:
    """h W^T + b for (r, n, in) h, and the layout it is written in: feature-major if
    allowed and out < n (the product's contiguous dimension is then the longer one:
    see the module docstring)."""
    out = weight.shape[1]
    if feature_major_ok and out < h.shape[1]:
        h_t = h.transpose(1, 2)
        z_t = torch.bmm(weight, h_t) if bias is None else torch.baddbmm(bias.unsqueeze(2), weight, h_t)
        # one output feature: (r, 1, n) is also the contiguous (r, n, 1) (see Layout)
        return z_t.transpose(1, 2), Layout.FEATURE_MAJOR if out > 1 else Layout.SAMPLE_MAJOR
    w_t = weight.transpose(1, 2)
    return (torch.bmm(h, w_t) if bias is None else torch.baddbmm(bias.unsqueeze(1), h, w_t)), Layout.SAMPLE_MAJOR


def _times_weight(d: torch.Tensor, weight: torch.Tensor, layout: Layout) -> torch.Tensor:
    """d W for (r, n, out) d and (r, out, in) W, written in ``layout`` (that of the
    Linear's (r, n, in) input, whose gradient this is)."""
    if layout is Layout.FEATURE_MAJOR:
        return torch.bmm(weight.transpose(1, 2), d.transpose(1, 2)).transpose(1, 2)
    return torch.bmm(d, weight)


@torch.no_grad()
def explicit_gradients(plan: StagePlan, params: dict[str, torch.Tensor], grads: dict[str, torch.Tensor],
                       x: torch.Tensor, y: torch.Tensor, w: torch.Tensor, loss_kind: str) -> None:
    """Write the gradient of the weighted loss into ``grads`` (overwritten, not added).

    ``params`` and ``grads``: ``(r, *shape)`` tensors per parameter name, ``grads``
    contiguous; x: (r, n, ...) inputs; y: targets; w: (r, n) per-sample weights.
    Requires :func:`supports_explicit`.
    """
    tape = Tape()
    out = stacked_forward(plan, params, x, tape)
    d = loss_gradient(loss_kind, out, y, w, tape.output_layout())
    # stages before the first one with parameters need no gradient
    first = next((i for i, (kind, _, _) in enumerate(plan) if kind != "elementwise"), len(plan))
    for i in range(len(plan) - 1, first - 1, -1):
        kind, module, names = plan[i]
        if kind == "linear":
            torch.bmm(d.transpose(1, 2), tape.kept[i], out=grads[names[0]])
            if len(names) == 2:
                torch.sum(d, dim=1, out=grads[names[1]])
            if i > first:  # the input of the first parameter stage needs no gradient
                d = _times_weight(d, params[names[0]], tape.input_layout(i))
        elif kind in ("embedding", "pair_embedding"):
            g = grads[names[0]]
            r, vocab, dim = g.shape
            g.zero_()
            g.view(r * vocab, dim).index_add_(0, tape.kept[i].reshape(-1), d.reshape(-1, dim))
        else:
            d = ACTIVATION_KERNELS[type(module)].backward(module, d, tape.kept[i])
