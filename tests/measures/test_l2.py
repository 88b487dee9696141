"""L2 norm and distance from init against a direct sum."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from complexity_bench.errors import UserError
from complexity_bench.measures.l2 import distance_from_init, parameter_norm
from complexity_bench.contracts.models import PairEmbedding, StagedModel


def model(seed=0):
    torch.manual_seed(seed)
    return StagedModel([PairEmbedding(5, 3), nn.Linear(6, 4), nn.SiLU(), nn.Linear(4, 5, bias=False)], input_stage=1)


def direct_sum(values):
    return math.sqrt(sum(v * v for v in values))


def test_parameter_norm_is_direct_sum_including_embeddings():
    m = model()
    flat = [float(v) for p in m.parameters() for v in p.detach().flatten()]
    assert len(flat) == 5 * 3 + 6 * 4 + 4 + 4 * 5
    assert parameter_norm(m) == pytest.approx(direct_sum(flat), rel=1e-12)


def test_distance_from_init():
    m = model()
    init = {k: v.clone() for k, v in m.state_dict().items()}
    assert distance_from_init(m, init) == 0.0
    with torch.no_grad():
        m.stages[1].weight[0, 0] += 3.0
        m.stages[0].embedding.weight[2, 1] -= 4.0
    assert distance_from_init(m, init) == pytest.approx(5.0, rel=1e-6)  # float32 (w + 3) - w rounds
    other = model(seed=1)
    diffs = [float(a) - float(b) for (k, p) in m.named_parameters() for a, b in zip(p.detach().flatten(), other.state_dict()[k].flatten())]
    assert distance_from_init(m, other.state_dict()) == pytest.approx(direct_sum(diffs), rel=1e-12)


def test_float64_accumulation_of_large_float32_weights():
    lin = nn.Linear(1000, 1000, bias=False)
    with torch.no_grad():
        lin.weight.fill_(1e3)
    assert parameter_norm(lin) == pytest.approx(1e3 * 1000, rel=1e-12)


def test_nan_and_mismatched_init():
    m = model()
    init = {k: v.clone() for k, v in m.state_dict().items()}
    with pytest.raises(UserError, match="no parameter"):
        distance_from_init(m, {k: v for k, v in init.items() if "embedding" not in k})
    with pytest.raises(UserError, match="shape"):
        distance_from_init(m, {**init, "stages.1.bias": torch.zeros(3)})
    with torch.no_grad():
        m.stages[1].bias[0] = float("nan")
    with pytest.raises(ValueError, match="stages.1.bias"):
        parameter_norm(m)


@pytest.mark.parametrize("name", ["l2", "l2-dist-init"])
def test_plugins(name):
    from complexity_bench.contracts.measure import MEASURES
    from complexity_bench.testing import toy_context

    m, ctx = toy_context()
    value = MEASURES.get(name).compute(m, ctx)
    expected = parameter_norm(m) if name == "l2" else distance_from_init(m, ctx.init_state)
    assert value == expected and value > 0
