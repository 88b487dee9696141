"""The stacked model of the cohort engine: every run's weights in one flat buffer, with
per-layer views along a leading run axis, and the forward pass over them (engine/cohort.py).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from complexity_bench.contracts.models import PairEmbedding
from complexity_bench.engine.stacked_mlp import stacked_forward


# --------------------------------------------------------------------------- batched model
# Activations per chunk of runs (elements of the widest layer's output over the
# train batch). On a CPU a cohort whose activations outgrow the core's caches runs
# its elementwise ops (activations and their backward) several times slower per
# element than one run does, which cancels the batching gain on the paper's net;
# chunks of runs keep each layer's output in cache while still sharing one
# optimizer step. The value comes from the measurements in docs/performance.md
# (the paper's net fastest with 2 runs per chunk, the smallest net unchunked).
# A GPU takes the whole cohort at once.
CPU_CHUNK_ELEMENTS = 160_000


class StackedModel:
    """The stages of R models with the same architecture, weights stacked on dim 0.

    All weights live in one flat buffer laid out parameter by parameter
    (``[W1 of run 0..R-1, b1 of run 0..R-1, ...]``), gradients in a second one
    of the same layout, so the optimizer is a handful of elementwise operations
    on two vectors instead of a handful per parameter tensor (per-op overhead
    is what the smallest nets pay for). ``params[name]`` is a contiguous
    ``(R, *shape)`` leaf view of the buffer, named like the StagedModel's
    state_dict key, so checkpoints come out as ordinary state dicts.
    """

    # RunResult.engine of the runs it trains; whether stacked_mlp's hand-written backward may apply
    engine = "cohort"
    explicit_backward = True
    # activations per chunk of runs on a CPU (see CPU_CHUNK_ELEMENTS); None: no chunks
    chunk_elements: int | None = CPU_CHUNK_ELEMENTS

    def __init__(self, models: Sequence[nn.Module], device: torch.device, chunk_runs: int | None = None):
        proto = models[0]
        self.chunk_runs = chunk_runs
        self.names = [n for n, _ in proto.named_parameters()]
        self.shapes = {n: tuple(p.shape) for n, p in proto.named_parameters()}
        stacked = [torch.stack([dict(m.named_parameters())[n].detach() for m in models]) for n in self.names]
        self._build([t.to(device) for t in stacked])
        self._prepare(proto, device)

    def _prepare(self, proto: nn.Module, device: torch.device) -> None:
        """The per-stage plan of ``stacked_forward``: (kind, module, param names) per stage."""
        self.plan: list[tuple[str, nn.Module, tuple[str, ...]]] = []
        for i, s in enumerate(proto.stages):
            prefix = f"stages.{i}."
            if isinstance(s, nn.Linear):
                names = (prefix + "weight", prefix + "bias") if s.bias is not None else (prefix + "weight",)
                self.plan.append(("linear", s, names))
            elif isinstance(s, PairEmbedding):
                self.plan.append(("pair_embedding", s, (prefix + "embedding.weight",)))
            elif isinstance(s, nn.Embedding):
                self.plan.append(("embedding", s, (prefix + "weight",)))
            else:
                self.plan.append(("elementwise", s, ()))

    def _build(self, stacked: list[torch.Tensor]) -> None:
        self.runs = stacked[0].shape[0]
        self.flat = torch.cat([t.reshape(-1) for t in stacked])
        self.grad = torch.zeros_like(self.flat)
        self.params = self.views(self.flat)
        # Leaf views per chunk of runs (rows r0:r1 of every parameter are contiguous in
        # the layout). Autograd accumulates in place into an existing .grad, so
        # backward through any chunk fills its rows of self.grad.
        step = self.chunk_runs or self.runs
        self.chunks: list[tuple[int, int, dict[str, torch.Tensor]]] = []
        for r0 in range(0, self.runs, step):
            r1 = min(r0 + step, self.runs)
            leaves = {k: v.requires_grad_(True) for k, v in self.views(self.flat, r0, r1).items()}
            for name, g in self.views(self.grad, r0, r1).items():
                leaves[name].grad = g
            self.chunks.append((r0, r1, leaves))

    def views(self, flat: torch.Tensor, r0: int = 0, r1: int | None = None) -> dict[str, torch.Tensor]:
        """``(r1 - r0, *shape)`` views of runs r0:r1 of a buffer with this model's layout."""
        r1 = self.runs if r1 is None else r1
        out, off = {}, 0
        for name in self.names:
            size = math.prod(self.shapes[name])
            out[name] = flat[off + r0 * size:off + r1 * size].view(r1 - r0, *self.shapes[name])
            off += self.runs * size
        return out

    def per_element(self, values: torch.Tensor) -> torch.Tensor:
        """A per-run (R,) tensor spread over the flat layout (for per-run hyperparameters)."""
        return torch.cat([values.repeat_interleave(math.prod(self.shapes[n])) for n in self.names])

    def select(self, flat: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """A buffer with this model's layout restricted to runs ``rows``."""
        return torch.cat([v.index_select(0, rows).reshape(-1) for v in self.views(flat).values()])

    def keep(self, rows: torch.Tensor) -> None:
        """Drop runs: keep only ``rows`` (indices into the run axis)."""
        self._build([v.index_select(0, rows) for v in self.views(self.flat.detach()).values()])

    def forward(self, x: torch.Tensor, params: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """x: (r, n, ...) inputs, one slice per run -> (r, n, out), with ``params``
        (one chunk's leaves; default: all runs, as plain views)."""
        return stacked_forward(self.plan, self.params if params is None else params, x)


