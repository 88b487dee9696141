"""Empirical neural tangent kernel on the probe set: distance from the initial kernel, and label alignment.

For the probe inputs x_1..x_N, outputs f(θ, x) ∈ R^C and every parameter θ, the (trace) empirical NTK is

    K(θ)_ij = Σ_c ⟨∂f_c(θ, x_i)/∂θ, ∂f_c(θ, x_j)/∂θ⟩      (N×N, summed over the C outputs)

computed one output at a time: for each c, the N×#θ matrix A_c of per-sample gradients
∂f_c(x_i)/∂θ (``torch.func.grad`` vmapped over samples, on detached parameters through
``functional_call``, float32) and K += A_c A_cᵀ in float64. Sub-measures:

- ``kernel-distance`` = ‖K(θ_t) − K(θ_0)‖_F / ‖K(θ_0)‖_F with θ_0 the run's initial weights
  (``ctx.init_state``): 0 in the lazy (kernel) regime, growing as features are learned. Kumar
  et al. 2023 describe grokking as the transition from lazy to rich training, so a larger
  distance is the generalising side: direction −1.
- ``label-alignment`` = ⟨K, YYᵀ⟩_F / (‖K‖_F ‖YYᵀ‖_F) (Cristianini et al. 2001's kernel–target
  alignment, uncentred) with Y the probe labels: one-hot rows for class indices, the target
  vectors for real-valued targets (±1 for sparse parity). A kernel aligned with the labels is
  the feature learning that the rich regime brings: direction −1 (the measure's sub-measures
  share one direction).

Summing over outputs (the trace NTK, not the NC×NC kernel) keeps K at N×N; for one output it is
the full eNTK. One output at a time holds N×#θ gradients (10 MB for the paper net), never the
N×C×#θ Jacobian (330 MB), and computes each sample's gradient once per output.
A zero initial kernel (all-zero init) or kernel raises ``ValueError``.

Example::

    >>> import torch
    >>> lin = torch.nn.Linear(2, 1, bias=False)                       # f = w·x: ∂f/∂w = x, K = X Xᵀ
    >>> x = torch.tensor([[1.0, 0.0], [1.0, 2.0]])
    >>> empirical_ntk(lin, dict(lin.named_parameters()), x).tolist()
    [[1.0, 1.0], [1.0, 5.0]]
"""

from __future__ import annotations

from typing import Mapping

import torch
from torch import nn
from torch.func import functional_call, grad, vmap

from complexity_bench.contracts.measure import MeasureContext, measure

__all__ = ["output_gradients", "empirical_ntk", "kernel_distance", "label_alignment", "label_matrix"]

def output_gradients(model: nn.Module, params: Mapping[str, torch.Tensor], x: torch.Tensor, c: int) -> torch.Tensor:
    """(N, #θ): ∂f_c(x_i)/∂θ for every sample (parameters flattened in ``params`` order), by ``torch.func``."""
    detached = {k: v.detach() for k, v in params.items()}

    def single(p: dict[str, torch.Tensor], xi: torch.Tensor) -> torch.Tensor:
        return functional_call(model, p, (xi.unsqueeze(0),)).reshape(-1)[c]

    g = vmap(grad(single), in_dims=(None, 0))(detached, x)
    return torch.cat([g[k].reshape(len(x), -1) for k in detached], dim=1)


def empirical_ntk(model: nn.Module, params: Mapping[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """K (N×N, float64), the output-summed empirical NTK of ``model`` at ``params`` on ``x`` (module docstring)."""
    with torch.no_grad():
        n_out = functional_call(model, {k: v.detach() for k, v in params.items()}, (x[:1],)).numel()
    kernel = torch.zeros(len(x), len(x), dtype=torch.float64, device=x.device)
    for c in range(n_out):
        a = output_gradients(model, params, x, c).double()
        kernel += a @ a.T
    if not torch.isfinite(kernel).all():
        raise ValueError("empirical NTK is non-finite")
    return kernel


def kernel_distance(k_t: torch.Tensor, k_0: torch.Tensor) -> float:
    """‖K_t − K_0‖_F / ‖K_0‖_F."""
    norm0 = torch.linalg.matrix_norm(k_0)
    if norm0 == 0:
        raise ValueError("the initial NTK is zero: relative kernel distance undefined")
    return float(torch.linalg.matrix_norm(k_t - k_0) / norm0)


def label_matrix(y: torch.Tensor, n_outputs: int) -> torch.Tensor:
    """Y (N×d, float64): one-hot rows for integer class labels, the targets themselves for real ones."""
    if y.is_floating_point():
        return y.detach().double().reshape(len(y), -1)
    return torch.nn.functional.one_hot(y.long(), max(n_outputs, int(y.max()) + 1)).double()


def label_alignment(kernel: torch.Tensor, y: torch.Tensor) -> float:
    """⟨K, YYᵀ⟩_F / (‖K‖_F ‖YYᵀ‖_F) for the N×d label matrix Y."""
    target = y @ y.T
    denom = torch.linalg.matrix_norm(kernel) * torch.linalg.matrix_norm(target)
    if denom == 0:
        raise ValueError("zero kernel or zero labels: alignment undefined")
    return float((kernel * target).sum() / denom)


def _initial_params(model: nn.Module, init_state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    names = [k for k, _ in model.named_parameters()]
    missing = [k for k in names if k not in init_state]
    if missing:
        raise ValueError(f"initial weights lack {missing[:3]}: kernel distance needs the run's init_state")
    return {k: init_state[k].to(p.device) for k, p in model.named_parameters()}


@measure(
    name="ntk",
    version="1",
    direction=-1,
    direction_source="Kumar, Bordelon, Gershman & Pehlevan 2023: grokking is the transition from lazy (kernel) to "
                     "rich (feature-learning) dynamics; a kernel that moved from init and aligned with the labels is "
                     "the rich, generalising side",
    needs=("weights", "data", "gradients"),
    cost="expensive",
    reference="Kumar, Bordelon, Gershman & Pehlevan 2023, Grokking as the transition from lazy to rich training "
              "dynamics (arXiv 2310.06110); Cristianini, Shawe-Taylor, Elisseeff & Kandola 2001 (kernel-target "
              "alignment)",
    description="empirical NTK of the probe set (summed over outputs, all parameters; torch.func per-sample "
                "gradients vmapped, one output at a time): "
                "kernel-distance ||K_t−K_0||_F/||K_0||_F from the initial weights' kernel, and label-alignment "
                "<K,YYᵀ>/(||K|| ||YYᵀ||) with the probe labels",
)
def ntk_measure(model: nn.Module, ctx: MeasureContext) -> dict[str, float]:
    x = ctx.probe_x
    current = dict(model.named_parameters())
    k_t = empirical_ntk(model, current, x)
    k_0 = empirical_ntk(model, _initial_params(model, ctx.init_state), x)
    with torch.no_grad():
        n_out = model(x[:1]).shape[-1]
    return {"kernel-distance": kernel_distance(k_t, k_0),
            "label-alignment": label_alignment(k_t, label_matrix(ctx.probe_y, n_out))}
