"""Degenerate checkpoints: every measure either gives a defined value or raises ValueError with a reason
(the harness records a raise as a missing value with that reason)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from complexity_bench.contracts.measure import MEASURES

MINE = ["lmn", "linear-regions", "l2", "l2-dist-init", "effective-rank", "stable-rank", "effective-rank-repr"]


@pytest.fixture()
def toy():
    from complexity_bench.testing import toy_context

    return toy_context()


@pytest.mark.parametrize("name", MINE)
def test_nan_weights_raise_value_error_with_reason(name, toy):
    model, ctx = toy
    with torch.no_grad():
        model.stages[model.input_stage].weight[0, 0] = float("nan")  # upstream of every measure
    with pytest.raises(ValueError, match="non-finite"):
        MEASURES.get(name).compute(model, ctx.for_measure(name))


def test_duplicate_probe_points(toy):
    model, ctx = toy
    same = replace(ctx, probe_x=ctx.probe_x[:1].repeat(len(ctx.probe_x), 1), _cache={})
    assert MEASURES.get("lmn").compute(model, same) == pytest.approx(1.0, abs=1e-12)  # every segment has length 0
    assert MEASURES.get("effective-rank-repr").compute(model, same) == pytest.approx(1.0, abs=1e-9)  # rank one
    with pytest.raises(ValueError, match="zero length"):
        MEASURES.get("linear-regions").compute(model, same)
    half = replace(ctx, probe_x=torch.cat([ctx.probe_x[:12], ctx.probe_x[:12]]), _cache={})
    out = MEASURES.get("linear-regions").compute(model, half)
    assert out["per-segment"] >= 1


def test_zero_weights(toy):
    model, ctx = toy
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    assert MEASURES.get("l2").compute(model, ctx) == 0.0
    ranks = MEASURES.get("effective-rank").compute(model, ctx)
    assert set(ranks.values()) == {0.0}  # zero matrices: rank 0 by definition
    assert MEASURES.get("stable-rank").compute(model, ctx) == 0.0
    # constant (zero) logits along every segment: r² is 0/0, defined as 1, so LMN = 1
    assert MEASURES.get("lmn").compute(model, ctx) == pytest.approx(1.0, abs=1e-12)
    # zero embeddings put every probe point at the origin: no segment has length
    with pytest.raises(ValueError, match="zero length"):
        MEASURES.get("linear-regions").compute(model, ctx)
