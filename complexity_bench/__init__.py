"""complexity_bench: which complexity measure sees delayed generalisation coming?"""

from .errors import UserError
from .measure import MEASURES, Measure, MeasureContext, MeasureInfo, measure, register_measure
from .models import StagedModel
from .task import TASKS, Recipe, Task, TaskData, Variant, register_task

__version__ = "0.1.0"

__all__ = [
    "MEASURES", "TASKS", "Measure", "MeasureContext", "MeasureInfo", "Recipe", "StagedModel",
    "Task", "TaskData", "Tracker", "UserError", "Variant", "compute", "measure", "register_measure",
    "register_task",
]


def __getattr__(name: str):
    # Tracker and compute pull in pandas and the scoring stack: imported on first use, so
    # `import complexity_bench` stays light for worker processes that never use them.
    if name in ("Tracker", "compute"):
        from . import tracker

        return getattr(tracker, name)
    raise AttributeError(f"module 'complexity_bench' has no attribute {name!r}")
