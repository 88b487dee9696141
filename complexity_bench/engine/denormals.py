"""Flushing denormal floats to zero without leaking the setting into the caller.

Late in training, denormal values (e.g. in AdamW's second-moment estimate) can
make CPU steps many times slower, so training flushes them. The setting is
process-wide CPU state, though: left on, it breaks code that needs IEEE
subnormals (hypothesis, for one, refuses to generate floats). Worker processes
switch it on for good (:func:`set_flush`); library calls in someone else's
process use :func:`flushing_denormals`, which restores what was there.
"""

from __future__ import annotations

import functools
from typing import Callable, TypeVar

import torch

F = TypeVar("F", bound=Callable)
_flushing = False  # torch has no getter, so the last value set here is tracked


def flushing() -> bool:
    """Whether denormals are flushed (as last set through this module)."""
    return _flushing


def set_flush(on: bool) -> None:
    global _flushing
    torch.set_flush_denormal(on)
    _flushing = on


def flushing_denormals(fn: F) -> F:
    """Decorator: run ``fn`` with denormals flushed, then restore the previous setting."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        previous = flushing()
        set_flush(True)
        try:
            return fn(*args, **kwargs)
        finally:
            set_flush(previous)

    return wrapper  # type: ignore[return-value]
