"""What the Lightning and Hugging Face callbacks share: a Tracker driven by a trainer's step counter.

``ScheduledTracker`` logs when the Tracker's schedule says so (each step once:
a resumed fit does not log its first step twice), registers itself as the
Tracker's logger to collect each log's values and the alarms that fire, and
carries the Tracker's logged state through a checkpoint (``state_dict``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from torch import nn

from complexity_bench.errors import UserError
from complexity_bench.integrations.loggers import PREFIX, finite
from complexity_bench.tracker.tracker import Tracker

# The Tracker's logged state (the rows, the metrics curve, the run's initial weights, the skipped
# measures, the alarms announced, log timings): what a checkpoint must carry for a resumed fit to
# continue the same trace. The view, data on device and schedule are rebuilt from the arguments;
# the architecture check starts again from the first log after a resume.
# tests/test_lightning.py's resume test fails if the Tracker keeps its state elsewhere.
TRACKER_STATE = ("_rows", "_curve", "_init_state", "skipped", "_announced", "log_seconds")


def make_tracker(tracker: Tracker | None, args: tuple, kwargs: Mapping[str, Any]) -> Tracker:
    """The callback's Tracker: the one given, or one built from the Tracker's own arguments
    (``measures``, ``Data(...)``, ``schedule=``, ``run=``, ...: docs/tracker.md)."""
    if tracker is not None:
        if args or kwargs:
            raise UserError("pass either tracker= or the Tracker's arguments, not both")
        return tracker
    return Tracker(*args, **kwargs)


def model_of(module: nn.Module, model: str | Callable[[nn.Module], nn.Module] | None) -> nn.Module:
    """The network the measures see: the trainer's module, one of its attributes (``model="net"``),
    or what a function of it returns."""
    if model is None:
        return module
    if isinstance(model, str):
        if not hasattr(module, model):
            raise UserError(f"model={model!r}: {type(module).__name__} has no attribute {model!r}")
        return getattr(module, model)
    return model(module)


class ScheduledTracker:
    """A Tracker logged at a trainer's steps; collects the values and alarms of each log."""

    def __init__(self, tracker: Tracker, stop_on_alarm: bool = False):
        self.tracker = tracker
        self.stop_on_alarm = stop_on_alarm
        self.values: dict[str, float] = {}   # of the last log call, finite values only
        self.alarms: list[tuple[str, str, int]] = []  # (measure, text, step) of the last log call
        tracker.add_logger(self)

    # the Tracker's logger interface
    def log_values(self, step: int, values: Mapping[str, float], metrics: Mapping[str, float]) -> None:
        self.values = {PREFIX + k: v for k, v in finite(values).items()}

    def alarm(self, measure: str, text: str, step: int) -> None:
        self.alarms.append((measure, text, step))

    @property
    def last_step(self) -> int | None:
        curve = self.tracker._curve
        return int(curve[-1]["step"]) if curve else None

    def maybe_log(self, step: int, model: nn.Module) -> bool:
        """Log ``model`` at ``step`` if the schedule says so and the step is new; whether it logged."""
        last = self.last_step
        if (last is not None and step <= last) or not self.tracker.due(step):
            return False
        self.values, self.alarms = {}, []
        self._init_state_to(model)
        self.tracker.log(step, model)
        return True

    def _init_state_to(self, model: nn.Module) -> None:
        """A restored run's initial weights (CPU in the checkpoint) on the model's device."""
        init = self.tracker._init_state
        param = next(iter(model.parameters()), None)
        if init and param is not None and any(t.device != param.device for t in init.values()):
            self.tracker._init_state = {k: t.to(param.device) for k, t in init.items()}

    @property
    def should_stop(self) -> bool:
        return self.stop_on_alarm and bool(self.alarms)

    def state_dict(self) -> dict[str, Any]:
        """The Tracker's logged state in plain Python and CPU tensors (a checkpoint loads it with
        ``torch.load(weights_only=True)`` on any device)."""
        return {"run_id": self.tracker.run_id,
                "tracker": {k: plain(getattr(self.tracker, k)) for k in TRACKER_STATE}}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state.get("run_id") != self.tracker.run_id:
            raise UserError(f"the checkpoint's complexity state is run {state.get('run_id')!r}, this Tracker is run "
                            f"{self.tracker.run_id!r}: pass the same run_id= to resume it")
        for k in TRACKER_STATE:
            current = getattr(self.tracker, k)
            value = state["tracker"][k]
            setattr(self.tracker, k, set(value) if isinstance(current, set) else value)

    def save(self, out: str | Path) -> Path | None:
        """The Tracker's run folder (None when nothing was logged)."""
        return self.tracker.save(out) if self.tracker._curve else None


def plain(state: Any) -> Any:
    """``state`` as plain Python (numpy scalars as numbers, sets as sorted lists) with CPU tensors."""
    if isinstance(state, torch.Tensor):
        return state.detach().cpu().clone()
    if isinstance(state, dict):
        return {k: plain(v) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return [plain(v) for v in state]
    if isinstance(state, set):
        return sorted(plain(v) for v in state)
    return state.item() if hasattr(state, "item") else state
