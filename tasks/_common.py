"""Helpers shared by the built-in task families (seeded splits, seeded models, validation).

Not a task module: the leading underscore keeps registry discovery from importing it
as a family of its own.
"""

from __future__ import annotations

import math
from typing import Any, Callable, ClassVar, Mapping

import torch

from complexity_bench.errors import UserError
from complexity_bench.contracts.models import StagedModel, scale_parameters_
from complexity_bench.contracts.task import Task

# Fixed seed of every task's probe set: the probe is the same inputs for every run of a
# task (whatever the run seed), so a measure value means the same thing across runs.
PROBE_SEED = 20_231_009


def split_generator(seed: int) -> torch.Generator:
    """Generator for a run's train/test split, decorrelated from the model-init stream."""
    return torch.Generator().manual_seed(7_919 * seed + 17)


def seeded_split(n: int, train_frac: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Random disjoint (train, test) index sets covering range(n); ``floor(train_frac * n)`` train points.

    >>> tr, te = seeded_split(10, 0.8, seed=0)
    >>> len(tr), len(te), sorted(torch.cat([tr, te]).tolist()) == list(range(10))
    (8, 2, True)
    """
    perm = torch.randperm(n, generator=split_generator(seed))
    n_train = int(math.floor(train_frac * n))
    return perm[:n_train].sort().values, perm[n_train:].sort().values


def fixed_probe(n: int, size: int) -> torch.Tensor:
    """``size`` distinct indices into range(n), identical for every run of a task (PROBE_SEED)."""
    if size > n:
        raise ValueError(f"probe size {size} exceeds the {n} available inputs")
    return torch.randperm(n, generator=torch.Generator().manual_seed(PROBE_SEED))[:size].sort().values


def seeded_model(build: Callable[[], StagedModel], seed: int, init_scale: float = 1.0) -> StagedModel:
    """Build a model under ``torch.manual_seed(seed)`` without disturbing the global RNG,
    then multiply every initial parameter by ``init_scale`` (Omnigrok's α)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build()
    return scale_parameters_(model, float(init_scale))


def check_split_sizes(task_name: str, n: int, train_frac: float) -> None:
    """One-line UserError when a train fraction leaves the train or test set empty."""
    n_train = int(math.floor(train_frac * n))
    if n_train < 1 or n_train >= n:
        raise UserError(
            f"task {task_name!r}: train_frac={train_frac} gives {n_train} training points out of {n}; "
            f"choose a value that leaves at least one point in each split"
        )


def check_stop_factor(task_name: str, params: Mapping[str, Any]) -> None:
    """stop_factor must be None (train the whole budget) or >= 1; the optimizer a known kind."""
    opt = params.get("optimizer", "adamw")
    if opt not in ("adamw", "sgd"):
        raise UserError(f"task {task_name!r}: optimizer={opt!r} is not one of 'adamw', 'sgd'")
    sf = params.get("stop_factor")
    if sf is not None and not (isinstance(sf, (int, float)) and sf >= 1):
        raise UserError(f"task {task_name!r}: stop_factor={sf} must be None or a number >= 1")


def check_types(task_name: str, params: Mapping[str, Any], ints: tuple[str, ...], floats: tuple[str, ...]) -> None:
    """Reject strings and other non-numbers before the range checks compare them."""
    for key in ints:
        v = params.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
            raise UserError(f"task {task_name!r}: {key}={v!r} must be an integer")
    for key in floats:
        v = params.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise UserError(f"task {task_name!r}: {key}={v!r} must be a number")


def eval_schedule(steps: int, max_linear: int = 400) -> list[int]:
    """Evaluation steps: step 0, 20 log-spaced steps, then up to ``max_linear`` evenly spaced ones.

    Short (smoke) runs get one linear evaluation per 10 steps rather than one per step:
    they only exercise the pipeline, and an evaluation of the full train and test sets
    can cost as much as a training step.
    """
    from complexity_bench.contracts.task import log_linear_schedule

    return log_linear_schedule(steps, n_log=20, n_linear=max(10, min(max_linear, steps // 10)))


def checkpoint_schedule(evals: list[int], steps: int) -> list[int]:
    """Stored checkpoints: ~12 log-spaced from steps/2000 to steps/10 (memorisation), plus
    the linear evaluation grid thinned to ~28: 38-41 in all for budgets of 2,000 to
    200,000 steps with 200-800 linear evaluations; 11-13 for short (< 2,000-step) smoke
    runs (tests/tasks/test_budgets.py checks both ranges).

    Each log-grid point snaps to the nearest evaluation step, so every checkpoint has
    metrics. Training adds one at T_mem, and a run that stops early keeps only those up
    to its stop. Measures run on every checkpoint, so this sets the suite's measure cost.

    >>> from complexity_bench.contracts.task import log_linear_schedule
    >>> cps = checkpoint_schedule(log_linear_schedule(15_000, 20, 400), 15_000)
    >>> cps[:6], len(cps) < 45, cps[-1]
    ([0, 8, 12, 21, 31, 37], True, 15000)
    """
    from complexity_bench.contracts.task import thin_schedule

    if steps < 2_000:
        return thin_schedule(evals, target=12)
    lo, hi = math.log10(max(steps / 2_000, 1)), math.log10(max(steps / 10, 2))
    log_grid = torch.logspace(lo, hi, 12, dtype=torch.float64).tolist()
    snapped = {min(evals, key=lambda e: abs(e - g)) for g in log_grid}
    return sorted({0, *snapped, *thin_schedule(evals, target=28)})


def full_design(default_wd: float, step_wd: float) -> list[dict[str, Any]]:
    """The full suite's configurations of a task (docs/protocol.md, "Power and the suite
    design"): its default recipe, the same recipe one weight-decay step stronger, and the
    weight-decay-0 control (seeds: ``Task.seeds`` / ``Task.control_seeds``).

    >>> full_design(0.2, 1.0)
    [{'weight_decay': 0.2}, {'weight_decay': 1.0}, {'weight_decay': 0.0}]
    """
    if not 0 < default_wd < step_wd:
        raise ValueError(f"the weight-decay step {step_wd} must be stronger than the default {default_wd} > 0")
    return [{"weight_decay": default_wd}, {"weight_decay": step_wd}, {"weight_decay": 0.0}]


class ScheduledTask(Task):
    """What the built-in families share: schedules, grid lookup and parameter validation.

    A family sets ``max_linear`` (most evenly spaced evaluations), ``grids``
    (suite -> list of parameter overrides) and its integer / real parameters;
    seeds are the base class's.
    """

    max_linear: ClassVar[int] = 400
    grids: ClassVar[dict[str, list[dict[str, Any]]]] = {}
    # parameters whose values must be integers / real numbers (checked before the bounds)
    int_params: ClassVar[tuple[str, ...]] = ("steps",)
    float_params: ClassVar[tuple[str, ...]] = ("weight_decay", "init_scale", "lr")

    def resolve(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Types, then the base class's bounds, then the family's own checks, then stop_factor."""
        check_types(self.name, {**self.defaults, **(overrides or {})}, ints=self.int_params, floats=self.float_params)
        params = super().resolve(overrides)
        self.check_params(params)
        check_stop_factor(self.name, params)
        return params

    def check_params(self, params: Mapping[str, Any]) -> None:
        """Family-specific checks on resolved params; raise UserError."""

    def eval_steps(self, steps: int) -> list[int]:
        return eval_schedule(steps, max_linear=self.max_linear)

    def checkpoint_steps(self, steps: int) -> list[int]:
        return checkpoint_schedule(self.eval_steps(steps), steps)

    def grid(self, suite: str) -> list[dict[str, Any]]:
        return self.grids.get(suite, [])
