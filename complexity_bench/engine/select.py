"""Which engine trains a group of runs of one task.

``ENGINES`` maps each name ``run --engine`` accepts to the cohort engines it tries, in
order; a group no cohort engine can take trains with the reference loop one run at a
time (training.py) under ``auto``, and is refused under the names that insist on a
cohort. ``pipeline/plan.py:make_plan`` checks a user's name against it.
"""

from __future__ import annotations

from typing import Callable, Sequence

from complexity_bench.contracts.task import Task, Variant
from complexity_bench.engine.training import RunResult, train_run
from complexity_bench.errors import UserError

ENGINES: dict[str, tuple[str, ...]] = {
    "auto": ("cohort", "vmap"),  # the hand-written cohort, else the generic vmap one, else the loop
    "loop": (),  # the reference loop, one run at a time
    "cohort": ("cohort", "vmap"),  # some cohort engine, or an error
    "vmap": ("vmap",),  # the generic vmap engine, or an error
}


def cohort_engines() -> dict[str, tuple[Callable, Callable]]:
    """name -> (compatible(task, variants), train(task, variants, device)); imported on use."""
    from complexity_bench.engine.cohort import cohort_compatible, train_cohort
    from complexity_bench.engine.vmap_cohort import train_vmap_cohort, vmap_compatible

    return {"cohort": (cohort_compatible, train_cohort), "vmap": (vmap_compatible, train_vmap_cohort)}


def pick_engine(task: Task, variants: Sequence[Variant], engine: str = "auto"
                ) -> tuple[str, Callable[[Task, Sequence[Variant], str], list[RunResult]]]:
    """The engine :func:`train_group` trains these runs with: (its name, "loop" for the
    reference loop; its train(task, variants, device))."""
    if len(variants) > 1:
        engines = cohort_engines()
        for name in ENGINES[engine]:
            compatible, train = engines[name]
            if compatible(task, variants):
                return name, train
        if engine != "auto" and ENGINES[engine]:
            raise UserError(f"task {task.name!r}: these runs cannot train as one cohort; use --engine loop or auto")
    return "loop", _train_loop


def _train_loop(task: Task, variants: Sequence[Variant], device: str = "cpu") -> list[RunResult]:
    return [train_run(task, v, device) for v in variants]


def train_group(task: Task, variants: Sequence[Variant], engine: str = "auto", device: str = "cpu") -> list[RunResult]:
    """Train a group of runs of one task on ``device`` with the first engine of
    ``ENGINES[engine]`` that can stack them; a single run trains with the loop."""
    return pick_engine(task, variants, engine)[1](task, variants, device)
