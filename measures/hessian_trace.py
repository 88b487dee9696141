"""Trace of the Hessian of the training loss, by Hutchinson's estimator.

    Tr(H) = E_v[vᵀ H v],   v with i.i.d. Rademacher (±1) entries,   H = ∇²_θ L_train(θ)

estimated by the mean of ``n_probes`` draws (Hutchinson 1989; the PyHessian recipe,
Yao et al. 2020). Each vᵀHv is one exact Hessian-vector product: forward-mode
differentiation of the reverse-mode gradient (``torch.func.jvp`` of ``torch.func.grad``),
vectorised over the probes with ``torch.func.vmap``. The loss is the task's mean
training loss (``ctx.task.loss``) on the full training set ``ctx.x_train, ctx.y_train``.
The parameters are detached copies fed to ``torch.func.functional_call``: the model's
weights, ``requires_grad`` flags and ``.grad`` fields are never touched.

The estimate is unbiased; its variance is 2 Σ_{i≠j} H_ij² / n_probes (zero when H is
diagonal, where a single probe is exact). Probes come from ``ctx.generator``, so the
value is reproducible for a (run, step) and the noise is the same draw pattern at every
checkpoint. direction = +1: sharper minima (larger trace) are the classic "less
generalising" side (Keskar et al. 2017), not reparametrisation invariant (Dinh et al.
2017).

Not applicable to a hinge loss on a piecewise-linear (ReLU) net (sparse parity): there
the loss is piecewise linear in the outputs and the outputs are piecewise linear in
each single parameter, so every diagonal entry of H, hence the trace, is exactly 0
almost everywhere, and a Hutchinson estimate would be pure off-diagonal noise.
For ReLU nets with cross-entropy or MSE the trace is the trace of the Gauss-Newton
part, Σ_n ∇f_nᵀ ∇²ℓ_n ∇f_n / N (tested).

Example::

    >>> import torch
    >>> x = torch.tensor([[1.0, 0.0], [0.0, 2.0]])      # L(w) = mean((x w)^2): H = 2/N xᵀx = diag(1, 4)
    >>> loss = lambda p: (x @ p["w"]).pow(2).mean()
    >>> hutchinson_trace(loss, {"w": torch.zeros(2)}, 1, torch.Generator().manual_seed(0))[0]
    5.0
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import torch
from torch import nn
from torch.func import functional_call, grad, jvp, vjp, vmap

from complexity_bench.contracts.measure import Measure, MeasureContext, MeasureInfo, register_measure

__all__ = ["rademacher_like", "hessian_vector_product", "hutchinson_trace", "model_hessian_trace", "HessianTrace"]

# 16 probes: ~0.1 s on the paper's model (docs/measures_extra.md has the timings and spread)
DEFAULT_PROBES = 16


def rademacher_like(params: Mapping[str, torch.Tensor], n: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """``n`` Rademacher probes for each tensor in ``params``: shape (n, *p.shape), entries ±1."""
    # drawn on the generator's device (the CPU for ctx.generator), then moved: the same probes on every device
    return {k: (torch.randint(0, 2, (n, *p.shape), generator=generator, device=generator.device) * 2 - 1)
            .to(device=p.device, dtype=p.dtype)
            for k, p in params.items()}


def hessian_vector_product(
    loss_fn: Callable[..., torch.Tensor], params: Mapping[str, torch.Tensor], *extra: torch.Tensor,
) -> Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]:
    """v -> H v, H = ∇²_params loss_fn(params, *extra), exact; works under ``vmap``.

    Forward-over-reverse (``jvp`` of ``grad``) where torch's forward-mode rules go
    through the loss; reverse-over-reverse (``vjp`` of ``grad``) where they do not:
    ``F.mse_loss`` against a target built or captured inside ``loss_fn`` (the digits
    task's one-hot targets) reaches its double backward with an immutable ZeroTensor
    tangent and raises (torch 2.13). Both are the exact product; forward-over-reverse
    is the faster one (docs/measures.md, "Hessian trace").

    ``loss_fn`` maps a dict of tensors (and the ``extra`` tensors, held constant) to a
    scalar and must be composable with ``torch.func`` (no in-place ops on its inputs,
    no ``.item()``).
    """
    params = {k: v.detach() for k, v in params.items()}
    # Constant float inputs (regression/hinge targets) travel as primals with a
    # materialised zero tangent: left out of jvp, F.mse_loss's double backward meets
    # the same immutable ZeroTensor.
    dual = [e for e in extra if e.is_floating_point()]
    fixed = [e for e in extra if not e.is_floating_point()]

    def loss_of(p: dict[str, torch.Tensor], *duals: torch.Tensor) -> torch.Tensor:
        it_d, it_f = iter(duals), iter(fixed)
        return loss_fn(p, *[next(it_d) if e.is_floating_point() else next(it_f) for e in extra])

    gradient = grad(loss_of)  # w.r.t. params only
    zeros = tuple(torch.zeros_like(e) for e in dual)

    def forward_over_reverse(v: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return jvp(gradient, (params, *dual), (v, *zeros))[1]

    def reverse_over_reverse(v: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return vjp(lambda p: gradient(p, *dual), params)[1](v)[0]

    forward_failed = False

    def hvp(v: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        nonlocal forward_failed
        if not forward_failed:
            try:
                return forward_over_reverse(v)
            except (RuntimeError, NotImplementedError):
                # a loss that forward mode cannot differentiate: a genuine error recurs (and is raised) below
                forward_failed = True
        return reverse_over_reverse(v)

    return hvp


def hutchinson_trace(
    loss_fn: Callable[..., torch.Tensor],
    params: Mapping[str, torch.Tensor],
    n_probes: int,
    generator: torch.Generator,
    *extra: torch.Tensor,
) -> tuple[float, float]:
    """(estimate, standard error) of Tr ∇²_params loss_fn(params, *extra) from ``n_probes`` Rademacher probes.

    ``loss_fn`` maps a dict of tensors (and the ``extra`` tensors, held constant) to a
    scalar and must be composable with ``torch.func`` (no in-place ops on its inputs,
    no ``.item()``).
    """
    params = {k: v.detach() for k, v in params.items()}
    probes = rademacher_like(params, n_probes, generator)
    hvp = hessian_vector_product(loss_fn, params, *extra)

    def quad_form(v: dict[str, torch.Tensor]) -> torch.Tensor:
        hv = hvp(v)
        return sum((v[k] * hv[k]).sum() for k in params)

    values = vmap(quad_form)(probes).double()
    stderr = float(values.std() / math.sqrt(n_probes)) if n_probes > 1 else math.nan
    return float(values.mean()), stderr


def model_hessian_trace(
    model: nn.Module, loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x: torch.Tensor, y: torch.Tensor, n_probes: int, generator: torch.Generator,
) -> tuple[float, float]:
    """Hutchinson (estimate, standard error) of Tr ∇²_θ loss(model(x), y) over all parameters."""
    params = dict(model.named_parameters())

    def loss_fn(p: dict[str, torch.Tensor], targets: torch.Tensor) -> torch.Tensor:
        return loss(functional_call(model, p, (x,)), targets)

    return hutchinson_trace(loss_fn, params, n_probes, generator, y)


@register_measure
class HessianTrace(Measure):
    info = MeasureInfo(
        name="hessian-trace", version="1", direction=+1, direction_source='Keskar et al. 2017; Jiang et al. 2020 (sharpness): sharper minima generalise worse', needs=frozenset({"weights", "data", "gradients"}),
        cost="moderate", stochastic=True, applies_to="any",
        reference="Hutchinson 1989; Yao et al. 2020, PyHessian (arXiv 1912.07145); Jiang et al. 2020 §sharpness",
        description=f"Hutchinson estimate ({DEFAULT_PROBES} Rademacher probes, exact HVPs) of the trace of the "
                    "Hessian of the full-batch training loss w.r.t. all parameters; not for hinge loss on ReLU nets "
                    "(trace identically 0)",
    )
    n_probes: int = DEFAULT_PROBES

    def applicable(self, task: Any, model: nn.Module | None = None) -> bool:
        # hinge loss on a piecewise-linear net: Tr H = 0 a.e. (see module docstring)
        if getattr(task, "loss_kind", None) == "hinge":
            pl = getattr(model, "piecewise_linear", None) if model is not None else None
            return not (pl if pl is not None else task.has_property("piecewise_linear"))
        return True

    def compute(self, model: nn.Module, ctx: MeasureContext) -> float:
        value, _ = model_hessian_trace(model, ctx.task.loss, ctx.x_train, ctx.y_train, self.n_probes, ctx.generator)
        return value
