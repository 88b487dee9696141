"""The task contract: data, model, recipe, thresholds, schedule and variant grid.

A task family subclasses :class:`Task`, decorated with :func:`register_task`.
Hyperparameters of a run live in a flat ``params`` dict (the task's
``defaults`` overridden by the variant); the variant axes the grid sweeps
(train fraction, weight decay, initial scale, ...) are named in ``axes`` so
scoring can compare runs that differ in one axis only.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

import torch
import torch.nn.functional as F

from complexity_bench.errors import UserError
from complexity_bench.contracts.events import ACCURACY_THRESHOLD
from complexity_bench.contracts.models import StagedModel
from complexity_bench.contracts.registry import Registry, name_problems

# smoke: pipeline check; default / full: the CPU suites; operations: Power et al.'s
# operations on the paper's MLP; gpu: tasks whose runs a 2-core CPU cannot afford (they
# cannot grok within a CPU-affordable budget, or their step costs too much under MKL's
# compatible path: docs/protocol.md, "Power and the suite design"); long: no early stop,
# the whole (long) budget, for the instability question (docs/protocol.md, "The
# instability question").
SUITES = ("smoke", "default", "full", "operations", "gpu", "long")
# Parameters that set a run's budget, and so its evaluation and checkpoint schedule: one
# value per task, never a grid axis, so that which checkpoint counts as "at T_mem" and
# where a control is censored cannot depend on a variant's outcome (docs/protocol.md,
# "Budgets"). Only the smoke suite, a pipeline check whose scores mean nothing, shortens it.
BUDGET_PARAMS = ("steps", "stop_factor")
# Most seeds of a weight-decay-0 control configuration: the first 5 of a suite's seeds
# (Task.control_seeds; the full suite has 10).
CONTROL_SEEDS = 5
# The losses Task.loss and Task.correct implement.
LOSS_KINDS = ("cross_entropy", "mse", "hinge")
# What a task may declare in ``properties`` (a measure's ``applies_to`` names one of them):
# - classification: class labels and softmax / cross-entropy logits;
# - binary_classification: labels in {-1, +1} and one output (hinge loss);
# - class_scores_mse: one-hot class scores trained by MSE (not softmax logits);
# - regression: real-valued targets;
# - cyclic_group: the inputs are elements of Z_p (token ids);
# - piecewise_linear: the model is a ReLU-family net, piecewise linear in its input.
TASK_PROPERTIES = frozenset({"classification", "binary_classification", "class_scores_mse", "regression",
                             "cyclic_group", "piecewise_linear"})


@dataclass(frozen=True)
class TaskData:
    """All inputs of a run, with index sets into them.

    Runs of one task that share ``x``/``y`` (e.g. all operand pairs) differ
    only in their index sets, which lets the cohort engine train them together
    with per-run masks.
    """

    x: torch.Tensor
    y: torch.Tensor
    train_idx: torch.Tensor
    test_idx: torch.Tensor
    probe_idx: torch.Tensor

    def to(self, device: str | torch.device) -> "TaskData":
        """The same data with every tensor on ``device`` (itself when already there)."""
        dev = torch.device(device)
        if self.x.device == dev:
            return self
        return TaskData(*(getattr(self, f).to(dev) for f in ("x", "y", "train_idx", "test_idx", "probe_idx")))

    @property
    def x_train(self) -> torch.Tensor:
        return self.x[self.train_idx]

    @property
    def y_train(self) -> torch.Tensor:
        return self.y[self.train_idx]

    @property
    def x_test(self) -> torch.Tensor:
        return self.x[self.test_idx]

    @property
    def y_test(self) -> torch.Tensor:
        return self.y[self.test_idx]

    @property
    def probe_x(self) -> torch.Tensor:
        return self.x[self.probe_idx]

    @property
    def probe_y(self) -> torch.Tensor:
        return self.y[self.probe_idx]


@dataclass(frozen=True)
class Recipe:
    """How to train: read from params by :meth:`Task.recipe`."""

    optimizer: str  # "adamw" | "sgd"
    lr: float
    weight_decay: float
    steps: int
    batch_size: int | None = None  # None: full batch
    betas: tuple[float, float] = (0.9, 0.999)
    momentum: float = 0.0
    # Stop once the run has generalised (T_gen detected) and step >= stop_factor * T_gen.
    # None trains the whole budget. Scores only look at steps up to T_gen, so the
    # tail mostly costs time; a factor > 1 keeps some of the post-grokking phase.
    stop_factor: float | None = None


@dataclass(frozen=True)
class Variant:
    """One training run: task name, full hyperparameters, seed."""

    task: str
    params: tuple[tuple[str, Any], ...]
    seed: int
    task_version: str = "1"

    @property
    def param_dict(self) -> dict[str, Any]:
        return dict(self.params)

    @property
    def run_id(self) -> str:
        """Content address: (task, task code version, params, seed)."""
        blob = json.dumps([self.task, self.task_version, sorted(self.params), self.seed], default=str)
        return f"{self.task}-{hashlib.sha256(blob.encode()).hexdigest()[:16]}"


class Task:
    """Base class for a task family. Subclasses set the class attributes and
    implement ``make_data`` and ``make_model``."""

    name: ClassVar[str]
    version: ClassVar[str] = "1"  # in every run id: raise it when the task trains differently, so stored runs are not reused
    family: ClassVar[str] = ""
    description: ClassVar[str] = ""
    reference: ClassVar[str] = ""
    loss_kind: ClassVar[str] = "cross_entropy"  # one of LOSS_KINDS, unless loss() and correct() are overridden
    threshold: ClassVar[float] = ACCURACY_THRESHOLD  # q for T_mem / T_gen
    probe_size: ClassVar[int] = 128  # fixed per task: LMN grows with N
    properties: ClassVar[frozenset] = frozenset({"classification"})  # a subset of TASK_PROPERTIES
    axes: ClassVar[tuple[str, ...]] = ("train_frac", "weight_decay", "init_scale")
    defaults: ClassVar[dict[str, Any]] = {}
    # (low, high, low_inclusive, high_inclusive) per numeric param
    bounds: ClassVar[dict[str, tuple[float, float, bool, bool]]] = {
        "train_frac": (0.0, 1.0, False, False),
        "weight_decay": (0.0, math.inf, True, False),
        "init_scale": (0.0, math.inf, False, False),
        "lr": (0.0, math.inf, False, False),
        "steps": (1, math.inf, True, False),
    }

    # -- what a family implements ------------------------------------------
    def make_data(self, params: Mapping[str, Any], seed: int) -> TaskData:
        raise NotImplementedError

    def make_model(self, params: Mapping[str, Any], seed: int) -> StagedModel:
        raise NotImplementedError

    def grid(self, suite: str) -> list[dict[str, Any]]:
        """Param overrides per variant for a suite (seeds come from :meth:`seeds`)."""
        raise NotImplementedError

    # The long suite's budget, one per task: every long variant trains ``steps`` steps with
    # no early stop ({} = the task has no long configurations). Fixed before any scored
    # long seed ran (docs/protocol.md, "The instability question").
    long_budget: ClassVar[dict[str, Any]] = {}

    def seeds(self, suite: str) -> list[int]:
        # full: 10 seeds per configuration, from the power analysis (docs/protocol.md, "Power and
        # the suite design"); long: seeds 1-5, not the seed-0 paper runs that the long budgets
        # were read from
        return {"smoke": [0], "default": [0, 1, 2], "full": list(range(10)), "operations": [0, 1, 2],
                "gpu": [0, 1, 2, 3, 4], "long": [1, 2, 3, 4, 5]}[suite]

    def control_seeds(self, suite: str) -> list[int]:
        """Seeds of a weight-decay-0 control configuration (:func:`is_control`): the first 5 of
        the suite's (all of them in a suite of 5 or fewer). The controls' question compares
        control runs with generalising runs, so it has many pairs with fewer control seeds, and
        a subset keeps the seeds crossed (docs/protocol.md, "Power and the suite design")."""
        return self.seeds(suite)[:CONTROL_SEEDS]

    # -- shared behaviour ---------------------------------------------------
    def has_property(self, prop: str) -> bool:
        return prop in self.properties

    def resolve(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """defaults + overrides, validated; unknown keys and out-of-range values are user errors."""
        params = dict(self.defaults)
        for key, value in (overrides or {}).items():
            if key not in params:
                raise UserError(f"task {self.name!r} has no parameter {key!r} (known: {', '.join(sorted(params))})")
            params[key] = value
        for key, (lo, hi, lo_inc, hi_inc) in self.bounds.items():
            if key not in params:
                continue
            v = params[key]
            ok = (v >= lo if lo_inc else v > lo) and (v <= hi if hi_inc else v < hi)
            if not ok:
                lb, rb = "[" if lo_inc else "(", "]" if hi_inc else ")"
                raise UserError(f"task {self.name!r}: {key}={v} is out of range {lb}{lo}, {hi}{rb}")
        return params

    def variants(self, suite: str) -> list[Variant]:
        if suite not in SUITES:
            raise UserError(f"unknown suite {suite!r}; choose one of {', '.join(SUITES)}")
        return self.variants_of(suite, self.grid(suite))

    def variants_of(self, suite: str, grid: list[dict[str, Any]]) -> list[Variant]:
        """Every run of ``grid`` (parameter overrides) under ``suite``'s rules: budget, seeds
        (:meth:`seeds`, or :meth:`control_seeds` for a weight-decay-0 control)."""
        out = []
        for overrides in grid:
            fixed = sorted(set(overrides) & set(BUDGET_PARAMS))
            if fixed and suite != "smoke":
                raise ValueError(
                    f"task {self.name!r}, suite {suite!r}: a variant overrides {', '.join(fixed)}; the budget "
                    "and stop rule are one per task, the same for every variant (docs/protocol.md, \"Budgets\")")
            if suite == "long":
                overrides = {**overrides, **self.long_budget, "stop_factor": None}
            params = self.resolve(overrides)
            for seed in self.control_seeds(suite) if is_control(params) else self.seeds(suite):
                out.append(Variant(self.name, tuple(sorted(params.items())), seed, self.version))
        return out

    def variant(self, overrides: Mapping[str, Any] | None = None, seed: int = 0) -> Variant:
        params = self.resolve(overrides)
        return Variant(self.name, tuple(sorted(params.items())), seed, self.version)

    def recipe(self, params: Mapping[str, Any]) -> Recipe:
        return Recipe(
            optimizer=params.get("optimizer", "adamw"),
            lr=float(params["lr"]),
            weight_decay=float(params["weight_decay"]),
            steps=int(params["steps"]),
            batch_size=params.get("batch_size"),
            betas=tuple(params.get("betas", (0.9, 0.999))),
            momentum=float(params.get("momentum", 0.0)),
            stop_factor=params.get("stop_factor"),
        )

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean training loss."""
        if self.loss_kind == "cross_entropy":
            return F.cross_entropy(outputs, targets)
        if self.loss_kind == "mse":
            return F.mse_loss(outputs, targets)
        if self.loss_kind == "hinge":
            return torch.clamp(1 - outputs.squeeze(-1) * targets, min=0).mean()
        raise ValueError(self.loss_kind)

    def correct(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Per-sample correctness (bool); accuracy is its mean."""
        if self.loss_kind == "cross_entropy":
            return outputs.argmax(-1) == targets
        if self.loss_kind == "hinge":
            return torch.sign(outputs.squeeze(-1)) == targets
        raise NotImplementedError(f"{self.name}: regression tasks define correct()")

    def eval_steps(self, steps: int) -> list[int]:
        """Where train/test loss and accuracy are recorded (dense: events need it)."""
        return log_linear_schedule(steps, n_log=20, n_linear=200)

    def checkpoint_steps(self, steps: int) -> list[int]:
        """Where weights are stored for measures (a subset of eval_steps)."""
        return thin_schedule(self.eval_steps(steps), target=60)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name, "version": self.version, "family": self.family,
            "loss": self.loss_kind, "threshold": self.threshold, "probe_size": self.probe_size,
            "properties": "+".join(sorted(self.properties)), "axes": "+".join(self.axes),
            "steps": self.defaults.get("steps"), "reference": self.reference,
        }


def is_control(params: Mapping[str, Any]) -> bool:
    """A weight-decay-0 configuration: a suite's declared never-generalising control (the
    scorer's rule too, docs/protocol.md "Version 3")."""
    wd = params.get("weight_decay")
    return wd is not None and float(wd) == 0.0


def log_linear_schedule(steps: int, n_log: int, n_linear: int) -> list[int]:
    """Step 0, ``n_log`` log-spaced steps up to steps/n_linear, then a linear grid to ``steps``.

    The linear part resolves the generalisation jump; the log part resolves
    memorisation, which happens in the first hundreds of steps. Both parts are
    built from the same linear grid spacing, so a coarser schedule with a
    divisor spacing is a subset of a finer one.
    """
    spacing = max(steps // n_linear, 1)
    linear = list(range(spacing, steps + 1, spacing))
    if linear[-1] != steps:
        linear.append(steps)
    log = {int(round(v)) for v in torch.logspace(0, math.log10(spacing), n_log).tolist()} if spacing > 1 else set()
    return sorted({0, *log, *linear})


def thin_schedule(steps: list[int], target: int) -> list[int]:
    """Every k-th step of ``steps`` so that about ``target`` remain; first and last always kept."""
    k = max(1, math.ceil(len(steps) / target))
    kept = steps[::k]
    return kept if kept[-1] == steps[-1] else kept + [steps[-1]]


TASKS: Registry[Task] = Registry("task", "complexity_bench.tasks", "complexity_bench.tasks",
                                 adopt=lambda obj: register_task(obj) if isinstance(obj, type) else None)


def register_task(cls: type[Task]) -> type[Task]:
    """Class decorator: validate, instantiate and register a task family."""
    task = cls()
    problems = metadata_problems(task)
    if problems:
        raise UserError(f"invalid metadata for task {getattr(task, 'name', cls.__qualname__)!r} "
                        f"({cls.__module__}.{cls.__qualname__}): " + "; ".join(problems))
    TASKS.add(task.name, task)
    return cls


def metadata_problems(task: Task) -> list[str]:
    """What is wrong with a task's declared metadata, one phrase per problem (empty when valid).

    The name and version end up in run ids and file names; the rest is read by
    training (loss, threshold), evaluation (probe size), scoring (axes) and
    ``applies_to`` checks (properties).
    """
    problems = name_problems(getattr(task, "name", None), getattr(task, "version", None))
    own_loss = type(task).loss is not Task.loss and type(task).correct is not Task.correct
    if task.loss_kind not in LOSS_KINDS and not own_loss:
        problems.append(f"loss_kind {task.loss_kind!r} not in {list(LOSS_KINDS)} (or override loss() and correct())")
    threshold = task.threshold
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
        problems.append(f"threshold must be a number in (0, 1], got {threshold!r}")
    probe = task.probe_size
    if isinstance(probe, bool) or not isinstance(probe, int) or probe < 1:
        problems.append(f"probe_size must be an integer >= 1, got {probe!r}")
    not_params = [a for a in task.axes if a not in task.defaults]
    if not_params:
        problems.append(f"axes {not_params} are not parameters in defaults")
    unknown = sorted(set(task.properties) - TASK_PROPERTIES)
    if unknown:
        problems.append(f"properties {unknown} not in {sorted(TASK_PROPERTIES)}")
    return problems


def get_task(name: str) -> Task:
    return TASKS.get(name)
