"""complexity_bench: which complexity measure sees delayed generalisation coming?"""

from .errors import UserError
from .measure import MEASURES, Measure, MeasureContext, MeasureInfo, measure, register_measure
from .models import StagedModel
from .task import TASKS, Recipe, Task, TaskData, Variant, register_task

__version__ = "0.1.0"

__all__ = [
    "MEASURES", "TASKS", "Measure", "MeasureContext", "MeasureInfo", "Recipe", "StagedModel",
    "Task", "TaskData", "UserError", "Variant", "measure", "register_measure", "register_task",
]
