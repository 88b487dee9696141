"""The suite's measures on your own model: :class:`Tracker` for a training loop (its settings:
:class:`Data`, :class:`Schedule`, :class:`RunLabel`), :func:`compute` for one value."""

from complexity_bench.tracker.single import compute
from complexity_bench.tracker.spec import Data, RunLabel, Schedule
from complexity_bench.tracker.tracker import Tracker

__all__ = ["Data", "RunLabel", "Schedule", "Tracker", "compute"]
