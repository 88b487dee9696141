"""PyTorch Lightning: ``ComplexityCallback``, the Tracker as a ``lightning.pytorch`` callback.

    trainer = L.Trainer(max_steps=3000, callbacks=[
        ComplexityCallback("lmn,l2", Data(probe=x[:128], train=(x, y)), schedule=Schedule(steps=3000))])

At each step on the Tracker's schedule (``on_train_batch_end``, at
``trainer.global_step``: the weights after that many optimizer steps; step 0 in
``on_train_start``) it logs the measures, sends the values to the trainer's
loggers (``logger.log_metrics`` at that step, tags ``complexity/<measure>``) and
to ``trainer.callback_metrics`` (so a ModelCheckpoint or EarlyStopping can
monitor them), saves the Tracker's state in checkpoints and restores it on
resume, writes the Tracker's run folder when training ends, and with
``stop_on_alarm=True`` stops training when an alarm fires. Measures run on the
global-zero process only. docs/integrations.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from complexity_bench.integrations.driver import ScheduledTracker, make_tracker, model_of
from complexity_bench.integrations.optional import require
from complexity_bench.tracker.tracker import Tracker

pl = require("lightning.pytorch", "lightning")


class ComplexityCallback(pl.callbacks.Callback):
    """The Tracker's measures, events and alarms in a Lightning ``Trainer``.

    Args:
        *tracker_args, **tracker_kwargs: the Tracker's arguments (``measures``,
            ``Data(...)``, ``schedule=Schedule(steps=...)``, ``run=``, ``alarms=``, ...);
            or ``tracker=`` a Tracker.
        model: what the measures see: None (the LightningModule), an attribute name
            (``"net"``), or a function of the LightningModule.
        run_dir: where the run folder is written at the end (default:
            ``<trainer.log_dir or default_root_dir>/complexity/<run_id>``); False: not written.
        stop_on_alarm: stop training (``trainer.should_stop``) when an alarm fires.
    """

    def __init__(self, *tracker_args: Any, tracker: Tracker | None = None,
                 model: str | Callable[[nn.Module], nn.Module] | None = None, run_dir: str | Path | bool | None = None, stop_on_alarm: bool = False, **tracker_kwargs: Any):
        super().__init__()
        self.driver = ScheduledTracker(make_tracker(tracker, tracker_args, tracker_kwargs), stop_on_alarm)
        self.model, self.run_dir = model, run_dir
        self.saved_to: Path | None = None

    @property
    def tracker(self) -> Tracker:
        return self.driver.tracker

    @property
    def state_key(self) -> str:
        return self._generate_state_key(run_id=self.tracker.run_id)

    def on_train_start(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        self._log(trainer, pl_module)

    def on_train_batch_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        self._log(trainer, pl_module)

    def _log(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        step = trainer.global_step
        if not trainer.is_global_zero or not self.driver.maybe_log(step, model_of(pl_module, self.model)):
            return
        values = dict(self.driver.values)
        values.update({f"complexity/alarm/{m}": 1.0 for m, _, _ in self.driver.alarms})
        for logger in trainer.loggers:
            logger.log_metrics(values, step=step)
        trainer.callback_metrics.update({k: torch.tensor(v) for k, v in values.items()})
        if self.driver.should_stop:
            trainer.should_stop = True

    def on_train_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        if self.run_dir is False or not trainer.is_global_zero:
            return
        out = self.run_dir or Path(trainer.log_dir or trainer.default_root_dir) / "complexity" / self.tracker.run_id
        self.saved_to = self.driver.save(out)

    def state_dict(self) -> dict[str, Any]:
        return self.driver.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.driver.load_state_dict(state_dict)
