"""The suite's measures on your own model: :class:`Tracker` for a training loop, :func:`compute` for one value."""

from .single import compute
from .tracker import Tracker

__all__ = ["Tracker", "compute"]
