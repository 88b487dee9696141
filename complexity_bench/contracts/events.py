"""Grokking events from accuracy curves (docs/protocol.md, "Events").

T_mem is the first evaluation step from which train accuracy stays >= q for
``consecutive`` evaluations in a row; T_gen the same for test accuracy. A run
that never gets there is right-censored at its budget. The delay is
D = log10(T_gen / T_mem).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

CONSECUTIVE = 3  # guards against a single lucky evaluation (docs/protocol.md, "Events")
ACCURACY_THRESHOLD = 0.99  # q: the accuracy T_mem and T_gen are reached at (docs/protocol.md, "Events")


def first_sustained(steps: Sequence[int], values: Sequence[float], q: float, consecutive: int = CONSECUTIVE) -> int | None:
    """First step s_i with values[i..i+consecutive-1] all >= q, or None.

    A streak that is still running at the last evaluation counts only if it is
    ``consecutive`` long: a single final evaluation above q is not an event.
    """
    v = np.asarray(values, dtype=float) >= q
    run = 0
    for i, ok in enumerate(v):
        run = run + 1 if ok else 0
        if run == consecutive:
            return int(steps[i - consecutive + 1])
    return None


@dataclass(frozen=True)
class Events:
    t_mem: int | None
    t_gen: int | None
    budget: int

    @property
    def memorised(self) -> bool:
        return self.t_mem is not None

    @property
    def censored(self) -> bool:
        """True when test accuracy never reached the threshold within the budget."""
        return self.t_gen is None

    @property
    def t_gen_or_budget(self) -> int:
        return self.t_gen if self.t_gen is not None else self.budget

    @property
    def delay(self) -> float:
        """log10(T_gen / T_mem), with T_gen = budget when censored (a lower bound then).

        NaN when the run never memorised. Steps of 0 are treated as 1.
        """
        if self.t_mem is None:
            return math.nan
        return math.log10(max(self.t_gen_or_budget, 1) / max(self.t_mem, 1))


def detect_events(
    steps: Sequence[int], train_acc: Sequence[float], test_acc: Sequence[float], q: float, budget: int,
    consecutive: int = CONSECUTIVE,
) -> Events:
    return Events(
        t_mem=first_sustained(steps, train_acc, q, consecutive),
        t_gen=first_sustained(steps, test_acc, q, consecutive),
        budget=budget,
    )
