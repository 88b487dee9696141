"""The suite's measures on your own model: :class:`Tracker` for a training loop, :func:`compute` for one value."""

from complexity_bench.tracker.single import compute
from complexity_bench.tracker.tracker import Tracker

__all__ = ["Tracker", "compute"]
