"""Output margins, circuit efficiency and the spectrally-normalised margin against brute force and closed forms."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from complexity_bench.contracts.measure import get_measure
from complexity_bench.contracts.task import get_task
from complexity_bench.measures.margin_family import output_margins


def _brute_margins(logits, y):
    """Correct logit minus the largest other, one sample at a time in Python floats."""
    out = []
    for row, c in zip(logits.tolist(), y.tolist()):
        out.append(row[c] - max(v for j, v in enumerate(row) if j != c))
    return np.array(out)


def test_cross_entropy_margins_match_a_per_sample_loop():
    g = torch.Generator().manual_seed(0)
    logits, y = torch.randn(50, 7, generator=g), torch.randint(0, 7, (50,), generator=g)
    np.testing.assert_allclose(output_margins(logits, y, "cross_entropy").numpy(), _brute_margins(logits, y), atol=1e-6)


def test_margins_are_positive_exactly_on_correct_samples():
    g = torch.Generator().manual_seed(1)
    logits, y = torch.randn(200, 5, generator=g), torch.randint(0, 5, (200,), generator=g)
    m = output_margins(logits, y, "cross_entropy")
    assert torch.equal(m > 0, logits.argmax(1) == y)


def _linear(weight, bias=None):
    lin = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    with torch.no_grad():
        lin.weight.copy_(weight)
        if bias is not None:
            lin.bias.copy_(bias)
    return nn.Sequential(lin)


def test_output_margin_is_the_tenth_percentile(make_context):
    g = torch.Generator().manual_seed(2)
    w = torch.randn(4, 3, generator=g)
    x, y = torch.randn(37, 3, generator=g), torch.randint(0, 4, (37,), generator=g)
    model = _linear(w)
    expected = np.percentile(_brute_margins(x @ w.T, y), 10)  # numpy's default: linear interpolation
    assert get_measure("output-margin").compute(model, make_context("modadd-mlp", x, y)) == pytest.approx(expected, abs=1e-5)


def test_circuit_efficiency_is_mean_margin_over_parameter_norm(make_context):
    g = torch.Generator().manual_seed(3)
    w, b = torch.randn(4, 3, generator=g), torch.randn(4, generator=g)
    x, y = torch.randn(20, 3, generator=g), torch.randint(0, 4, (20,), generator=g)
    model = _linear(w, b)
    norm = math.sqrt(float((w ** 2).sum() + (b ** 2).sum()))
    expected = _brute_margins(x @ w.T + b, y).mean() / norm
    value = get_measure("circuit-efficiency").compute(model, make_context("modadd-mlp", x, y))
    assert value == pytest.approx(expected, rel=1e-5)


def test_circuit_efficiency_scales_with_a_homogeneous_net(make_context):
    """A bias-free two-layer ReLU net is 2-homogeneous: θ -> cθ multiplies margins by c² and ‖θ‖ by c."""
    torch.manual_seed(4)
    net = nn.Sequential(nn.Linear(3, 8, bias=False), nn.ReLU(), nn.Linear(8, 5, bias=False))
    x, y = torch.randn(30, 3), torch.randint(0, 5, (30,))
    ctx = make_context("modadd-mlp", x, y)
    before = get_measure("circuit-efficiency").compute(net, ctx)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(3.0)
    assert get_measure("circuit-efficiency").compute(net, ctx) == pytest.approx(3.0 * before, rel=1e-5)


def test_hinge_margin_is_label_times_output(make_context):
    w = torch.tensor([[2.0, -1.0]])
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, 2.0]])
    y = torch.tensor([1.0, -1.0, -1.0, 1.0])
    margins = np.array([2.0, 1.0, -1.0, -1.0])  # y · (2 x0 − x1)
    value = get_measure("output-margin").compute(_linear(w), make_context("sparse-parity", x, y))
    assert value == pytest.approx(np.percentile(margins, 10))


def test_spectral_margin_divides_by_the_product_of_largest_singular_values(make_context):
    torch.manual_seed(5)
    net = nn.Sequential(nn.Linear(3, 6), nn.ReLU(), nn.Linear(6, 4))
    x, y = torch.randn(25, 3), torch.randint(0, 4, (25,))
    with torch.no_grad():
        logits = net(x)
    gamma = np.percentile(_brute_margins(logits, y), 10)
    spec = np.prod([np.linalg.svd(m.weight.detach().double().numpy(), compute_uv=False)[0] for m in (net[0], net[2])])
    value = get_measure("spectral-margin").compute(net, make_context("modadd-mlp", x, y))
    assert value == pytest.approx(gamma / spec, rel=1e-5)


@pytest.mark.parametrize("name", ["circuit-efficiency", "output-margin", "spectral-margin"])
def test_applies_to_margin_losses_only(name):
    m = get_measure(name)
    assert m.applicable(get_task("modadd-mlp")) and m.applicable(get_task("sparse-parity"))
    assert not m.applicable(get_task("teacher-student"))  # regression: no margin


def test_non_finite_outputs_raise():
    with pytest.raises(ValueError, match="non-finite"):
        output_margins(torch.tensor([[math.nan, 1.0]]), torch.tensor([0]), "cross_entropy")
