"""When a Tracker logs: log-spaced early (memorisation is fast), linear later (grokking is slow).

With the planned number of steps known, the schedule is the base Task's
checkpoint schedule for that budget (``Task.checkpoint_steps``: step 0, 20
log-spaced steps up to steps/200, a linear grid of 200, thinned to 51-56 logs
for budgets of 300 to 60,000 steps). The built-in task families store fewer,
39-41 (``tasks/_common.checkpoint_schedule``; tests/tasks/test_budgets.py checks
both counts). Without it, the schedule is open-ended: 10 steps per decade
(rounded) below ``every``, then every multiple of ``every``.
"""

from __future__ import annotations

import math

from complexity_bench.contracts.task import Task

OPEN_ENDED_PER_DECADE = 10


def planned_schedule(steps: int) -> frozenset[int]:
    """The base Task's checkpoint steps for a budget of ``steps`` optimizer steps (see the module docstring;
    ``Schedule`` checks that ``steps`` is a whole number >= 1)."""
    return frozenset(Task().checkpoint_steps(steps))


def open_ended_due(step: int, every: int) -> bool:
    """Step 0, about 10 log-spaced steps per decade below ``every``, then multiples of ``every``."""
    if step >= every:
        return step % every == 0
    if step <= 1:
        return True
    k = math.log10(step) * OPEN_ENDED_PER_DECADE
    # due when step is the rounding of 10^(j/10) for some j
    return any(round(10 ** (j / OPEN_ENDED_PER_DECADE)) == step for j in (math.floor(k), math.ceil(k)))
