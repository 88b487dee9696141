"""What a Tracker checks at a log call before it measures: one run's model, a usable probe, finite weights.

A Tracker measures one run, so every log must see the same architecture:
module names and types, and the names and shapes of parameters and buffers
(a different object of the same architecture, e.g. reloaded from a checkpoint,
is the same run). The probe must be a batch the model accepts; when it is not,
the message names the probe, not the model's layers. Weights that are NaN or
infinite (a diverged run) are recorded as such for every measure at that step,
not computed.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from complexity_bench.errors import UserError

Architecture = tuple[tuple[str, str], ...]


def architecture(model: nn.Module) -> Architecture:
    """(name, type) of every module, then (name, shape) of every parameter and buffer."""
    modules = tuple((f"module {name or '(root)'}", type(m).__name__) for name, m in model.named_modules())
    tensors = tuple((f"tensor {name}", str(tuple(t.shape))) for name, t in model.state_dict().items())
    return modules + tensors


def first_difference(before: Architecture, now: Architecture) -> str:
    """The first entry where two architectures differ, in words."""
    for (key_a, a), (key_b, b) in zip(before, now):
        if key_a != key_b:
            return f"{key_a} became {key_b}"
        if a != b:
            return f"{key_a} was {a}, now {b}"
    longer, which = (before, "is gone") if len(before) > len(now) else (now, "is new")
    return f"{longer[min(len(before), len(now))][0]} {which}"


def check_same_architecture(before: Architecture, model: nn.Module, step: int, first_step: int) -> None:
    """A UserError when ``model`` is not the architecture logged at ``first_step``."""
    now = architecture(model)
    if now != before:
        raise UserError(f"log(step={step}): the model's architecture differs from the one logged at step "
                        f"{first_step} ({first_difference(before, now)}); a Tracker measures one run: "
                        "use a new Tracker for another model")


def forward_on(model: nn.Module, x: torch.Tensor, argument: str) -> Any:
    """``model(x)`` without gradients; a UserError naming ``argument`` (e.g. "probe") when the model
    cannot run on it. Call with the model in eval mode."""
    try:
        with torch.no_grad():
            return model(x)
    except Exception as exc:  # noqa: BLE001 - whatever the model raises, the input is what does not fit
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"Data({argument}=...): the model cannot run on it (inputs of shape {tuple(x.shape)}, "
                        f"dtype {x.dtype}): {first}; pass a batch of the model's inputs") from None


def non_finite(state: dict[str, torch.Tensor]) -> str | None:
    """The name of the first floating-point tensor of ``state`` with a NaN or infinite entry, or None."""
    return next((name for name, t in state.items()
                 if t.is_floating_point() and not bool(torch.isfinite(t).all())), None)


def non_finite_rows(measures: list, step: int, tensor: str) -> list[dict[str, Any]]:
    """One missing value per measure at ``step``: the weights were not finite, nothing was computed."""
    error = f"non-finite weights: NaN or inf in {tensor} (the run has diverged); not measured"
    return [{"step": step, "measure": m.name, "value": float("nan"), "seconds": 0.0, "error": error}
            for m in measures]
