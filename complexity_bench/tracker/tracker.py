"""``Tracker``: the suite's measures on any ``nn.Module``, from a plain training loop.

    tracker = Tracker("lmn,l2,effective-rank", Data(probe=x_probe, train=(x_train, y_train)))
    for step in range(steps + 1):
        if tracker.due(step):
            tracker.log(step, model, test_acc=...)      # train metrics computed from Data.train if not given
        ...                                            # the user's own optimisation step
    tracker.warning()                                  # live early warning after memorisation
    tracker.save("runs/my-run")                        # runs.csv, traces.parquet, ... as a suite run

The class is thin state (the logged rows) around pure functions: the model
view (view.py), the measure context (context.py), the suite's own per-measure
evaluator (evaluate.py, so values equal the suite's on the same weights), the
events (events.py) and the warning statistic (warning.py). A log call never
changes the model, its gradients, flags or the global RNGs (guard.py).
"""

from __future__ import annotations

import math
import platform
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd
import torch
from torch import nn

from complexity_bench.errors import UserError
from complexity_bench.pipeline.evaluate import CALL_LIMIT_S
from complexity_bench.pipeline.evaluate import _compute_isolated as compute_isolated  # the suite's evaluator, reused as is
from complexity_bench.contracts.events import Events, detect_events
from complexity_bench.contracts.measure import COST_TIERS, MEASURES, Measure
from complexity_bench.contracts.missing_data import is_missing
from complexity_bench.pipeline.outputs import Frames, code_state, measure_table
from complexity_bench.scoring import ScoreConfig
from complexity_bench.contracts.task import Variant
from complexity_bench.engine.training import METRIC_COLUMNS
from complexity_bench.tracker.checks import (Architecture, architecture, check_same_architecture, forward_on,
                                             non_finite, non_finite_rows)
from complexity_bench.tracker.context import OwnTask, make_context, missing
from complexity_bench.tracker.guard import untouched
from complexity_bench.tracker.save import save_run
from complexity_bench.tracker.schedule import open_ended_due, planned_schedule
from complexity_bench.tracker.spec import Data, RunLabel, Schedule, whole_number
from complexity_bench.tracker.view import in_view_names, make_view
from complexity_bench.tracker.warning import progress_table, thresholds_for, warning_table

TRACE_COLUMNS = ["run_id", "task", "step", "measure", "value", "seconds", "error", *METRIC_COLUMNS]


def select_measures(measures: str | Iterable[str | Measure]) -> tuple[list[Measure], set[str]]:
    """(measures, the names asked for explicitly). ``"all"``: every measure but the expensive tier."""
    if isinstance(measures, str):
        chosen = MEASURES.select(measures, keep=lambda m: "default" in COST_TIERS[m.info.cost]["suites"])
        explicit = set() if measures.strip() == "all" else {m.name for m in chosen}
        return chosen, explicit
    chosen = [m if isinstance(m, Measure) else MEASURES.get(m) for m in measures]
    return chosen, {m.name for m in chosen}


def _of_type(value: Any, kind: type, argument: str) -> Any:
    """``value`` when it is a ``kind`` (default ``kind()`` for None), else a UserError naming the argument."""
    if value is None:
        return kind()
    if not isinstance(value, kind):
        raise UserError(f"Tracker({argument}=...) must be a {kind.__name__}(...) (complexity_bench.{kind.__name__}), "
                        f"got {type(value).__name__}")
    return value


# Settings a Tracker takes inside its groups (tracker/spec.py), by the group that holds each.
GROUP_OF = {**dict.fromkeys(("probe", "train", "test", "loss", "properties", "init_state"), "data=Data"),
            **dict.fromkeys(("steps", "every", "threshold", "consecutive"), "schedule=Schedule"),
            **dict.fromkeys(("task", "run_id", "seed", "hparams"), "run=RunLabel")}


def _refuse_ungrouped(kwargs: Mapping[str, Any]) -> None:
    """A UserError saying which group holds a setting given directly; a TypeError for an unknown one."""
    for name in kwargs:
        if name not in GROUP_OF:
            raise TypeError(f"Tracker() got an unexpected keyword argument {name!r}")
    if kwargs:
        name = next(iter(kwargs))
        raise UserError(f"Tracker({name}=...): {name} is a setting of its group: "
                        f"Tracker(..., {GROUP_OF[name]}({name}=...)) (docs/tracker.md)")


