"""Fixtures for tests/measures_literature/: checkpoint contexts with a real task's loss and correctness on given tensors."""

from __future__ import annotations

import pytest
import torch

from complexity_bench.contracts.measure import MeasureContext
from complexity_bench.contracts.task import get_task


def _context(task_name: str, x: torch.Tensor, y: torch.Tensor, probe_x: torch.Tensor | None = None,
            init_state: dict | None = None, seed: int = 0) -> MeasureContext:
    """A checkpoint context whose train, test and probe sets are (x, y) unless a probe is given."""
    probe = x if probe_x is None else probe_x
    return MeasureContext(task=get_task(task_name), params={}, step=1, seed=seed, probe_x=probe, probe_y=y[:len(probe)],
                          x_train=x, y_train=y, x_test=x, y_test=y, init_state=init_state or {})


@pytest.fixture()
def make_context():
    """``make_context(task_name, x, y, probe_x=None, init_state=None, seed=0)``: see ``_context``."""
    return _context
