"""Softmax collapse on logits constructed to collapse (or not), against the float32 rounding boundary."""

import math

import pytest
import torch
import torch.nn.functional as F

from complexity_bench.contracts.measure import get_measure
from complexity_bench.measures.softmax_collapse import collapse_fraction, collapse_mask
from complexity_bench.testing import toy_context


def test_two_class_boundary_is_24_ln2_in_float32():
    edge = 24 * math.log(2)  # 1 + e^-g rounds to 1 in float32 iff e^-g <= 2^-24
    margins = torch.tensor([edge - 0.05, edge + 0.05, 10.0, 30.0])
    z = torch.stack([margins, torch.zeros(4)], 1)
    assert collapse_mask(z, torch.zeros(4, dtype=torch.long)).tolist() == [False, True, False, True]
    # float64 needs a margin beyond 53·ln2 ≈ 36.7: none of these collapse there
    assert not collapse_mask(z.double(), torch.zeros(4, dtype=torch.long)).any()
    z64 = torch.tensor([[36.0, 0.0], [37.5, 0.0]], dtype=torch.float64)
    assert collapse_mask(z64, torch.zeros(2, dtype=torch.long)).tolist() == [False, True]


def test_only_collapse_onto_the_correct_class_counts():
    z = torch.tensor([[40.0, 0.0, 0.0], [0.0, 40.0, 0.0], [0.0, 0.0, 1.0], [5.0, 5.0, -50.0]])
    y = torch.tensor([0, 0, 2, 0])
    # sample 1 collapses onto the wrong class; sample 3 is a tie (softmax 1/2)
    assert collapse_mask(z, y).tolist() == [True, False, False, False]
    assert collapse_fraction(z, y) == 0.25


def test_matches_softmax_and_zero_gradient_brute_force():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 31, (500,), generator=g)
    z = torch.randn(500, 31, generator=g) * 3
    z[torch.arange(500), y] += torch.linspace(0, 40, 500)  # margins sweep across the collapse point
    z.requires_grad_(True)
    F.cross_entropy(z, y, reduction="sum").backward()
    zero_grad = z.grad[torch.arange(500), y] == 0
    mask = collapse_mask(z.detach(), y)
    assert torch.equal(mask, torch.softmax(z.detach(), -1)[torch.arange(500), y] == 1.0)
    assert torch.equal(mask, zero_grad)
    assert 0 < int(mask.sum()) < 500


def test_measure_on_a_scaled_model_collapses_everything_it_fits():
    model, ctx = toy_context()
    m = get_measure("softmax-collapse")
    base = m.compute(model, ctx)
    with torch.no_grad():
        logits = model(ctx.x_train)
    fitted = (logits.argmax(-1) == ctx.y_train).double().mean().item()
    assert 0.0 <= base <= fitted
    # multiplying the last layer by a large factor multiplies every margin: each correctly
    # classified sample with a unique max collapses, the rest cannot
    with torch.no_grad():
        last = model.stages[-1]
        saved = (last.weight.clone(), last.bias.clone())
        last.weight.mul_(1e4), last.bias.mul_(1e4)
        value = m.compute(model, ctx)
        last.weight.copy_(saved[0]), last.bias.copy_(saved[1])
    assert value == pytest.approx(fitted)
