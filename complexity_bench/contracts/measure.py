"""The measure contract: metadata, the context a measure sees, and registration.

A measure is a thin wrapper around a plain function::

    from complexity_bench import measure

    @measure(name="my-norm", version="1", direction=+1, needs=("weights",))
    def my_norm(model, ctx):
        return float(sum(p.pow(2).sum() for p in model.parameters()) ** 0.5)

or a subclass of :class:`Measure` decorated with :func:`register_measure`.
``compute`` must be pure: it must not change the model, and any randomness
comes from ``ctx.generator`` (seeded per run, checkpoint and measure).
It returns a float, or a dict of floats that are recorded as sub-measures
``"<name>/<key>"`` (each scored like a measure with the parent's metadata).

Devices: the model, the probe/train/test tensors and ``ctx.init_state`` are on one
device (the CPU, or the GPU a Tracker's or the suite's model is on). A measure
creates every tensor it uses on the model's device (``device=p.device``,
``x.new_zeros``, ``torch.zeros_like``), and returns Python floats (``float(t)``).
``ctx.generator`` is a CPU generator, whatever the device: draw on the CPU and
move the draw (``torch.randn(shape, generator=ctx.generator).to(p.device)``), so
the draws, and the value, are the same on every device.
tests/test_measures_device.py checks the built-in measures for this.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Hashable, Iterable, Mapping

import torch
from torch import nn

from complexity_bench.errors import UserError
from complexity_bench.contracts.missing_data import MissingMapping, missing
from complexity_bench.contracts.registry import Registry, name_problems

# What a measure may read besides the model it is given; its context holds only what it
# declares (MeasureContext.restricted_to), and gradients are enabled only when declared
# (compute_measure):
# - weights: ctx.init_state, the run's initial weights;
# - data: the probe, train and test tensors (and ctx.activations), and ctx.metrics;
# - gradients: autograd is on during compute() (backward passes).
NEEDS = frozenset({"weights", "data", "gradients"})
# Cost tiers:
# - toy_seconds: the expected time of one compute() on the toy model of
#   complexity_bench.testing (check_measure reports the time it measured beside it;
#   tests/benchmarks/test_cost_tiers.py times every measure against it);
# - suites: the suites in which `--measures all` includes the tier. Expensive
#   measures (seconds per checkpoint) would break the default suite's 10-minute
#   budget and the full suite's 2-hour one on a 2-core CPU (docs/protocol.md, "Power
#   and the suite design"); they run in `gpu`, or in any suite when named explicitly;
# - call_limit_s: the wall-clock limit of one compute() call in a suite run
#   (pipeline/evaluate.py). Generous: it catches hangs, not slowness; speed is
#   toy_seconds' and the bench's job.
# Every tier is evaluated on every stored checkpoint of a run: measures are judged
# at the same moments (docs/protocol.md, "Checkpoints"); a tier changes which suites
# include a measure, never where it is measured.
COST_TIERS: dict[str, dict] = {
    "cheap": {"toy_seconds": 0.5, "suites": ("smoke", "default", "full", "operations", "gpu", "long"),
              "call_limit_s": 60.0},
    "moderate": {"toy_seconds": 5.0, "suites": ("smoke", "default", "full", "operations", "gpu", "long"),
                 "call_limit_s": 300.0},
    "expensive": {"toy_seconds": 30.0, "suites": ("gpu",), "call_limit_s": 900.0},
}
APPLIES_TO = frozenset({"any", "piecewise_linear", "cyclic_group", "classification"})


@dataclass(frozen=True)
class MeasureInfo:
    """Metadata carried into every output row.

    direction: +1 when larger means more complex (further from generalising),
        -1 when larger means simpler.
    needs: which inputs compute() reads besides the model (see NEEDS): weights
        (ctx.init_state), data (probe/train/test tensors, activations, metrics),
        gradients (it runs backward passes). Only these are given to it.
    cost: a key of COST_TIERS.
    stochastic: True when compute() draws from ctx.generator; check_measure
        fails a measure that is not declared stochastic and reads it.
    applies_to: "any", or a restriction the harness checks against the task
        ("piecewise_linear": ReLU-family nets only; "cyclic_group": tasks whose
        inputs are elements of Z_p; "classification": tasks with class logits).
    causal: False for quantities not observable at prediction time (the
        oracle); such measures are shown on the leaderboard but not ranked.
    direction_source: where the direction comes from (a paper, or the
        measure's definition), fixed before any result is seen
        (docs/protocol.md, "Directions"). Every built-in measure has one;
        ``check-measure`` notes a plugin without it.
    """

    name: str
    version: str
    direction: int
    needs: frozenset = frozenset({"weights"})
    cost: str = "cheap"
    stochastic: bool = False
    applies_to: str = "any"
    causal: bool = True
    baseline: bool = False
    reference: str = ""
    description: str = ""
    direction_source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "needs", frozenset(self.needs))
        problems = name_problems(self.name, self.version)
        if self.direction not in (1, -1):
            problems.append(f"direction must be +1 or -1, got {self.direction!r}")
        if not self.needs <= NEEDS:
            problems.append(f"needs {sorted(self.needs - NEEDS)} not in {sorted(NEEDS)}")
        if self.cost not in COST_TIERS:
            problems.append(f"cost {self.cost!r} not in {sorted(COST_TIERS)}")
        if self.applies_to not in APPLIES_TO:
            problems.append(f"applies_to {self.applies_to!r} not in {sorted(APPLIES_TO)}")
        if problems:
            raise UserError(f"invalid metadata for measure {self.name!r}: " + "; ".join(problems))

    def as_row(self) -> dict[str, Any]:
        """Flat metadata for CSV rows and the manifest."""
        return {
            "measure_version": self.version,
            "direction": self.direction,
            "needs": "+".join(sorted(self.needs)),
            "cost": self.cost,
            "stochastic": self.stochastic,
            "applies_to": self.applies_to,
            "causal": self.causal,
            "baseline": self.baseline,
            "direction_source": self.direction_source,
        }


@dataclass
class MeasureContext:
    """Everything a measure may read besides the model.

    Tensors are fixed per run (the probe set never changes across checkpoints
    of a run, and its size is fixed per task, since e.g. LMN grows with N).
    ``activations(model)`` returns every stage output of the model on the probe
    set, computed once per checkpoint and shared by all measures; ``shared(key, make)``
    does the same for any other value two measures compute alike (the exact region walk
    of ``linear-regions`` and ``activation-pattern-changes``).
    """

    task: Any  # complexity_bench.contracts.task.Task (Any avoids an import cycle)
    params: Mapping[str, Any]
    step: int
    seed: int
    probe_x: torch.Tensor
    probe_y: torch.Tensor
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    init_state: Mapping[str, torch.Tensor]
    metrics: Mapping[str, float] = field(default_factory=dict)
    generator: torch.Generator = field(default_factory=torch.Generator)  # cpu: see the module docstring
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def for_run(
        cls, task: Any, params: Mapping[str, Any], seed: int, data: Any, step: int,
        init_state: Mapping[str, torch.Tensor], metrics: Mapping[str, float] | None = None,
    ) -> "MeasureContext":
        """The context of one checkpoint of a run (``data`` is the run's TaskData)."""
        return cls(
            task=task, params=params, step=step, seed=seed,
            probe_x=data.probe_x, probe_y=data.probe_y,
            x_train=data.x_train, y_train=data.y_train, x_test=data.x_test, y_test=data.y_test,
            init_state=init_state, metrics=dict(metrics or {}),
        )

    def for_measure(self, name: str) -> "MeasureContext":
        """A copy whose generator is seeded by (run seed, step, measure name).

        The activation cache is shared with the original.
        """
        digest = hashlib.sha256(f"{self.seed}/{self.step}/{name}".encode()).digest()
        # cpu: the same draws on every device; measures move them to the model's (module docstring)
        gen = torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") & (2**63 - 1))
        return replace(self, generator=gen, _cache=self._cache)

    def restricted_to(self, needs: Iterable[str], name: str = "this measure") -> "MeasureContext":
        """A copy holding only what ``needs`` declares (see NEEDS); the rest raises MissingData when read."""
        needs = frozenset(needs)
        withheld: dict[str, Any] = {}
        if "data" not in needs:
            why = f"{name} reads data (probe, train or test tensors, activations or metrics) but its needs lack 'data'"
            blank = missing(why, label="data")
            withheld.update(probe_x=blank, probe_y=blank, x_train=blank, y_train=blank, x_test=blank, y_test=blank,
                            metrics=MissingMapping(why), _cache={})  # cached activations are data too
        if "weights" not in needs:
            why = f"{name} reads the initial weights (ctx.init_state) but its needs lack 'weights'"
            withheld.update(init_state=MissingMapping(why))
        return replace(self, **withheld) if withheld else self

    def shared(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """``make()``, computed once per checkpoint and shared by every measure that asks
        with an equal ``key``: the key names everything the value depends on besides the
        checkpoint (e.g. ``(what, id(model), stage)``), so equal keys mean equal values."""
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def private_copy(self) -> "MeasureContext":
        """A copy holding the shared values computed so far, whose own computations are not
        shared back: timing measures one by one (measure_costs.py), each pays its own work."""
        return replace(self, _cache=dict(self._cache))

    def activations(self, model: nn.Module) -> list[torch.Tensor]:
        """Outputs of every stage of ``model`` on the probe set (no grad, cached)."""

        def stage_outputs() -> list[torch.Tensor]:
            with torch.no_grad():
                return [h.detach() for h in model.stage_outputs(self.probe_x)]

        return self.shared(("activations", id(model)), stage_outputs)


def compute_measure(m: "Measure", model: nn.Module, ctx: MeasureContext) -> float | dict[str, float]:
    """``m.compute`` as every caller runs it: on its own seeded generator, with only the inputs its
    ``needs`` declare, and with autograd on only when it declares gradients."""
    restricted = ctx.for_measure(m.name).restricted_to(m.info.needs, repr(m.name))
    with torch.set_grad_enabled("gradients" in m.info.needs):
        return m.compute(model, restricted)


class Measure:
    """Base class: set ``info`` and implement ``compute``."""

    info: MeasureInfo

    def compute(self, model: nn.Module, ctx: MeasureContext) -> float | dict[str, float]:
        raise NotImplementedError

    def applicable(self, task: Any, model: nn.Module | None = None) -> bool:
        """Whether this measure applies to the task (checked before computing)."""
        rule = self.info.applies_to
        if rule == "any":
            return True
        return bool(task.has_property(rule))

    @property
    def name(self) -> str:
        return self.info.name

    def __repr__(self) -> str:
        return f"<measure {self.info.name} v{self.info.version}>"


class FunctionMeasure(Measure):
    """A measure made from a plain function by :func:`measure`."""

    def __init__(self, fn: Callable[[nn.Module, MeasureContext], Any], info: MeasureInfo):
        self.fn = fn
        self.info = info
        self._cb_origin = _fn_origin(fn)

    def compute(self, model: nn.Module, ctx: MeasureContext) -> float | dict[str, float]:
        return self.fn(model, ctx)


def _fn_origin(fn: Callable) -> str:
    code = getattr(fn, "__code__", None)
    return f"{code.co_filename}:{code.co_firstlineno}" if code else repr(fn)


def _adopt(obj: object) -> None:
    if isinstance(obj, type) and issubclass(obj, Measure):
        obj = obj()
    if isinstance(obj, Measure) and obj.info.name not in MEASURES.snapshot():
        MEASURES.add(obj.info.name, obj)


MEASURES: Registry[Measure] = Registry(
    "measure", "complexity_bench.measures", "complexity_bench.measures", adopt=_adopt
)


def register_measure(cls: type[Measure]) -> type[Measure]:
    """Class decorator: instantiate and register a Measure subclass."""
    instance = cls()
    if not isinstance(getattr(instance, "info", None), MeasureInfo):
        raise UserError(f"{cls.__qualname__} must set `info = MeasureInfo(...)`")
    MEASURES.add(instance.info.name, instance)
    return cls


def measure(
    *,
    name: str,
    version: str,
    direction: int,
    needs: Iterable[str] = ("weights",),
    cost: str = "cheap",
    stochastic: bool = False,
    applies_to: str = "any",
    causal: bool = True,
    baseline: bool = False,
    reference: str = "",
    description: str = "",
    direction_source: str = "",
) -> Callable[[Callable], Callable]:
    """Function decorator: register ``fn(model, ctx)`` as a measure; returns fn unchanged."""
    info = MeasureInfo(
        name=name, version=version, direction=direction, needs=frozenset(needs), cost=cost,
        stochastic=stochastic, applies_to=applies_to, causal=causal, baseline=baseline,
        reference=reference, description=description, direction_source=direction_source,
    )

    def wrap(fn: Callable) -> Callable:
        MEASURES.add(name, FunctionMeasure(fn, info))
        return fn

    return wrap


def get_measure(name: str) -> Measure:
    return MEASURES.get(name)
