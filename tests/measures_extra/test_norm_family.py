"""Spectral / path norms against hand computation and explicit path enumeration."""

import itertools
import math

import pytest
import torch
from torch import nn

from complexity_bench.measures.norm_family import (
    chain_layers, log_spectral_product, path_norm, spectral_dist_init, spectral_norm, weight_matrices,
)
from complexity_bench.contracts.models import PairEmbedding, StagedModel


def _enumerate_paths_mlp(layers):
    """Σ over every input->output path (and every bias->output path) of Π w², by explicit loops."""
    total = 0.0
    widths = [layers[0][0].shape[1]] + [w.shape[0] for w, _ in layers]
    # a path starts at layer s (s = 0: an input unit; s >= 1: the bias of layer s) and runs to the output
    for start in range(len(layers) + 1):
        if start == 0:
            starts = [(u, 1.0) for u in range(widths[0])]
        else:
            w, b = layers[start - 1]
            if b is None:
                continue
            starts = [(u, float(b[u]) ** 2) for u in range(widths[start])]
        for u0, weight0 in starts:
            for units in itertools.product(*[range(n) for n in widths[start + 1:]]):
                prod, prev = weight0, u0
                for layer, u in zip(layers[start:], units):
                    prod *= float(layer[0][u, prev]) ** 2
                    prev = u
                total += prod
    return total


def test_path_norm_matches_enumeration_on_2_3_2_net():
    g = torch.Generator().manual_seed(0)
    layers = [(torch.randn(3, 2, generator=g), torch.randn(3, generator=g)),
              (torch.randn(2, 3, generator=g), torch.randn(2, generator=g))]
    assert path_norm(layers) == pytest.approx(math.sqrt(_enumerate_paths_mlp(layers)), rel=1e-12)


def test_path_norm_matches_enumeration_on_deeper_net_with_missing_bias():
    g = torch.Generator().manual_seed(1)
    layers = [(torch.randn(3, 2, generator=g), torch.randn(3, generator=g)),
              (torch.randn(4, 3, generator=g), None),
              (torch.randn(2, 4, generator=g), torch.randn(2, generator=g))]
    assert path_norm(layers) == pytest.approx(math.sqrt(_enumerate_paths_mlp(layers)), rel=1e-12)


def test_path_norm_by_hand():
    # 1 input, 1 hidden (bias 2), 1 output (bias 3): paths 1·(w1 w2)², b1² w2², b2²
    layers = [(torch.tensor([[0.5]]), torch.tensor([2.0])), (torch.tensor([[4.0]]), torch.tensor([3.0]))]
    assert path_norm(layers) == pytest.approx(math.sqrt(0.5**2 * 4**2 + 2**2 * 4**2 + 3**2))


def test_embedding_model_path_norm_matches_enumeration_over_one_hot_units():
    torch.manual_seed(0)
    vocab, dim, hidden, out = 5, 3, 4, 2
    model = StagedModel([PairEmbedding(vocab, dim), nn.Linear(2 * dim, hidden), nn.ReLU(), nn.Linear(hidden, out)],
                        input_stage=1)
    E = model.stages[0].embedding.weight.detach().double()
    W1, b1 = model.stages[1].weight.detach().double(), model.stages[1].bias.detach().double()
    W2, b2 = model.stages[3].weight.detach().double(), model.stages[3].bias.detach().double()
    total = 0.0
    for slot, tok, j, h, o in itertools.product(range(2), range(vocab), range(dim), range(hidden), range(out)):
        total += float(E[tok, j] * W1[h, slot * dim + j] * W2[o, h]) ** 2
    for h, o in itertools.product(range(hidden), range(out)):
        total += float(b1[h] * W2[o, h]) ** 2
    total += float(b2.square().sum())
    assert path_norm(chain_layers(model)) == pytest.approx(math.sqrt(total), rel=1e-10)


def test_embedding_spectral_norm_is_that_of_its_one_hot_linear_map():
    E = torch.randn(7, 3, generator=torch.Generator().manual_seed(2))
    assert spectral_norm(torch.block_diag(E.T, E.T)) == pytest.approx(spectral_norm(E), rel=1e-12)


def _relu_net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 2))


def test_rebalancing_across_relu_leaves_function_path_norm_and_spectral_product_unchanged():
    net = _relu_net()
    x = torch.randn(10, 3)
    before = net(x)
    pn, sp = path_norm(chain_layers(net)), log_spectral_product(list(weight_matrices(net).values()))
    with torch.no_grad():
        net[0].weight.mul_(3.0), net[0].bias.mul_(3.0), net[2].weight.div_(3.0)
    assert torch.allclose(net(x), before, atol=1e-5)
    assert path_norm(chain_layers(net)) == pytest.approx(pn, rel=1e-6)
    assert log_spectral_product(list(weight_matrices(net).values())) == pytest.approx(sp, abs=1e-6)


def test_spectral_product_analytic():
    Q, _ = torch.linalg.qr(torch.randn(4, 4, generator=torch.Generator().manual_seed(3)))
    mats = [torch.diag(torch.tensor([3.0, -5.0, 1.0])), 2.0 * Q, torch.ones(2, 3)]  # norms 5, 2, sqrt(6)
    assert log_spectral_product(mats) == pytest.approx(math.log(5 * 2 * math.sqrt(6)), rel=1e-7)
    assert log_spectral_product([torch.zeros(2, 2)]) == -math.inf


def test_spectral_dist_init_rank_one_change():
    net = _relu_net()
    init = {k: v.clone() for k, v in net.state_dict().items()}
    assert spectral_dist_init(weight_matrices(net), init) == 0.0
    u, v = torch.tensor([1.0, 2.0, 0.0, 2.0]), torch.tensor([3.0, 0.0, 4.0, 0.0, 0.0])
    with torch.no_grad():
        net[2].weight.add_(0.1 * torch.outer(u, v))  # spectral norm 0.1 * |u| |v| = 0.1 * 3 * 5
    assert spectral_dist_init(weight_matrices(net), init) == pytest.approx(1.5**2, rel=1e-6)


def test_unsupported_stage_raises():
    with pytest.raises(ValueError, match="unsupported stage"):
        chain_layers(nn.Sequential(nn.Linear(2, 2), nn.LayerNorm(2), nn.Linear(2, 1)))
