"""complexity_bench: which complexity measure sees delayed generalisation coming?"""

from complexity_bench.errors import UserError
from complexity_bench.contracts.measure import MEASURES, Measure, MeasureContext, MeasureInfo, measure, register_measure
from complexity_bench.contracts.models import StagedModel
from complexity_bench.contracts.task import TASKS, Recipe, Task, TaskData, Variant, register_task

__version__ = "0.1.0"

__all__ = [
    "MEASURES", "TASKS", "Data", "Measure", "MeasureContext", "MeasureInfo", "Recipe", "RunLabel", "Schedule",
    "StagedModel", "Task", "TaskData", "Tracker", "UserError", "Variant", "compute", "measure", "register_measure",
    "register_task",
]


def __getattr__(name: str):
    # Tracker and compute pull in pandas and the scoring stack: imported on first use, so
    # `import complexity_bench` stays light for worker processes that never use them.
    if name in ("Tracker", "compute"):
        from complexity_bench import tracker

        return getattr(tracker, name)
    if name in ("Data", "Schedule", "RunLabel"):  # the Tracker's settings (tracker/spec.py)
        from complexity_bench.tracker import spec

        return getattr(spec, name)
    raise AttributeError(f"module 'complexity_bench' has no attribute {name!r}")
