"""Baselines, scored like any measure so every claim is relative (docs/protocol.md, "Baselines").

- ``random``: noise drawn independently per run: keyed by the whole run identity (task,
  hyperparameters, seed) and the step, so two configurations sharing a seed do not share
  draws; should score ~0 (tracking, forecast) or ~0.5 (AUROC). The leaderboard recomputes
  it from (run_id, step) at scoring time (scoring/scorer_baselines.py), so results stored
  before this version score the same noise.
- ``train-loss``: the observable training loss; a measure must beat it to be news.
- ``step``: the clock; within a run anything monotone in time tracks a monotone
  test loss, so an early-warning or per-run tracking score must beat it.
- ``oracle-test-loss``: the quantity being predicted; an upper bound, not
  observable at prediction time, so it is shown but never ranked.
"""

from __future__ import annotations

import hashlib

from torch import nn

from complexity_bench.contracts.measure import MeasureContext, measure


@measure(name="random", version="2", direction=+1, direction_source='none: noise; +1 by convention, at chance whichever way', needs=(), stochastic=True, baseline=True,
         description="Uniform noise in [0, 1) keyed by the run's identity (task, hyperparameters, seed) and the step.")
def random_baseline(model: nn.Module, ctx: MeasureContext) -> float:
    params = sorted((str(k), repr(v)) for k, v in ctx.params.items())
    key = f"{getattr(ctx.task, 'name', '')}/{params}/{ctx.seed}/{ctx.step}"
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little") / 2.0**64


@measure(name="train-loss", version="1", direction=+1, direction_source='definition: a higher training loss is a less fitted model', needs=("data",), baseline=True,
         description="Training loss at the checkpoint (full training set).")
def train_loss_baseline(model: nn.Module, ctx: MeasureContext) -> float:
    return float(ctx.metrics["train_loss"])


@measure(name="step", version="1", direction=-1, direction_source='definition: the clock; a later step is closer to generalising', needs=(), baseline=True,
         description="Optimizer steps taken: the clock. Larger = later = closer to generalising.")
def step_baseline(model: nn.Module, ctx: MeasureContext) -> float:
    return float(ctx.step)


@measure(name="oracle-test-loss", version="1", direction=+1, direction_source='definition: a higher test loss is further from generalising', needs=("data",), causal=False, baseline=True,
         description="Test loss at the checkpoint: the predicted quantity itself (non-causal upper bound).")
def oracle_test_loss(model: nn.Module, ctx: MeasureContext) -> float:
    return float(ctx.metrics["test_loss"])
