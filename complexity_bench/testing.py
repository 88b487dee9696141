"""Conformance suite for measure plugins, in the spirit of scikit-learn's check_estimator.

    from complexity_bench.testing import check_measure
    check_measure(MyMeasure())        # or a registered name: check_measure("lmn")

It builds a toy task (addition mod 7 through a small ReLU embedding MLP, so
every ``applies_to`` restriction holds), briefly trains it so the weights are
not at initialisation, and checks that the measure:

1. has valid metadata;
2. reads only the inputs its ``needs`` declare (it runs as the harness runs it,
   through ``compute_measure``, on a context holding only those);
3. returns a finite float, or a dict of finite floats;
4. leaves the model unchanged (weights bit for bit, requires_grad, train/eval mode);
5. is deterministic for a given context seed;
6. draws from ``ctx.generator`` only when declared ``stochastic`` (a measure that is
   not must give the same value under another seed's generator);
7. survives pickling.

Each check is one function of ``CHECKS``; ``parametrize_with_checks`` makes one pytest
case per (measure, check), so a failure names its check.

The time of one compute() on the toy model is reported as a note beside its cost
tier's expected time; it is not a check, since a busy machine would fail it
(tests/benchmarks/test_cost_tiers.py times the tiers). Every failure is
collected and reported together in one AssertionError.
"""

from __future__ import annotations

import math
import pickle
import time
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import nn

from complexity_bench.contracts.measure import COST_TIERS, MEASURES, NEEDS, Measure, MeasureContext, MeasureInfo, compute_measure
from complexity_bench.contracts.models import PairEmbedding, StagedModel, mlp_stages
from complexity_bench.contracts.task import Task, TaskData
from complexity_bench.pipeline.evaluate import MeasureTimeout, real_value, time_limit


class ToyModularAddition(Task):
    """Addition mod 7 with an embedding ReLU MLP: small, fast, and in every property class."""

    name = "toy-modadd"
    family = "toy"
    properties = frozenset({"classification", "piecewise_linear", "cyclic_group"})
    probe_size = 24
    p = 7
    defaults = {"train_frac": 0.7, "weight_decay": 0.1, "init_scale": 1.0, "lr": 1e-2, "steps": 30}

    def make_data(self, params, seed) -> TaskData:
        a, b = torch.meshgrid(torch.arange(self.p), torch.arange(self.p), indexing="ij")
        x = torch.stack([a.flatten(), b.flatten()], 1)
        y = (x[:, 0] + x[:, 1]) % self.p
        perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
        n_train = int(params["train_frac"] * len(x))
        return TaskData(x, y, perm[:n_train], perm[n_train:], perm[: self.probe_size])

    def make_model(self, params, seed) -> StagedModel:
        torch.manual_seed(seed)
        return StagedModel([PairEmbedding(self.p, 4), *mlp_stages([8, 16, 16, self.p], "relu")], input_stage=1)

    def grid(self, suite):
        return [{}]


@dataclass
class CheckReport:
    measure: str
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # advice that does not fail the check
    seconds: float = math.nan
    value: Any = None

    @property
    def ok(self) -> bool:
        return not self.failed

    def check(self, cond: bool, what: str, why: str = "") -> bool:
        """Record ``what`` as passed, or as failed with ``why``; returns ``cond``."""
        (self.passed if cond else self.failed).append(what if cond else f"{what}: {why}")
        return cond

    def __str__(self) -> str:
        lines = [f"check_measure({self.measure}): {'OK' if self.ok else 'FAILED'} ({self.seconds:.3f} s on the toy model)"]
        lines += [f"  ok    {p}" for p in self.passed]
        lines += [f"  FAIL  {f}" for f in self.failed]
        lines += [f"  note  {n}" for n in self.notes]
        return "\n".join(lines)


def toy_context(seed: int = 0, trained_steps: int = 30) -> tuple[nn.Module, MeasureContext]:
    """A briefly trained toy model and a checkpoint context for it."""
    task = ToyModularAddition()
    params = task.resolve({"steps": trained_steps})
    data = task.make_data(params, seed)
    model = task.make_model(params, seed)
    init_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    opt = torch.optim.AdamW(model.parameters(), lr=params["lr"], weight_decay=params["weight_decay"])
    for _ in range(trained_steps):
        opt.zero_grad()
        task.loss(model(data.x_train), data.y_train).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        metrics = {
            f"{split}_{k}": float(v)
            for split, x, y in (("train", data.x_train, data.y_train), ("test", data.x_test, data.y_test))
            for k, v in (("loss", task.loss(model(x), y)), ("acc", task.correct(model(x), y).float().mean()))
        }
    ctx = MeasureContext.for_run(task, params, seed, data, trained_steps, init_state, metrics)
    return model, ctx


def _snapshot(model: nn.Module) -> tuple:
    return (
        {k: v.detach().clone() for k, v in model.state_dict().items()},
        [p.requires_grad for p in model.parameters()],
        [m.training for m in model.modules()],
    )


