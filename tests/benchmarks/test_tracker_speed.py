"""Cost of one ``Tracker.log`` call, beside one training step of the same model (docs/tracker.md).

The model and data are examples/grokking_tracker.py's: (a+b) mod 23, an embedding
MLP 48-128-128-23, 317 training pairs, a probe of 128. Run with
``python -m pytest tests/benchmarks/test_tracker_speed.py --benchmark-enable``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
from grokking_tracker import AdditionMLP, modular_addition  # noqa: E402

from complexity_bench import Data, Tracker  # noqa: E402

pytestmark = pytest.mark.benchmark


@pytest.fixture
def setup():
    (x_train, y_train), (x_test, y_test) = modular_addition(seed=0)
    torch.manual_seed(0)
    return AdditionMLP(), (x_train, y_train), (x_test, y_test)


def test_training_step(benchmark, setup):
    """The yardstick: one full-batch AdamW step."""
    model, (x, y), _ = setup
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=2.0)

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    benchmark(step)


@pytest.mark.parametrize("measures", ["l2,effective-rank", "lmn,l2,effective-rank", "all"])
def test_log_call(benchmark, setup, measures):
    """One log call (metrics from train= and test= included); the step grows so every call is valid."""
    model, train, test = setup
    tracker = Tracker(measures, Data(probe=train[0][:128], train=train, test=test), alarms=None)
    steps = iter(range(10**9))
    benchmark.pedantic(lambda: tracker.log(next(steps), model), rounds=5, iterations=1, warmup_rounds=1)
