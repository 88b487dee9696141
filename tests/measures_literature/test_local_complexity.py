"""Local complexity against brute force on 2-D ReLU nets: dense grids over each neighbourhood."""

import numpy as np
import pytest
import torch
from torch import nn

from complexity_bench.contracts.measure import get_measure
from complexity_bench.measures.local_complexity import crossing_neurons, hull_points, pre_activation_layers


def _diamond_grid(centre, directions, radius, n=161):
    """Points of the 2-D cross-polytope {centre + a v1 + b v2 : |a| + |b| <= r}, on an n×n grid."""
    a, b = np.meshgrid(np.linspace(-radius, radius, n), np.linspace(-radius, radius, n))
    keep = np.abs(a) + np.abs(b) <= radius + 1e-12
    coef = torch.from_numpy(np.stack([a[keep], b[keep]], 1)).float()
    return centre[None, :] + coef @ directions


def _net(seed, widths):
    torch.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _brute_force_crossings(net, layers, centre, directions, radius):
    """Per layer: neurons whose pre-activation takes both signs somewhere on a dense grid of the neighbourhood."""
    grid = _diamond_grid(centre, directions, radius)
    outs = []
    hooks = [m.register_forward_hook(lambda mod, i, o: outs.append(o)) for m in layers]
    with torch.no_grad():
        net(grid)
    for hk in hooks:
        hk.remove()
    return [int(((z > 0).any(0) & (z <= 0).any(0)).sum()) for z in outs]


def _frame(seed):
    q, _ = torch.linalg.qr(torch.randn(2, 2, generator=torch.Generator().manual_seed(seed)))
    return q.T


@pytest.mark.parametrize("seed", range(6))
def test_one_hidden_layer_count_is_exact(seed):
    """Pre-activations are affine in the input: a line meets the diamond iff its vertices disagree in sign."""
    net = _net(seed, [2, 30, 3])
    layers = pre_activation_layers(net)
    centres = torch.randn(5, 2, generator=torch.Generator().manual_seed(100 + seed))
    for c in centres:
        counted = int(crossing_neurons(layers, net, c[None, :], _frame(seed), 0.8))
        assert counted == sum(_brute_force_crossings(net, layers, c, _frame(seed), 0.8))


@pytest.mark.parametrize("seed", range(6))
def test_deep_net_count_is_a_lower_bound_tight_on_the_first_layer(seed):
    net = _net(seed, [2, 12, 12, 12, 2])
    layers = pre_activation_layers(net)
    assert len(layers) == 3
    for c in torch.randn(4, 2, generator=torch.Generator().manual_seed(200 + seed)):
        per_layer_brute = _brute_force_crossings(net, layers, c, _frame(seed), 0.6)
        first = int(crossing_neurons(layers[:1], net, c[None, :], _frame(seed), 0.6))
        total = int(crossing_neurons(layers, net, c[None, :], _frame(seed), 0.6))
        assert first == per_layer_brute[0]
        assert first <= total <= sum(per_layer_brute)


def test_parallel_boundaries_count_regions_minus_one():
    """Neurons x = t_j (parallel lines): inside the neighbourhood they cut it into (crossings + 1) regions,
    counted by brute force as the distinct activation patterns on the grid."""
    net = nn.Sequential(nn.Linear(2, 6), nn.ReLU())
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, 0.0]] * 6))
        net[0].bias.copy_(-torch.tensor([-2.0, -0.5, -0.1, 0.3, 0.7, 3.0]))
    centre, frame = torch.zeros(2), _frame(7)
    grid = _diamond_grid(centre, frame, 1.0)
    with torch.no_grad():
        patterns = {tuple(r) for r in (net[0](grid) > 0).int().tolist()}
    counted = int(crossing_neurons([net[0]], net, centre[None, :], frame, 1.0))
    assert counted == len(patterns) - 1 == 4  # the lines at 2.0 and -3.0 miss the unit diamond


def test_hull_points_are_the_cross_polytope_vertices_and_centre():
    h, v = torch.tensor([[1.0, 2.0]]), torch.eye(2)
    pts = hull_points(h, v, 0.5)[0].tolist()
    assert pts == [[1.5, 2.0], [1.0, 2.5], [0.5, 2.0], [1.0, 1.5], [1.0, 2.0]]


def test_plugin_on_the_toy_model_counts_hidden_layers_only(make_context):
    from complexity_bench.testing import toy_context

    model, ctx = toy_context()
    value = get_measure("local-complexity").compute(model, ctx.for_measure("local-complexity"))
    assert 0 <= value <= 16 + 16  # two hidden layers of 16 neurons (the logits are not counted)
