"""Placeholders for inputs a measure may not read.

A measure's context holds only what its ``needs`` declare (complexity_bench.contracts.measure),
and a Tracker's context holds only the data its user passed (tracker/context.py).
Whatever is withheld is one of these placeholders: touching it raises
:class:`MissingData` with a sentence saying why, so the measure fails with that
reason instead of computing on something it should not see.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping

import torch

from complexity_bench.errors import UserError


class MissingData(UserError):
    """A measure read an input its context does not hold."""


class _Missing(torch.Tensor):
    """Any torch operation on it raises MissingData with ``why``."""

    why = "this input is not available"

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        raise MissingData(cls.why)


def missing(why: str, label: str = "input") -> torch.Tensor:
    """A placeholder tensor whose every use raises MissingData(why); ``label`` names its class."""
    kind = type(f"Missing_{label}", (_Missing,), {"why": why})
    return torch.empty(0).as_subclass(kind)  # cpu: a placeholder; every use of it raises, on any device


def is_missing(x: Any) -> bool:
    return isinstance(x, _Missing)


class MissingMapping(Mapping[str, Any]):
    """A mapping whose every look-up raises MissingData(why) (withheld metrics)."""

    def __init__(self, why: str) -> None:
        self.why = why

    def __getitem__(self, key: str) -> Any:
        raise MissingData(self.why)

    def __iter__(self) -> Iterator[str]:
        raise MissingData(self.why)

    def __len__(self) -> int:
        raise MissingData(self.why)
