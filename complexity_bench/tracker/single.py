"""``complexity_bench.compute("lmn", model, probe=...)``: one measure on one model, no task, no run.

The same view of the model and the same context as a Tracker's log call
(tracker/view.py, tracker/context.py), but errors are raised, not recorded.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

import torch
from torch import nn

from complexity_bench.contracts.events import ACCURACY_THRESHOLD
from complexity_bench.errors import UserError
from complexity_bench.contracts.measure import MEASURES, Measure, compute_measure
from complexity_bench.tracker.context import OwnTask, make_context, missing
from complexity_bench.tracker.guard import untouched
from complexity_bench.tracker.view import in_view_names, make_view


def compute(
    measure: str | Measure,
    model: nn.Module,
    probe: torch.Tensor | None = None,
    train: tuple[torch.Tensor, torch.Tensor] | None = None,
    loss: str | Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = "cross_entropy",
    lmn_cut: Any = None,
    *,
    init_state: Mapping[str, torch.Tensor] | None = None,
    metrics: Mapping[str, float] | None = None,
    seed: int = 0,
    step: int = 0,
    properties: Iterable[str] = (),
) -> float | dict[str, float]:
    """The value of one registered measure (a name) or Measure object on ``model``.

    ``init_state`` is the model's initial ``state_dict()`` (for distance-from-init
    measures); ``metrics`` holds train/test loss and accuracy for the baselines
    that read them; ``seed`` and ``step`` seed a stochastic measure's generator
    as in the suite. Arguments and cut as for :class:`Tracker`. Returns a float,
    or a dict for a measure with sub-measures. The model is left unchanged.
    """
    m = MEASURES.get(measure) if isinstance(measure, str) else measure
    task = OwnTask("own", loss, ACCURACY_THRESHOLD, properties)
    with untouched(model):
        param = next(iter(model.parameters()), None)
        device = param.device if param is not None else torch.device("cpu")
        x = probe.to(device) if probe is not None else missing("probe=...")
        data = tuple(t.to(device) for t in train) if train is not None else (missing("train=(x, y)"),) * 2
        view = make_view(model, probe if probe is None else x, lmn_cut)
        if not m.applicable(task, view):
            raise UserError(f"measure {m.name!r} applies to {m.info.applies_to} tasks only")
        init = ({k: v.to(device) for k, v in in_view_names(view, model, dict(init_state)).items()}
                if init_state is not None else {})
        ctx = make_context(task, seed, step, x, data, init, metrics or {})
        return compute_measure(m, view, ctx)