def _same(a: tuple, b: tuple) -> bool:
    sa, ga, ta = a
    sb, gb, tb = b
    same_weights = sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    return same_weights and ga == gb and ta == tb


def _finite(value: Any) -> tuple[bool, str]:
    if isinstance(value, dict):
        if not value:
            return False, "returned an empty dict"
        bad = {k: v for k, v in value.items() if not isinstance(k, str) or not _is_finite_number(v)}
        return (not bad), f"non-finite or non-float entries: {bad}" if bad else ""
    return _is_finite_number(value), f"returned {value!r}, not a finite float"


def _is_finite_number(v: Any) -> bool:
    return not real_value(v, "")[1]  # the rule `run` stores values by


@dataclass
class Trial:
    """What the checks look at: a measure's compute() on the toy model (global RNG seeded 1,
    so a measure that uses it gives another value in the rerun), the model before it, and,
    on first use, two more compute() calls on a fresh toy model (global RNG seeded 2): with
    the same context, and with another run seed's generator. ``call_limit``: seconds one
    compute() call may take (SIGALRM: main thread only; a call past it fails); None, no limit."""

    measure: Measure
    model: nn.Module
    ctx: MeasureContext
    before: tuple
    call_limit: float | None = None
    value: Any = None
    seconds: float = math.nan
    failure: tuple[str, str] | None = None  # (check, reason) when compute() raised
    _rerun: tuple[Any, Any] | str | None = None  # (again, other generator), or why it raised

    @classmethod
    def run(cls, measure: Measure, call_limit: float | None = None) -> "Trial":
        model, ctx = toy_context()
        trial = cls(measure, model, ctx, _snapshot(model), call_limit)
        torch.manual_seed(1)
        try:
            start = time.perf_counter()
            trial.value = trial.compute(model, ctx)
            trial.seconds = time.perf_counter() - start
        except MeasureTimeout as exc:
            trial.failure = ("compute() runs", str(exc))
        except Exception as exc:
            trial.failure = _why_compute_failed(measure, exc)
        return trial

    def compute(self, model: nn.Module, ctx: MeasureContext) -> Any:
        with time_limit(self.call_limit) if self.call_limit else nullcontext():
            return compute_measure(self.measure, model, ctx)

    def rerun(self, report: CheckReport) -> tuple[Any, Any]:
        """(value again, value with another run seed's generator) on a fresh toy model;
        a failed check, and _Stop, when either call raised."""
        if self._rerun is None:
            model, ctx = toy_context()
            torch.manual_seed(2)
            try:
                again = self.compute(model, ctx)
                # another run seed gives compute() another ctx.generator, and nothing else
                self._rerun = (again, self.compute(model, replace(ctx, seed=ctx.seed + 1)))
            except Exception as exc:
                self._rerun = f"{type(exc).__name__}: {exc}"
        if isinstance(self._rerun, str):
            report.check(False, "compute() runs every time", self._rerun)
            raise _Stop
        return self._rerun


class _Stop(Exception):
    """A check that later checks depend on failed (no metadata, or compute() raised)."""


def _needs_value(trial: Trial, report: CheckReport) -> None:
    if trial.failure is not None:
        report.failed.append(f"{trial.failure[0]}: {trial.failure[1]}")
        raise _Stop


# -- the checks: each adds what it found to a report; check_measure runs them in order --

def check_metadata(measure: Measure, trial: Trial | None, report: CheckReport) -> None:
    info = getattr(measure, "info", None)
    if not report.check(isinstance(info, MeasureInfo), "metadata is a MeasureInfo", f"got {info!r}"):
        raise _Stop
    try:
        MeasureInfo(**{f: getattr(info, f) for f in info.__dataclass_fields__})
        report.check(True, "metadata valid")
    except Exception as exc:
        report.check(False, "metadata valid", str(exc))
    if not info.direction_source:
        report.notes.append("no direction_source: say where the direction comes from (a paper, or the "
                            "measure's definition), chosen before seeing results (docs/protocol.md, \"Directions\")")


def check_applies_to_toy_task(measure: Measure, trial: Trial, report: CheckReport) -> None:
    report.check(measure.applicable(trial.ctx.task, trial.model), "applies to the toy task",
                 "applicable() returned False")


def check_reads_only_its_needs(measure: Measure, trial: Trial, report: CheckReport) -> None:
    _needs_value(trial, report)
    report.check(True, f"reads only what it needs ({'+'.join(sorted(measure.info.needs)) or 'nothing'})")


def check_finite_output(measure: Measure, trial: Trial, report: CheckReport) -> None:
    _needs_value(trial, report)
    ok, why = _finite(trial.value)
    report.check(ok, "output is a finite float or dict of finite floats", why)


def check_model_unchanged(measure: Measure, trial: Trial, report: CheckReport) -> None:
    _needs_value(trial, report)
    report.check(_same(trial.before, _snapshot(trial.model)), "model unchanged",
                 "weights, requires_grad or train/eval mode changed")


