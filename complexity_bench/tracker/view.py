"""How the Tracker sees a user's model: as a :class:`StagedModel` whenever it can.

The suite's measures cut task models at ``input_stage`` (after embeddings) and
``hidden_stage`` (after the first hidden activation; where LMN and the
representation measures look). A user's model has no such indices, so the
Tracker builds a *view*: an object with the StagedModel interface whose stages
are the user's own modules (weights shared, nothing copied, nothing changed).

1. A StagedModel is its own view.
2. An ``nn.Sequential``, or any module whose children, applied in order,
   reproduce its forward bit for bit on the probe set and hold all of its
   parameters, becomes ``StagedModel(stages)`` (nested Sequentials flattened).
   ``input_stage`` skips leading embeddings (and shape-only modules after them);
   ``hidden_stage`` is StagedModel's default, the paper's cut, unless
   ``lmn_cut`` names another one. Measures then see exactly what they would
   see on a task model with the same stages.
3. Any other model with ``lmn_cut`` becomes a :class:`CutView`: two stages,
   "the model up to the cut" (read with a forward hook) and "the module after
   the cut", which must map the cut's output to the model's output.
4. Any other model without a cut is used as it is; measures that need a cut
   (``lmn``, ``effective-rank-repr``, ``linear-regions``) then fail with their
   own error, which the Tracker turns into a skip or a clear error.

``lmn_cut`` is a module ``b`` (the samples are ``b``'s input, ``b`` maps them
to the logits), a pair ``(a, b)`` (the samples are ``a``'s output), or a stage
index of a staged view.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn

from complexity_bench.errors import UserError
from complexity_bench.contracts.models import PIECEWISE_LINEAR, StagedModel

# Modules that only reshape: region counting and interpolation start after them (on flat vectors).
SHAPE_ONLY = (nn.Flatten, nn.Unflatten, nn.Identity)


def flat_stages(module: nn.Module) -> list[nn.Module]:
    """``module``'s stages: nested ``nn.Sequential`` containers flattened, anything else as one stage."""
    if isinstance(module, nn.Sequential):
        return [s for child in module for s in flat_stages(child)]
    return [module]


def _has_embedding(module: nn.Module) -> bool:
    return any(isinstance(m, (nn.Embedding, nn.EmbeddingBag)) for m in module.modules())


def first_real_stage(stages: Sequence[nn.Module]) -> int:
    """Index of the first stage after the leading embeddings (and reshapes right after them)."""
    i = 0
    while i < len(stages) and _has_embedding(stages[i]):
        i += 1
    while i < len(stages) and isinstance(stages[i], SHAPE_ONLY):
        i += 1
    return i


def composed_stages(model: nn.Module, probe: torch.Tensor | None) -> list[nn.Module] | None:
    """Stages whose composition is ``model``'s forward, or None when that cannot be shown.

    A Sequential is its stages by definition. Another module qualifies when its
    children hold all of its parameters and, applied in registration order,
    give exactly ``model(probe)`` (checked bit for bit; run in eval mode by the caller).
    """
    if isinstance(model, nn.Sequential):
        return flat_stages(model)
    stages = [s for child in model.children() for s in flat_stages(child)]
    if not stages or probe is None:
        return None
    inside = {id(p) for s in stages for p in s.parameters()}
    if any(id(p) not in inside for p in model.parameters()):
        return None
    try:
        with torch.no_grad():
            h = probe
            for s in stages:
                h = s(h)
            out = model(probe)
    except Exception:  # noqa: BLE001 - children that do not chain simply mean "not composable"
        return None
    if isinstance(out, torch.Tensor) and isinstance(h, torch.Tensor) and out.shape == h.shape and torch.equal(out, h):
        return stages
    return None


def _cut_parts(cut: Any) -> tuple[nn.Module | None, nn.Module]:
    """(source or None, rest) from ``lmn_cut``: a module ``rest`` or a pair ``(source, rest)``."""
    if isinstance(cut, nn.Module):
        return None, cut
    if isinstance(cut, (tuple, list)) and len(cut) == 2 and all(isinstance(m, nn.Module) for m in cut):
        return cut[0], cut[1]
    raise UserError(
        "lmn_cut must be a module b (LMN's samples are b's input and b maps them to the logits), "
        f"a pair (a, b) of modules (the samples are a's output), or a stage index; got {cut!r}"
    )


def _index_of(stages: Sequence[nn.Module], module: nn.Module) -> int | None:
    return next((i for i, s in enumerate(stages) if s is module), None)