class Tracker:
    """Measures, events and early warning for one training run of any model.

    Args:
        measures: "all", comma-separated names, or a list of names / Measure objects.
        data: :class:`Data`: the probe, train / test sets, loss, task properties and
            initial weights the measures and metrics read (tracker/spec.py).
        schedule: :class:`Schedule`: when ``due`` says to log (``steps``, ``every``) and
            the accuracy ``threshold`` / ``consecutive`` logs that make T_mem and T_gen.
        run: :class:`RunLabel`: the task name, run id, seed and hparams the saved files carry;
            ``seed`` also seeds stochastic measures.
        lmn_cut: where LMN and the representation measures cut the model: a module b
            (the samples are b's input; b maps them to the logits), a pair (a, b)
            (the samples are a's output), or a stage index. Default: the suite's cut
            (after the first hidden activation) for a Sequential or a model whose
            children chain to its forward; required otherwise.
        alarms: "pooled" (shipped thresholds over all reference tasks), a reference
            task name, a dict {measure: threshold}, or None.
        verbose: print one line when a measure's alarm fires.
    """

    def __init__(
        self,
        measures: str | Iterable[str | Measure] = "lmn,l2,effective-rank",
        data: Data | None = None,
        *,
        schedule: Schedule | None = None,
        run: RunLabel | None = None,
        lmn_cut: Any = None,
        alarms: str | Mapping[str, float] | None = "pooled",
        verbose: bool = False,
        **ungrouped: Any,
    ):
        _refuse_ungrouped(ungrouped)
        data, schedule, run = _of_type(data, Data, "data"), _of_type(schedule, Schedule, "schedule"), \
            _of_type(run, RunLabel, "run")
        self.measures, self._explicit = select_measures(measures)
        self.task = OwnTask(run.task, data.loss, schedule.threshold, data.properties)
        self.hparams = run.hparams
        self.seed = run.seed
        self.run_id = run.run_id or Variant(run.task, tuple(sorted(self.hparams.items())), self.seed, "tracker").run_id
        self.consecutive = schedule.consecutive
        self.lmn_cut = lmn_cut
        self.verbose = verbose
        self._probe = data.probe if data.probe is not None else missing("Data(probe=...)")
        self._train = data.train if data.train is not None else (missing("Data(train=(x, y))"),) * 2
        self._test = data.test
        self._schedule = planned_schedule(schedule.steps) if schedule.steps is not None else None
        self._every = schedule.every
        self.thresholds, self.alarm_source = thresholds_for(alarms)
        self.eps = ScoreConfig().eps
        self.skipped: dict[str, str] = {}
        self._rows: list[dict[str, Any]] = []
        self._curve: list[dict[str, float]] = []
        self._user_init = data.init_state
        self._init_state: dict[str, torch.Tensor] | None = None
        self._architecture: Architecture | None = None
        self._view: nn.Module | None = None
        self._model_id: int | None = None
        self._on_device: dict[torch.device, tuple] = {}
        self._announced: set[str] = set()
        self.log_seconds: list[float] = []
        self._loggers: list[Any] = []

    def add_logger(self, logger: Any) -> "Tracker":
        """Send every logged value, and every alarm when it fires, to ``logger`` too: an object with
        ``log_values(step, values, metrics)`` and ``alarm(measure, text, step)``
        (complexity_bench.integrations.loggers: TensorBoard, W&B). Returns the Tracker."""
        self._loggers.append(logger)
        return self

    # -- when -------------------------------------------------------------------
    def due(self, step: int) -> bool:
        """Whether ``step`` is on the logging schedule (log-spaced early, linear later)."""
        step = whole_number(step, "due(step): the step", 0)
        if self._schedule is not None:
            return step in self._schedule
        return open_ended_due(step, self._every)

    # -- log --------------------------------------------------------------------
    def log(self, step: int, model: nn.Module, *, train_acc: float | None = None, test_acc: float | None = None,
            train_loss: float | None = None, test_loss: float | None = None) -> None:
        """Compute every measure on ``model`` now and record it with the metrics at ``step``.

        Metrics not given are computed from ``train`` / ``test`` when those were
        passed (eval mode, no gradients). The model is left exactly as it was.
        """
        start = time.perf_counter()
        step = whole_number(step, "log(step): the step", 0)
        if self._curve and step <= self._curve[-1]["step"]:
            raise UserError(f"log steps must increase: step {step} after step {int(self._curve[-1]['step'])}")
        if not isinstance(model, nn.Module):
            raise UserError(f"log() needs the model (an nn.Module), got {type(model).__name__}")
        if self._architecture is not None:
            check_same_architecture(self._architecture, model, step, int(self._curve[0]["step"]))
        given = {"train_loss": train_loss, "test_loss": test_loss, "train_acc": train_acc, "test_acc": test_acc}
        with untouched(model):
            probe, train, test = self._data_on(model)
            view = self._view_of(model, probe)
            metrics = self._metrics(model, given, train, test)
            if self._init_state is None:
                self._init_state = self._initial_state(view, model)
                self._drop_inapplicable(view)
            ctx = make_context(self.task, self.seed, step, probe, train, self._init_state, metrics)
            state = {k: v.detach().clone() for k, v in view.state_dict().items()}
            measured = [m for m in self.measures if m.name not in self.skipped]
            diverged = non_finite(model.state_dict())  # named as the user's model names them
            rows = non_finite_rows(measured, step, diverged) if diverged is not None else []
            for m in measured if diverged is None else []:
                view.eval()  # a measure that left train mode on must not change the next one's value
                got = compute_isolated(m, view, ctx, state, CALL_LIMIT_S[m.info.cost])
                if not self._curve and self._structural_failure(m, got):
                    continue
                rows += got
        if self._architecture is None:
            self._architecture = architecture(model)
        metric_cols = {c: math.nan if metrics.get(c) is None else float(metrics[c]) for c in METRIC_COLUMNS}
        self._rows += [{"run_id": self.run_id, "task": self.task.name, **r, **metric_cols} for r in rows]
        self._curve.append({"step": step, **metric_cols})
        self.log_seconds.append(time.perf_counter() - start)
        for logger in self._loggers:
            logger.log_values(int(step), {r["measure"]: r["value"] for r in rows}, metric_cols)
        if self.verbose or self._loggers:
            self._announce()

    @staticmethod
    def _device_of(model: nn.Module) -> torch.device:
        param = next(iter(model.parameters()), None)
        return param.device if param is not None else torch.device("cpu")

    def _data_on(self, model: nn.Module) -> tuple:
        device = self._device_of(model)
        if device not in self._on_device:
            move = lambda t: t if is_missing(t) else t.to(device)  # noqa: E731
            test = None if self._test is None else tuple(map(move, self._test))
            self._on_device[device] = (move(self._probe), tuple(map(move, self._train)), test)
        return self._on_device[device]

    def _view_of(self, model: nn.Module, probe: torch.Tensor) -> nn.Module:
        if self._view is None or self._model_id != id(model):
            if not is_missing(probe):
                forward_on(model, probe, "probe")
            self._view = make_view(model, None if is_missing(probe) else probe, self.lmn_cut)
            self._model_id = id(model)
        return self._view

    def _initial_state(self, view: nn.Module, model: nn.Module) -> dict[str, torch.Tensor]:
        """The run's initial weights in the view's names: ``init_state`` if given, else the first log's."""
        if self._user_init is not None:  # on the model's device, wherever the user's copy is
            device = self._device_of(model)
            return {k: v.to(device) for k, v in in_view_names(view, model, dict(self._user_init)).items()}
        return {k: v.detach().clone() for k, v in view.state_dict().items()}

    def _metrics(self, model: nn.Module, given: dict, train: tuple, test: tuple | None) -> dict[str, float | None]:
        out = dict(given)
        with torch.no_grad():  # metrics, not measures: no gradients
            for split, pair in (("train", None if is_missing(train[0]) else train), ("test", test)):
                if pair is None or (out[f"{split}_loss"] is not None and out[f"{split}_acc"] is not None):
                    continue
                logits = forward_on(model, pair[0], split)
                if out[f"{split}_loss"] is None:
                    out[f"{split}_loss"] = float(self.task.loss(logits, pair[1]))
                if out[f"{split}_acc"] is None and self.task.can_score_accuracy():
                    out[f"{split}_acc"] = float(self.task.correct(logits, pair[1]).float().mean())
        return {k: v for k, v in out.items() if v is not None}

    def _drop_inapplicable(self, view: nn.Module) -> None:
        for m in self.measures:
            if not m.applicable(self.task, view):
                self._skip(m, f"applies to {m.info.applies_to} tasks only"
                              + (" (pass properties={'cyclic_group'} if inputs are Z_p tokens)"
                                 if m.info.applies_to == "cyclic_group" else ""))

    def _structural_failure(self, m: Measure, rows: list[dict]) -> bool:
        """A measure that fails on the first log cannot apply to this model or data (a missing cut,
        argument or metric, an unsupported layer): it is skipped with the reason, not logged as
        NaN at every step. Failures on later logs are recorded per step, as in the suite."""
        errors = [r["error"] for r in rows if r["error"]]
        if not errors or len(errors) < len(rows):
            return False
        reason = errors[0]
        if reason.startswith("KeyError:"):
            reason = f"needs the metric {reason.split(':', 1)[1].strip()}: pass it to log()"
        elif not hasattr(self._view, "stages") and ("stage" in reason.lower() or "region counting" in reason):
            reason += (f" ({type(self._view).__name__} is not an nn.Sequential and its children do not chain to "
                       "its forward: pass lmn_cut=b, the module that maps the cut to the logits, or lmn_cut=(a, b))")
        self._skip(m, reason)
        return True

    def _skip(self, m: Measure, reason: str) -> None:
        if m.name in self._explicit:
            raise UserError(f"measure {m.name!r} cannot run on this model: {reason}")
        self.skipped[m.name] = reason

    # -- results ----------------------------------------------------------------
    @property
    def traces(self) -> pd.DataFrame:
        """Every logged value, in the suite's ``traces.parquet`` format (one row per step and measure)."""
        return pd.DataFrame(self._rows, columns=TRACE_COLUMNS)

    @property
    def curve(self) -> pd.DataFrame:
        """The logged metrics, one row per log call."""
        return pd.DataFrame(self._curve, columns=["step", *METRIC_COLUMNS])

    def events(self) -> Events:
        """The events so far, by the harness's own functions (contracts/events.py): T_mem / T_gen from the
        logged accuracies (sustained over ``consecutive`` logs); after T_gen, T_spike (training loss above
        10x its running minimum) and T_collapse (test accuracy below the threshold for ``consecutive`` logs).
        A log without an accuracy is neither at nor below the threshold (it ends a streak); a log without a
        training loss never spikes."""
        c = self.curve
        steps = [int(s) for s in c["step"]]
        return detect_events(steps, c["train_acc"].to_numpy(float), c["test_acc"].to_numpy(float),
                             self.task.threshold, budget=steps[-1] if steps else 0, consecutive=self.consecutive,
                             train_loss=c["train_loss"].to_numpy(float))

    def directions(self) -> dict[str, int]:
        return {m.name: m.info.direction for m in self.measures}

    def warning(self) -> pd.DataFrame:
        """Per measure: the early-warning statistic p now and since T_mem, the alarm threshold, the alarm.

        See complexity_bench/tracker/warning.py and docs/tracker.md for what the
        threshold was calibrated on (and why it may not transfer to your model).
        """
        t_mem = self.events().t_mem
        return warning_table(self.traces, self.directions(), None if t_mem is None else float(t_mem),
                             self.thresholds, self.eps)

    def progress(self) -> pd.DataFrame:
        """p(t) at every logged step after T_mem, per measure (long format: measure, step, p)."""
        t_mem = self.events().t_mem
        return progress_table(self.traces, self.directions(), None if t_mem is None else float(t_mem), self.eps)

    def _announce(self) -> None:
        if self.events().t_mem is None:
            return
        table = self.warning()
        for r in table[table["alarm"] & ~table["measure"].isin(self._announced)].itertuples():
            self._announced.add(r.measure)
            text = (f"{r.measure} p = {r.p_max:.3g} > {r.threshold:.3g} at step {int(r.alarm_step)} "
                    f"(T_mem = {int(r.t_mem)}); generalisation may be near "
                    f"({self.alarm_source}; may not transfer to this model)")
            if self.verbose:
                print(f"[complexity_bench] alarm: {text}", flush=True)
            for logger in self._loggers:
                logger.alarm(r.measure, text, int(r.alarm_step))

    def frames(self) -> Frames:
        """This run as the suite's tables (runs, traces, curves, measures)."""
        ev = self.events()
        last = int(self._curve[-1]["step"]) if self._curve else 0
        run = {"run_id": self.run_id, "task": self.task.name, "task_version": "tracker", "seed": self.seed,
               **self.hparams, "t_mem": ev.t_mem, "t_gen": ev.t_gen, "censored": ev.censored, "delay": ev.delay,
               "t_spike": ev.t_spike, "t_collapse": ev.t_collapse, "budget": last, "last_step": last,
               "threshold": self.task.threshold,
               "axes": "+".join(sorted(self.hparams)), "train_seconds": math.nan, "engine": "tracker"}
        runs = pd.DataFrame([run])
        for col in ("t_mem", "t_gen", "t_spike", "t_collapse"):
            runs[col] = runs[col].astype("float64")  # None -> NaN
        curve = self.curve
        curve.insert(0, "run_id", self.run_id)
        traces = self.traces
        kept = [m for m in self.measures if m.name not in self.skipped]
        return Frames(runs, traces, curve, measure_table(kept, traces))

    def save(self, out: str | Path) -> Path:
        """Write runs.csv, traces.parquet, curves.parquet, measures.csv, manifest.json into ``out``."""
        if not self._curve:
            raise UserError("nothing to save: call log() at least once")
        from complexity_bench import __version__

        manifest = {
            "package_version": __version__, **code_state(), "torch_version": torch.__version__,
            "python_version": sys.version.split()[0], "platform": platform.platform(), "source": "Tracker",
            "tasks": {self.task.name: "tracker"}, "seeds": [self.seed], "runs": 1,
            "measures": {m.name: m.info.version for m in self.measures if m.name not in self.skipped},
            "skipped": self.skipped, "lmn_cut": repr(self.lmn_cut) if self.lmn_cut is not None else None,
            "view": type(self._view).__name__, "alarms": self.alarm_source, "log_calls": len(self.log_seconds),
            "log_seconds_total": round(sum(self.log_seconds), 4),
        }
        return save_run(out, self.frames(), manifest)
