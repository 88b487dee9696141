"""Training steps as they are taken, for ``run``'s progress display (pipeline/progress.py).

The training loops call :func:`trained` after every optimizer step; it does
nothing unless a display listens in this process (one global check per step).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

_listener: Callable[[int], None] | None = None


def trained(run_steps: int) -> None:
    """``run_steps`` optimizer steps were taken, summed over runs (a cohort of 8 runs stepping once: 8)."""
    if _listener is not None:
        _listener(run_steps)


@contextmanager
def listening(listener: Callable[[int], None]) -> Iterator[None]:
    """Send every :func:`trained` count in this process to ``listener`` while the body runs."""
    global _listener
    previous, _listener = _listener, listener
    try:
        yield
    finally:
        _listener = previous
