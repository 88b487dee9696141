"""The groups of a Tracker's settings: the data measures read, when to log, how the run is labelled.

    Tracker("lmn,l2", Data(probe=x[:128], train=(x, y), test=(xt, yt)),
            schedule=Schedule(steps=3000), run=RunLabel(task="my-task", seed=1, hparams={"wd": 1.0}))

Each group checks its own values when it is made, so a wrong one is a
``UserError`` naming the setting before anything is logged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any, Callable, Iterable, Mapping

import torch

from complexity_bench.contracts.events import ACCURACY_THRESHOLD, CONSECUTIVE
from complexity_bench.errors import UserError

Pair = tuple[torch.Tensor, torch.Tensor]
Loss = str | Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def whole_number(value: Any, what: str, minimum: int | None = None) -> int:
    """``value`` as an int when it is a whole number (>= ``minimum`` if given; bools are not numbers here)."""
    ok = isinstance(value, Integral) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not ok or (minimum is not None and value < minimum):
        at_least = "" if minimum is None else f" >= {minimum}"
        raise UserError(f"{what} must be a whole number{at_least}, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class Data:
    """What measures and metrics read besides the model.

    probe: fixed inputs (N, ...) of the model, the same at every log (LMN, regions,
        representation rank); keep N fixed across runs you compare (LMN grows with N;
        the suite uses 128).
    train: (x, y), for the measures that read it and the train metrics ``log`` is not given.
    test: (x, y), only for the test metrics ``log`` is not given; measures never read it.
    loss: "cross_entropy", "mse", "hinge", or a callable(outputs, targets) -> mean loss.
    properties: task properties measures may require, e.g. {"cyclic_group"}.
    init_state: the model's ``state_dict()`` at initialisation (default: the first log's weights).
    """

    probe: torch.Tensor | None = None
    train: Pair | None = None
    test: Pair | None = None
    loss: Loss = "cross_entropy"
    properties: Iterable[str] = ()
    init_state: Mapping[str, torch.Tensor] | None = None

    def __post_init__(self) -> None:
        if self.probe is not None and not isinstance(self.probe, torch.Tensor):
            raise UserError(f"probe must be a tensor of model inputs, got {type(self.probe).__name__}")
        for name in ("train", "test"):
            pair = getattr(self, name)
            if pair is None:
                continue
            if not isinstance(pair, (tuple, list)) or len(pair) != 2 \
                    or not all(isinstance(t, torch.Tensor) for t in pair):
                raise UserError(f"{name} must be a pair (x, y) of tensors")
            object.__setattr__(self, name, tuple(pair))


@dataclass(frozen=True)
class Schedule:
    """When the Tracker logs, and how its logs are read into events.

    steps: the planned number of optimizer steps: ``due`` then follows the suite's
        checkpoint schedule; without it ``due`` is open-ended, linear every ``every`` steps.
    threshold: the accuracy q of T_mem / T_gen, in (0, 1].
    consecutive: how many logs in a row at accuracy >= q make the event.
    """

    steps: int | None = None
    every: int = 100
    threshold: float = ACCURACY_THRESHOLD
    consecutive: int = CONSECUTIVE

    def __post_init__(self) -> None:
        if self.steps is not None:
            object.__setattr__(self, "steps", whole_number(self.steps, "steps (the planned number of steps)", 1))
        object.__setattr__(self, "every", whole_number(self.every, "every (steps between logs)", 1))
        object.__setattr__(self, "consecutive", whole_number(self.consecutive, "consecutive (logs in a row)", 1))
        t = self.threshold
        if isinstance(t, bool) or not isinstance(t, Real) or not (0 < t <= 1) or math.isnan(t):
            raise UserError(f"threshold is the accuracy q of T_mem / T_gen, between 0 (excluded) and 1; got {t!r}")


@dataclass(frozen=True)
class RunLabel:
    """How the run is labelled in the saved files.

    task: the task name ``score`` groups runs by; run_id: default a content address of
    (task, hparams, seed); seed: also seeds stochastic measures as the suite does;
    hparams: e.g. {"weight_decay": 1.0}: run columns, and the axes the forecast compares along.
    """

    task: str = "own"
    run_id: str | None = None
    seed: int = 0
    hparams: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "seed", whole_number(self.seed, "seed"))
        object.__setattr__(self, "hparams", dict(self.hparams or {}))
