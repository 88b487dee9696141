"""Grokking events from accuracy curves (docs/protocol.md, "Events").

T_mem is the first evaluation step from which train accuracy stays >= q for
``consecutive`` evaluations in a row; T_gen the same for test accuracy. A run
that never gets there is right-censored at its budget. The delay is
D = log10(T_gen / T_mem).

Instability after generalisation (docs/protocol.md, "Instability events"), both only
looked for at evaluations strictly after T_gen, and None when T_gen is None or the
event never happens within the evaluations stored:

- T_spike: the first evaluation step at which the training loss exceeds
  ``SPIKE_FACTOR`` times its running minimum (the least training loss at any earlier
  evaluation, from step 0 on).
- T_collapse: the first evaluation step from which test accuracy stays strictly below
  the threshold q for ``consecutive`` evaluations in a row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

CONSECUTIVE = 3  # guards against a single lucky evaluation (docs/protocol.md, "Events")
ACCURACY_THRESHOLD = 0.99  # q: the accuracy T_mem and T_gen are reached at (docs/protocol.md, "Events")
SPIKE_FACTOR = 10.0  # a spike: training loss above 10x its running minimum (docs/protocol.md)


def first_sustained(steps: Sequence[int], values: Sequence[float], q: float, consecutive: int = CONSECUTIVE) -> int | None:
    """First step s_i with values[i..i+consecutive-1] all >= q, or None.

    A streak that is still running at the last evaluation counts only if it is
    ``consecutive`` long: a single final evaluation above q is not an event.
    """
    return _first_streak(steps, np.asarray(values, dtype=float) >= q, consecutive)


def _first_streak(steps: Sequence[int], hits: np.ndarray, consecutive: int, after: int | None = None) -> int | None:
    """First step s_i (> ``after`` when given) starting ``consecutive`` True values in a row."""
    run = 0
    for i, ok in enumerate(hits):
        if after is not None and steps[i] <= after:
            continue
        run = run + 1 if ok else 0
        if run == consecutive:
            return int(steps[i - consecutive + 1])
    return None


def first_collapse(steps: Sequence[int], test_acc: Sequence[float], q: float, t_gen: int | None,
                   consecutive: int = CONSECUTIVE) -> int | None:
    """T_collapse: first step after ``t_gen`` from which test accuracy stays < q for
    ``consecutive`` evaluations; None without T_gen or without such a streak.

    >>> first_collapse([0, 10, 20, 30, 40, 50], [0, 1, 1, 0.5, 0.4, 0.3], 0.99, t_gen=10)
    30
    """
    if t_gen is None:
        return None
    return _first_streak(steps, np.asarray(test_acc, dtype=float) < q, consecutive, after=t_gen)


def first_spike(steps: Sequence[int], train_loss: Sequence[float], t_gen: int | None,
                factor: float = SPIKE_FACTOR) -> int | None:
    """T_spike: first step after ``t_gen`` whose training loss exceeds ``factor`` times the
    least training loss of every earlier evaluation; None without T_gen or without a spike.
    NaN losses never spike and never lower the running minimum.

    >>> first_spike([0, 10, 20, 30, 40], [2.0, 1e-3, 1e-5, 5e-5, 2e-4], t_gen=10)
    40
    """
    if t_gen is None:
        return None
    running = math.inf
    for s, loss in zip(steps, np.asarray(train_loss, dtype=float)):
        if s > t_gen and loss > factor * running:
            return int(s)
        if not math.isnan(loss):
            running = min(running, loss)
    return None


@dataclass(frozen=True)
class Events:
    t_mem: int | None
    t_gen: int | None
    budget: int
    t_spike: int | None = None  # None: no spike, or not looked for (no training loss given)
    t_collapse: int | None = None

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
    consecutive: int = CONSECUTIVE, train_loss: Sequence[float] | None = None,
) -> Events:
    """T_mem, T_gen and, after T_gen, T_collapse; T_spike too when ``train_loss`` is given."""
    t_gen = first_sustained(steps, test_acc, q, consecutive)
    return Events(
        t_mem=first_sustained(steps, train_acc, q, consecutive),
        t_gen=t_gen,
        budget=budget,
        t_spike=None if train_loss is None else first_spike(steps, train_loss, t_gen),
        t_collapse=first_collapse(steps, test_acc, q, t_gen, consecutive),
    )
