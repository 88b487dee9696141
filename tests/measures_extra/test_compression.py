"""Compression complexity: quantiser, coder and width search against brute force and analytic properties."""

import pytest
import torch
from torch import nn

from complexity_bench.measures.compression import (
    code_length, coarsest_delta, compression_complexity, delta_grid, dequantise, encode_codes, model_compression,
    quantise,
)
from complexity_bench.contracts.task import get_task


def _deviation_loss(theta):
    """L(p) = mean (p - θ)²: L(0) = mean θ², quantisation error ~ Δ²/12."""
    return lambda p: float(((p["w"].double() - theta.double()) ** 2).mean())


def test_quantise_round_trip_and_signed_zero():
    w = torch.tensor([-0.04, 0.26, -0.74, 0.0, 1.0])
    codes = quantise({"w": w}, 0.5)
    assert codes["w"].tolist() == [0, 1, -1, 0, 2]
    back = dequantise(codes, 0.5)["w"]
    assert (back - w).abs().max() <= 0.25 and not torch.signbit(back[0])
    assert len(encode_codes({"a": torch.tensor([1, -127])})) == 2  # int8
    assert len(encode_codes({"a": torch.tensor([1, 128])})) == 4  # int16
    assert encode_codes({"a": torch.tensor([1, -2])}) == bytes([1, 254])


def test_all_zero_weights_compress_to_almost_nothing():
    net = nn.Linear(100, 100)
    nn.init.zeros_(net.weight), nn.init.zeros_(net.bias)
    x, y = torch.randn(20, 100), torch.randn(20, 100)
    out = model_compression(net, nn.functional.mse_loss, x, y)
    assert out["bytes"] < 50 < 10100  # 10,100 zero codes
    assert code_length({"w": torch.zeros(10_000, dtype=torch.long)}) < 50


def test_duplicated_weights_compress_better_than_random():
    g = torch.Generator().manual_seed(0)
    block = torch.randn(512, generator=g)
    tiled, random = block.repeat(16), torch.randn(512 * 16, generator=g)
    a = compression_complexity(_deviation_loss(tiled), {"w": tiled})
    b = compression_complexity(_deviation_loss(random), {"w": random})
    assert a["feasible"] == b["feasible"] == 1.0
    assert a["delta"] == pytest.approx(b["delta"], rel=0.5)  # same distribution: same grid width, give or take a step
    assert a["bytes"] < 0.3 * b["bytes"]


def test_search_matches_brute_force_first_feasible_width():
    for seed in range(5):
        theta = torch.randn(300, generator=torch.Generator().manual_seed(seed)) * (seed + 1)
        loss_of, eps = _deviation_loss(theta), 0.01 * float(theta.pow(2).mean())
        grid = delta_grid(float(theta.abs().max()))
        brute = next(d for d in grid if abs(loss_of(dequantise(quantise({"w": theta}, d), d)) - loss_of({"w": theta})) <= eps)
        assert coarsest_delta(loss_of, {"w": theta}, eps, grid, stride=1)[0] == brute
        assert coarsest_delta(loss_of, {"w": theta}, eps, grid)[0] == brute


def test_exhaustive_scan_on_a_non_monotone_loss():
    # one weight θ = 1: the quantised value Δ·round(1/Δ) wanders as Δ shrinks
    theta = {"w": torch.tensor([1.0])}
    loss_of = _deviation_loss(theta["w"])
    grid = delta_grid(1.0)
    losses = [loss_of(dequantise(quantise(theta, d), d)) for d in grid]
    first = next(i for i, v in enumerate(losses) if v <= 0.01)
    assert coarsest_delta(loss_of, theta, 0.01, grid, stride=1)[0] == grid[first]
    delta, loss, ok = coarsest_delta(loss_of, theta, 0.01, grid)
    assert ok and loss <= 0.01 and delta <= grid[first]


def test_larger_tolerance_never_gives_a_finer_width():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 32), nn.Tanh(), nn.Linear(32, 3))
    x = torch.randn(64, 6)
    y = net(x).detach() + 0.1 * torch.randn(64, 3)
    deltas = [model_compression(net, nn.functional.mse_loss, x, y, eps_frac=e)["delta"] for e in (0.001, 0.01, 0.1, 1.0)]
    assert deltas == sorted(deltas)
    assert model_compression(net, nn.functional.mse_loss, x, y, eps_frac=10.0)["bytes"] < 50


def test_initial_paper_model_is_near_the_trivial_predictor_and_compresses_to_nothing():
    t = get_task("modadd-mlp")
    p = t.resolve({})
    d = t.make_data(p, 0)
    model = t.make_model(p, 0)
    out = model_compression(model, t.loss, d.x_train, d.y_train)
    with torch.no_grad():
        gap = abs(float(t.loss(model(d.x_train), d.y_train)) - float(torch.log(torch.tensor(31.0))))
    assert gap < out["eps"]  # the zero net (uniform logits, loss log 31) is within tolerance...
    assert out["delta"] == delta_grid(float(max(q.abs().max() for q in model.parameters())))[0]  # ...so all codes 0
    assert out["bytes"] < 50
