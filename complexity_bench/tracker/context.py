"""What a measure sees when it runs on a user's model: a task stand-in and a MeasureContext.

Suite measures read ``ctx.task`` (its loss, its properties), the probe and
training tensors, the run's initial weights and the checkpoint's metrics. A
Tracker has no registered Task, so :class:`OwnTask` stands in for one, built
from the Tracker's arguments. Data the user did not give is a tensor that
raises MissingData (complexity_bench/contracts/missing_data.py) when a measure touches it,
so the measure fails with a sentence saying which argument to pass (and the
Tracker skips it).
"""

from __future__ import annotations

from typing import Callable, Iterable, Mapping

import torch

from complexity_bench.contracts import missing_data
from complexity_bench.errors import UserError
from complexity_bench.contracts.measure import MeasureContext
from complexity_bench.contracts.task import LOSS_KINDS, Task


def missing(argument: str) -> torch.Tensor:
    """A placeholder tensor for an argument that was not passed (``argument`` names it, for the message)."""
    return missing_data.missing(f"this measure reads data the Tracker was not given: pass {argument}",
                                label=argument.split("=")[0].removeprefix("Data("))


class OwnTask(Task):
    """A Task built from a Tracker's arguments (never registered): loss, properties, threshold."""

    family = "own"
    axes = ()

    def __init__(self, name: str, loss: str | Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                 threshold: float, properties: Iterable[str] = ()):
        self.name = name
        self.threshold = float(threshold)
        if callable(loss):
            self.loss_kind, self._loss = "custom", loss
        elif loss in LOSS_KINDS:
            self.loss_kind, self._loss = loss, None
        else:
            raise UserError(f"loss must be one of {', '.join(LOSS_KINDS)} or a callable(outputs, targets), got {loss!r}")
        props = set(properties)
        if self.loss_kind == "cross_entropy":
            props.add("classification")
        self.properties = frozenset(props)

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return self._loss(outputs, targets) if self._loss is not None else super().loss(outputs, targets)

    def can_score_accuracy(self) -> bool:
        return self.loss_kind in ("cross_entropy", "hinge")


def make_context(task: OwnTask, seed: int, step: int, probe: torch.Tensor, train: tuple[torch.Tensor, torch.Tensor],
                 init_state: Mapping[str, torch.Tensor], metrics: Mapping[str, float]) -> MeasureContext:
    """The MeasureContext of one logged checkpoint (no test tensors: measures must not read test data)."""
    no_test = missing("test data (measures may not read it)")
    return MeasureContext(
        task=task, params={}, step=step, seed=seed, probe_x=probe, probe_y=missing("probe labels"),
        x_train=train[0], y_train=train[1], x_test=no_test, y_test=no_test,
        init_state=init_state, metrics=dict(metrics),
    )