def staged_cut(stages: Sequence[nn.Module], cut: Any) -> int:
    """The ``hidden_stage`` that ``lmn_cut`` names in a list of stages."""
    if isinstance(cut, int) and not isinstance(cut, bool):
        if not 0 < cut < len(stages):
            raise UserError(f"lmn_cut={cut} is not a stage index between 1 and {len(stages) - 1}")
        return cut
    source, rest = _cut_parts(cut)
    rest_stages = flat_stages(rest)
    start = _index_of(stages, rest_stages[0])
    if start is None or [id(s) for s in stages[start:]] != [id(s) for s in rest_stages]:
        raise UserError(
            f"lmn_cut: {type(rest).__name__} must be the last part of the model (it maps the cut to the logits)"
        )
    if source is not None and (start == 0 or stages[start - 1] is not flat_stages(source)[-1]):
        raise UserError(f"lmn_cut=(a, b): {type(rest).__name__} does not directly follow {type(source).__name__}")
    return start


class _Stop(Exception):
    """Raised inside a hook to skip the rest of the forward pass once the cut's value is read."""


class _UpToCut(nn.Module):
    """The model from its input to the cut: a forward pass stopped by a hook.

    The model is held outside nn.Module's registry so the view's parameters are
    listed once, under the view's ``model.`` prefix.
    """

    def __init__(self, model: nn.Module, source: nn.Module | None, rest: nn.Module):
        super().__init__()
        object.__setattr__(self, "_parts", (model, source, rest))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        model, source, rest = self._parts
        seen: list[torch.Tensor] = []

        def at_output(module, inputs, output):
            seen.append(output)
            raise _Stop

        def at_input(module, inputs):
            seen.append(inputs[0])
            raise _Stop

        handle = source.register_forward_hook(at_output) if source is not None else rest.register_forward_pre_hook(at_input)
        try:
            model(x)
        except _Stop:
            pass
        finally:
            handle.remove()
        if not seen or not isinstance(seen[0], torch.Tensor):
            raise UserError("lmn_cut: the cut module was not called with a tensor in the model's forward pass")
        return seen[0]


class CutView(StagedModel):
    """A StagedModel-shaped view of any model with a cut: stages = (model up to the cut, *the rest).

    Parameters and state are the model's own (under the prefix ``model.``);
    ``forward`` is the model's. ``input_stage = hidden_stage = 1``: region counts,
    LMN and representation measures start at the cut. ``forward_from``,
    ``stage_outputs`` and ``tail`` are StagedModel's.
    """

    def __init__(self, model: nn.Module, source: nn.Module | None, rest: nn.Module):
        nn.Module.__init__(self)  # not StagedModel's: its ModuleList would list the model's modules twice
        self.model = model
        # a tuple of the model's own modules; the rest flattened as a StagedModel's stages are
        # (LMN's affine shortcut needs it)
        self.stages = (_UpToCut(model, source, rest), *flat_stages(rest))
        self.input_stage = self.hidden_stage = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    @property
    def piecewise_linear(self) -> bool:
        leaves = [m for m in self.model.modules() if not list(m.children())]
        return all(isinstance(m, (nn.Linear, nn.Embedding, *PIECEWISE_LINEAR, *SHAPE_ONLY)) for m in leaves)


def check_cut_view(view: CutView, probe: torch.Tensor) -> None:
    """The module after the cut must turn the cut's output into the model's output."""
    try:
        with torch.no_grad():
            out, again = view.model(probe), view.forward_from(probe, 0)
        same = isinstance(out, torch.Tensor) and out.shape == again.shape and torch.allclose(out, again)
    except RuntimeError:  # the cut's output does not even fit the module after it
        same = False
    if not same:
        raise UserError(
            f"lmn_cut: {type(view.stages[0]._parts[2]).__name__} applied to the cut does not give the model's output "
            "on the probe set; the second module must map the cut to the logits"
        )


def make_view(model: nn.Module, probe: torch.Tensor | None, cut: Any = None) -> nn.Module:
    """The view of ``model`` the measures are computed on (see the module docstring)."""
    if isinstance(model, StagedModel) and cut is None:
        return model
    stages = list(model.stages) if isinstance(model, StagedModel) else composed_stages(model, probe)
    if stages is not None:
        input_stage = model.input_stage if isinstance(model, StagedModel) else first_real_stage(stages)
        hidden = staged_cut(stages, cut) if cut is not None else None
        return StagedModel(stages, input_stage=input_stage, hidden_stage=hidden)
    if cut is None:
        return model
    if isinstance(cut, int) and not isinstance(cut, bool):
        raise UserError(
            f"lmn_cut={cut}: a stage index needs an nn.Sequential or StagedModel, and {type(model).__name__}'s "
            "children do not compose to its forward; pass the module after the cut instead"
        )
    view = CutView(model, *_cut_parts(cut))
    if probe is not None:
        check_cut_view(view, probe)
    return view


def in_view_names(view: nn.Module, model: nn.Module, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``state`` (keyed by ``model``'s own names, e.g. its ``state_dict()``) re-keyed by the view's names."""
    if view is model:
        return dict(state)
    own = {id(t): n for n, t in [*model.named_parameters(), *model.named_buffers()]}
    out = {}
    for name, t in [*view.named_parameters(), *view.named_buffers()]:
        if own.get(id(t)) in state:
            out[name] = state[own[id(t)]]
    return out