def check_deterministic(measure: Measure, trial: Trial, report: CheckReport) -> None:
    _needs_value(trial, report)
    again = trial.rerun(report)[0]
    report.check(_equal_values(trial.value, again), "deterministic for a seed", f"{trial.value!r} then {again!r}")


def check_generator_declared(measure: Measure, trial: Trial, report: CheckReport) -> None:
    _needs_value(trial, report)
    other = trial.rerun(report)[1]
    if not measure.info.stochastic:
        report.check(_equal_values(trial.value, other), "independent of ctx.generator (not declared stochastic)",
                     f"{trial.value!r}, then {other!r} with another generator: declare stochastic=True")
    elif _equal_values(trial.value, other):
        report.notes.append("declared stochastic, but gave the same value with another generator seed")


def check_picklable(measure: Measure, trial: Trial | None, report: CheckReport) -> None:
    try:
        clone = pickle.loads(pickle.dumps(measure))
        report.check(getattr(clone, "info", None) == measure.info, "picklable",
                     "unpickled measure has different metadata")
    except Exception as exc:
        report.check(False, "picklable", f"{type(exc).__name__}: {exc}")


# in order; the first needs no trial (it checks what a trial needs)
CHECKS = (check_metadata, check_applies_to_toy_task, check_reads_only_its_needs, check_finite_output,
          check_model_unchanged, check_deterministic, check_generator_declared, check_picklable)


def check_measure(measure: Measure | str, raise_on_failure: bool = True,
                  call_limit: float | None = None) -> CheckReport:
    """Run every check of CHECKS in order; raise AssertionError listing every failure.

    call_limit: seconds one compute() call may take (see ``Trial``). ``check-measure`` runs
    this in a supervised process with its cost tier's limit (complexity_bench/check_isolated.py)."""
    measure = MEASURES.get(measure) if isinstance(measure, str) else measure
    report = CheckReport(measure=getattr(getattr(measure, "info", None), "name", repr(measure)))
    trial = None
    try:
        for check in CHECKS:
            if trial is None and check is not check_metadata:
                trial = Trial.run(measure, call_limit)
            check(measure, trial, report)
    except _Stop:
        return _finish(report, raise_on_failure)
    report.seconds = trial.seconds
    expected = COST_TIERS[measure.info.cost]["toy_seconds"]
    report.notes.append(f"one compute() took {report.seconds:.3f} s on the toy model "
                        f"(cost tier {measure.info.cost!r} expects up to {expected} s)")
    return _finish(report, raise_on_failure)


def parametrize_with_checks(measures: list[str | Measure]):
    """A ``pytest.mark.parametrize`` over (measure, check) pairs, as scikit-learn's
    ``parametrize_with_checks``: each test calls ``check(measure)``, which raises
    AssertionError naming its check. A measure's toy-model compute() runs once and
    is shared by its checks::

        @parametrize_with_checks(["my-measure"])
        def test_conforms(measure, check):
            check(measure)
    """
    import pytest

    resolved = [MEASURES.get(m) if isinstance(m, str) else m for m in measures]
    trials: dict[int, Trial] = {}

    def one(check):
        def run_check(measure: Measure) -> None:
            report = CheckReport(measure=measure.info.name)
            try:
                if check is check_metadata:
                    check(measure, None, report)
                else:
                    if id(measure) not in trials:
                        trials[id(measure)] = Trial.run(measure)
                    check(measure, trials[id(measure)], report)
            except _Stop:
                pass
            _finish(report, raise_on_failure=True)

        run_check.__name__ = check.__name__
        return run_check

    pairs = [(m, one(c)) for m in resolved for c in CHECKS]
    return pytest.mark.parametrize("measure, check", pairs, ids=[f"{m.info.name}-{c.__name__}" for m, c in pairs])


def _why_compute_failed(measure: Measure, exc: Exception) -> tuple[str, str]:
    """(check, reason) for a compute() that raised: an undeclared input, or a plain error."""
    reason = f"{type(exc).__name__}: {exc}"
    if measure.info.needs >= NEEDS:
        return "compute() runs", reason
    model, ctx = toy_context()
    try:  # with every input and autograd on: does it run then?
        with torch.enable_grad():
            measure.compute(model, ctx.for_measure(measure.name))
    except Exception:
        return "compute() runs", reason
    return (f"reads only what it needs ({'+'.join(sorted(measure.info.needs)) or 'nothing'})",
            f"it runs with every input but fails with only those: {reason} "
            f"(declare what it reads in needs, from {sorted(NEEDS)})")


def _equal_values(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal_values(a[k], b[k]) for k in a)
    try:
        return float(a) == float(b) or (math.isnan(float(a)) and math.isnan(float(b)))
    except (TypeError, ValueError):
        return False


def _finish(report: CheckReport, raise_on_failure: bool) -> CheckReport:
    if raise_on_failure and not report.ok:
        raise AssertionError(str(report))
    return report
