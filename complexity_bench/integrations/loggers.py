"""Loggers a Tracker (or a callback's Tracker) sends its values and alarms to.

    tracker.add_logger(TensorBoardLogger("runs/tb"))        # SummaryWriter.add_scalar(tag, value, step)
    tracker.add_logger(WandbLogger(wandb.init(project=...)))  # run.log, one step axis, run.alert on an alarm

A logger is any object with ``log_values(step, values, metrics)`` (the measure
values of one ``log`` call, NaN where a measure failed, and the metrics) and
``alarm(measure, text, step)`` (called once per measure, when its alarm fires).
Tags are ``complexity/<measure>``; failed (non-finite) values are not sent.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

from complexity_bench.integrations.optional import require

PREFIX = "complexity/"


def finite(values: Mapping[str, float]) -> dict[str, float]:
    """The values a logger can plot: non-finite ones (a failed measure) left out."""
    return {k: float(v) for k, v in values.items() if v is not None and math.isfinite(float(v))}


class TensorBoardLogger:
    """Each value as ``add_scalar(prefix + measure, value, step)``; an alarm as ``add_text``.

    ``writer``: a ``torch.utils.tensorboard.SummaryWriter`` (yours, shared with your
    own scalars) or a folder to open one in. ``metrics=True`` also sends the
    Tracker's train/test loss and accuracy (under ``prefix + "metrics/"``)."""

    def __init__(self, writer: Any, prefix: str = PREFIX, metrics: bool = False):
        if isinstance(writer, (str, Path)):
            require("tensorboard", "loggers")
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter(str(writer))
        self.writer, self.prefix, self.metrics = writer, prefix, metrics

    def log_values(self, step: int, values: Mapping[str, float], metrics: Mapping[str, float]) -> None:
        sent = {**finite(values), **({f"metrics/{k}": v for k, v in finite(metrics).items()} if self.metrics else {})}
        for name, value in sent.items():
            self.writer.add_scalar(self.prefix + name, value, step)
        self.writer.flush()

    def alarm(self, measure: str, text: str, step: int) -> None:
        self.writer.add_text(f"{self.prefix}alarm/{measure}", text, step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


class WandbLogger:
    """Each ``log`` call as one ``run.log``, on its own step axis ``prefix + "step"``
    (``define_metric``), so the measures share the Tracker's steps whatever else the
    run logs; an alarm is ``run.alert``. ``run``: a ``wandb`` run (default: ``wandb.run``)."""

    def __init__(self, run: Any = None, prefix: str = PREFIX, metrics: bool = False):
        wandb = require("wandb", "loggers")
        self.run = run if run is not None else wandb.run
        if self.run is None:
            from complexity_bench.errors import UserError

            raise UserError("WandbLogger needs a run: call wandb.init(...) first or pass run=")
        self.prefix, self.metrics = prefix, metrics
        self.step_key = prefix + "step"
        self.run.define_metric(self.step_key)
        self.run.define_metric(prefix + "*", step_metric=self.step_key)

    def log_values(self, step: int, values: Mapping[str, float], metrics: Mapping[str, float]) -> None:
        sent = {**finite(values), **({f"metrics/{k}": v for k, v in finite(metrics).items()} if self.metrics else {})}
        self.run.log({self.step_key: step, **{self.prefix + k: v for k, v in sent.items()}})

    def alarm(self, measure: str, text: str, step: int) -> None:
        self.run.alert(title=f"complexity_bench alarm: {measure}", text=text)
