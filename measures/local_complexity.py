"""Local complexity (Humayun, Balestriero & Baraniuk 2024, "Deep networks always grok and here is why").

The density of linear-region boundaries around the data, measured as the number of neurons
whose pre-activation changes sign within a small neighbourhood of each probe point:

- inputs h_i are the probe set in the model's continuous input space (the input of
  ``model.input_stage``, after the embeddings, as for ``linear-regions``);
- the neighbourhood of h_i is the cross-polytope with vertices h_i ± r·v_k, k = 1..P, where
  v_1..v_P are orthonormal directions drawn once per checkpoint from ``ctx.generator`` (QR of a
  Gaussian matrix; P = min(D, 16)) and shared by all points, as in the paper's code
  (AhmedImtiazPrio/grok-adversarial, ``get_ortho_hull_around_samples_w_orig``), plus h_i itself;
- the radius r = 0.05 × the median distance of the probe points from their mean, so the
  neighbourhood scales with the data (a fixed r would mean different things on ±1 bits and on
  embeddings);
- a neuron of a hidden layer (the output of a stage that an elementwise activation follows)
  *crosses* the neighbourhood when its pre-activation's sign is not the same at all 2P + 1 points;
- value = mean over probe points of the number of crossing neurons, summed over hidden layers.

For a neuron of the first hidden layer the pre-activation is affine in h, so its extremes over
the cross-polytope are at the vertices and the count is exact: the neuron's hyperplane meets
the neighbourhood if and only if it is counted. Deeper pre-activations are piecewise linear
in h, so the vertex test is a lower bound (a boundary can cross the interior and leave every
vertex on one side). Both are tested against brute force on 2-D ReLU nets.

direction = +1: Humayun et al. find that the local complexity around training points rises
during memorisation and falls during the late "region migration" that accompanies grokking,
so a lower local complexity is the generalising side.

Example::

    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU())
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.eye(2)); _ = net[0].bias.copy_(torch.tensor([0.0, -5.0]))
    >>> # around (0, 0) with radius 1: the line x = 0 crosses, the line y = 5 does not
    >>> crossing_neurons([net[0]], net, torch.zeros(1, 2), torch.eye(2), 1.0).tolist()
    [1]
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from complexity_bench.contracts.measure import Measure, MeasureContext, MeasureInfo, register_measure
from complexity_bench.contracts.models import ACTIVATIONS
from complexity_bench.measures.jacobian_alignment import continuous_inputs

__all__ = ["hull_points", "crossing_neurons", "pre_activation_layers", "orthonormal_directions", "local_complexity"]

MAX_DIRECTIONS = 16
RADIUS_FRACTION = 0.05  # of the median distance of the probe points from their mean
_ELEMENTWISE = tuple(ACTIVATIONS.values())


def orthonormal_directions(dim: int, count: int, generator: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    """``count`` orthonormal rows in R^dim (QR of a Gaussian drawn from ``generator``), on ``like``'s device."""
    g = torch.randn(dim, count, generator=generator, dtype=torch.float64, device=generator.device)
    q, _ = torch.linalg.qr(g)
    return q.T.to(device=like.device, dtype=like.dtype)


def hull_points(h: torch.Tensor, directions: torch.Tensor, radius: float) -> torch.Tensor:
    """(N, 2P + 1, D): h_i + r v_k, h_i − r v_k for every direction, then h_i."""
    step = radius * directions[None, :, :]
    return torch.cat([h[:, None, :] + step, h[:, None, :] - step, h[:, None, :]], dim=1)


def pre_activation_layers(f: nn.Sequential) -> list[nn.Module]:
    """The stages of ``f`` whose output an elementwise activation stage takes next."""
    stages = list(f)
    return [s for s, nxt in zip(stages, stages[1:]) if isinstance(nxt, _ELEMENTWISE) and not isinstance(s, _ELEMENTWISE)]


def crossing_neurons(layers: list[nn.Module], f: nn.Module, h: torch.Tensor, directions: torch.Tensor,
                     radius: float) -> torch.Tensor:
    """Per point, the number of neurons (over ``layers``, modules inside ``f``) whose pre-activation sign
    is not constant over the point's 2P + 1 hull points."""
    points = hull_points(h, directions, radius)
    n, m, d = points.shape
    outputs: list[torch.Tensor] = []
    hooks = [layer.register_forward_hook(lambda mod, inp, out: outputs.append(out)) for layer in layers]
    try:
        with torch.no_grad():
            f(points.reshape(n * m, d))
    finally:
        for hook in hooks:
            hook.remove()
    count = torch.zeros(n, dtype=torch.long, device=h.device)
    for z in outputs:
        signs = (z.reshape(n, m, -1) > 0)
        count += (signs != signs[:, :1]).any(dim=1).sum(dim=1)
    return count


def local_complexity(model: nn.Module, ctx: MeasureContext) -> float:
    """The measure's value (module docstring)."""
    f, h = continuous_inputs(model, ctx)
    if not torch.isfinite(h).all():
        raise ValueError("probe inputs are non-finite")
    layers = pre_activation_layers(f)
    if not layers:
        raise ValueError("no stage followed by an elementwise activation: no neurons to count")
    spread = float((h - h.mean(dim=0)).norm(dim=1).median())
    if spread == 0:
        raise ValueError("every probe point is the same: no scale for the neighbourhood")
    directions = orthonormal_directions(h.shape[1], min(h.shape[1], MAX_DIRECTIONS), ctx.generator, h)
    return float(crossing_neurons(layers, f, h, directions, RADIUS_FRACTION * spread).double().mean())


@register_measure
class LocalComplexity(Measure):
    """Local complexity; not applicable to a model with no hidden layer an elementwise activation
    follows (the transformer: its attention and MLP blocks are not separate activation stages)."""

    info = MeasureInfo(
        name="local-complexity", version="1", direction=+1,
        direction_source="Humayun, Balestriero & Baraniuk 2024: local complexity around the training data rises "
                         "during memorisation and falls as the network groks (region migration)",
        needs=frozenset({"weights", "data"}), cost="cheap", stochastic=True,
        reference="Humayun, Balestriero & Baraniuk 2024, Deep networks always grok and here is why (arXiv 2402.15555)",
        description="mean over probe points of the number of hidden neurons whose pre-activation sign changes over "
                    "the cross-polytope h ± r v_k (16 random orthonormal directions, r = 0.05 × median spread of the "
                    "probe set), inputs after embeddings",
    )

    def applicable(self, task: Any, model: nn.Module | None = None) -> bool:
        if model is None:
            return True
        start = getattr(model, "input_stage", None)
        if start is None or not hasattr(model, "tail"):
            return True  # compute() says why
        return bool(pre_activation_layers(model.tail(start)))

    def compute(self, model: nn.Module, ctx: MeasureContext) -> float:
        return local_complexity(model, ctx)
