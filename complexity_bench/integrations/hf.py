"""Hugging Face transformers: ``ComplexityTrainerCallback``, the Tracker as a ``TrainerCallback``.

    trainer = Trainer(model=model, args=args, train_dataset=data, callbacks=[
        ComplexityTrainerCallback("l2,effective-rank", Data(probe=x[:128], train=(x, y)),
                                  schedule=Schedule(steps=3000))])

At each step on the Tracker's schedule (``on_step_end``, at ``state.global_step``;
step 0 in ``on_train_begin``) it logs the measures on the model the Trainer
passes (``kwargs["model"]``), appends the values to the Trainer's log history
(``state.log_history``: ``{"complexity/<measure>": value, ..., "step": step}``,
written to ``trainer_state.json`` with each checkpoint), and with
``stop_on_alarm=True`` stops training (``control.should_training_stop``) when
an alarm fires. The measures see ``Logits(model)``: the model with its output's
``logits`` as its output, so the Tracker's metrics and data measures read
logits from ``model(x)``. The Tracker's state is saved into each checkpoint
folder (``on_save``) and read back when a Trainer resumes from one of them, so
the trace continues. docs/integrations.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from complexity_bench.errors import UserError
from complexity_bench.integrations.driver import ScheduledTracker, make_tracker
from complexity_bench.integrations.optional import require
from complexity_bench.tracker.tracker import Tracker

transformers = require("transformers", "hf")
STATE_FILE = "complexity_tracker.pt"  # the Tracker's state, in each checkpoint folder


class Logits(nn.Module):
    """``model`` whose output is its ``logits`` (a transformers model returns a ModelOutput)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x)
        return out.logits if hasattr(out, "logits") else out


class ComplexityTrainerCallback(transformers.TrainerCallback):
    """The Tracker's measures, events and alarms in a transformers ``Trainer``.

    Args:
        *tracker_args, **tracker_kwargs: the Tracker's arguments (``measures``,
            ``Data(...)``, ``schedule=Schedule(steps=...)``, ``run=``, ``alarms=``, ...);
            or ``tracker=`` a Tracker.
        run_dir: where the Tracker's run folder is written when training ends (default:
            ``<args.output_dir>/complexity/<run_id>``); False: not written.
        stop_on_alarm: stop training (``control.should_training_stop``) when an alarm fires.
    """

    def __init__(self, *tracker_args: Any, tracker: Tracker | None = None,
                 run_dir: str | Path | bool | None = None,
                 stop_on_alarm: bool = False, **tracker_kwargs: Any):
        self.driver = ScheduledTracker(make_tracker(tracker, tracker_args, tracker_kwargs), stop_on_alarm)
        self.run_dir = run_dir
        self.saved_to: Path | None = None
        self._wrapped: tuple[int, Logits] | None = None

    @property
    def tracker(self) -> Tracker:
        return self.driver.tracker

    def _view(self, model: nn.Module) -> Logits:
        """One wrapper per model, so the Tracker builds its view once."""
        if self._wrapped is None or self._wrapped[0] != id(model):
            self._wrapped = (id(model), Logits(model))
        return self._wrapped[1]

    def _log(self, state: Any, control: Any, model: nn.Module | None) -> None:
        if model is None or not state.is_world_process_zero:
            return
        step = state.global_step
        if not self.driver.maybe_log(step, self._view(model)):
            return
        entry = dict(self.driver.values)
        entry.update({f"complexity/alarm/{m}": 1.0 for m, _, _ in self.driver.alarms})
        state.log_history.append({**entry, "step": step})
        if self.driver.should_stop:
            control.should_training_stop = True

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if state.global_step > 0:  # resumed from a checkpoint
            self._restore(Path(args.output_dir) / f"checkpoint-{state.global_step}" / STATE_FILE)
        self._log(state, control, model)

    def on_save(self, args, state, control, **kwargs):
        """Beside the Trainer's checkpoint (``checkpoint-<step>/``), the Tracker's logged state."""
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if state.is_world_process_zero and folder.is_dir():
            torch.save(self.driver.state_dict(), folder / STATE_FILE)

    def _restore(self, path: Path) -> None:
        if not path.exists():
            raise UserError(f"resuming at a checkpoint without {STATE_FILE} ({path.parent}): the Tracker's trace "
                            "cannot continue; start a new run or resume from a checkpoint this callback saved")
        self.driver.load_state_dict(torch.load(path, weights_only=True))

    def on_step_end(self, args, state, control, model=None, **kwargs):
        self._log(state, control, model)

    def on_train_end(self, args, state, control, **kwargs):
        if self.run_dir is False or not state.is_world_process_zero:
            return
        out = self.run_dir or Path(args.output_dir) / "complexity" / self.tracker.run_id
        self.saved_to = self.driver.save(out)
