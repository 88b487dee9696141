"""Jacobian alignment and centroid alignment of the input Jacobians (Walker, Humayun, Balestriero & Baraniuk 2025, GrokAlign).

Inputs are the probe set in the model's continuous input space, h_i (the input of
``model.input_stage``: after the embeddings, as for ``linear-regions``), and f the rest of the
net, R^D -> R^C. With J_i = ∂f(h_i)/∂h (C×D) for every probe point:

- ``pc1``: stack the N·C rows of all J_i (one input gradient per sample and output) into an
  (N·C)×D matrix, centre its columns (subtract the mean row) and take the share of variance of
  its first principal component, s_1² / Σ_k s_k² (s its singular values). 1 when every row is
  a multiple of one direction around the mean, ~1/min(N·C, D) when they are spread evenly.
- ``centroid-alignment``: the centroid of sample i is c_i = ∂(Σ_c f_c(h_i))/∂h = Σ_c (J_i)_c
  (the sum of J_i's rows); the value is the mean over the probe set of cos(c_i, h_i) =
  ⟨c_i, h_i⟩ / (‖c_i‖ ‖h_i‖) (0 where either is zero).

This is the definition of the paper's code (``PC1`` and ``Centroids.alignments`` in
mitchell-solomon/grokalign, utils.py), computed here with ``torch.func`` (jacrev vmapped over
samples) in float64 SVDs. direction = −1 for both: GrokAlign reports the Jacobians aligning
(and centroids aligning with the inputs) as the network groks, so a larger value is the
generalising side.

A constant Jacobian matrix (every row the same after centring: zero) raises ``ValueError``.

Example::

    >>> import torch
    >>> rows = torch.tensor([[[1.0, 2.0], [-1.0, -2.0]]])    # one sample, two opposite gradients
    >>> first_component_share(rows)
    1.0
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import jacrev, vmap

from complexity_bench.contracts.measure import MeasureContext, measure

__all__ = ["input_jacobians", "first_component_share", "centroid_alignment", "continuous_inputs"]


def input_jacobians(f: nn.Module, h: torch.Tensor) -> torch.Tensor:
    """(N, C, D): ∂f(h_i)/∂h for each row h_i of ``h`` (N×D); ``f`` maps (B, D) to (B, C)."""
    def single(x: torch.Tensor) -> torch.Tensor:
        return f(x.unsqueeze(0)).reshape(-1)

    return vmap(jacrev(single))(h.detach())


def first_component_share(jac: torch.Tensor) -> float:
    """s_1² / Σ s² of the column-centred (N·C)×D matrix of all Jacobian rows."""
    rows = jac.detach().to(torch.float64).reshape(-1, jac.shape[-1])
    if not torch.isfinite(rows).all():
        raise ValueError("input Jacobians are non-finite")
    s2 = torch.linalg.svdvals(rows - rows.mean(dim=0, keepdim=True)).square()
    if s2.sum() == 0:
        raise ValueError("every input-gradient row is the same: principal components undefined")
    return float(s2[0] / s2.sum())


def centroid_alignment(jac: torch.Tensor, h: torch.Tensor) -> float:
    """Mean over samples of cos(Σ_c J_i[c], h_i) (0 where either vector is zero)."""
    c = jac.detach().to(torch.float64).sum(dim=1)
    x = h.detach().to(torch.float64).reshape(len(h), -1)
    norms = c.norm(dim=1) * x.norm(dim=1)
    cos = torch.where(norms > 0, (c * x).sum(dim=1) / norms.clamp_min(1e-300), torch.zeros_like(norms))
    return float(cos.mean())


def continuous_inputs(model: nn.Module, ctx: MeasureContext) -> tuple[nn.Module, torch.Tensor]:
    """(f, h): the net from ``model.input_stage`` on, and the probe set's inputs to it."""
    start = getattr(model, "input_stage", None)
    if start is None or not hasattr(model, "tail"):
        raise ValueError("input Jacobians need a StagedModel (its input_stage marks the continuous input space)")
    h = ctx.probe_x if start == 0 else ctx.activations(model)[start - 1]
    if not h.is_floating_point():
        raise ValueError("the input of model.input_stage is not a real vector")
    return model.tail(start), h.flatten(1)


@measure(
    name="jacobian-alignment",
    version="1",
    direction=-1,
    direction_source="Walker, Humayun, Balestriero & Baraniuk 2025 (GrokAlign): input Jacobians align, and their "
                     "centroids align with the inputs, as the network groks",
    needs=("weights", "data", "gradients"),
    cost="cheap",
    reference="Walker, Humayun, Balestriero & Baraniuk 2025, GrokAlign: Geometric Characterisation and "
              "Acceleration of Grokking (code: mitchell-solomon/grokalign, utils.py)",
    description="pc1: explained-variance share of the first principal component of the probe set's input-gradient "
                "rows (N·C × D, centred); centroid-alignment: mean cos(Σ_c ∂f_c/∂h, h); inputs after embeddings",
)
def jacobian_alignment(model: nn.Module, ctx: MeasureContext) -> dict[str, float]:
    f, h = continuous_inputs(model, ctx)
    jac = input_jacobians(f, h)
    return {"pc1": first_component_share(jac), "centroid-alignment": centroid_alignment(jac, h)}
