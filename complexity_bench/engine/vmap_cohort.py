"""The generic cohort engine: any vmap-able model, many runs in lock-step.

The hand-written engine (cohort.py + stacked_mlp.py) covers chains of Linear,
embedding and elementwise stages. Everything else (the transformer of
``modadd-transformer``, a plugin task's own module) trains here:

- the R runs' parameters are stacked along a leading run axis in the same flat
  buffer layout as :class:`cohort.StackedModel` (one buffer for weights, one for
  gradients), and the forward pass is ``torch.func.vmap`` over
  ``torch.func.functional_call(model, params_r, (x_r,))``, whatever the model's
  modules are: on a GPU one batched computation for all runs; on a CPU in chunks
  of runs sized for the caches, as the hand-written engine does (one transformer
  run per chunk, called without vmap: see ``VmapStackedModel``);
- gradients: autograd through that vmapped forward, accumulated straight into the
  gradient buffer (cohort.compute_gradients, mode "autograd");
- AdamW / SGD with per-run learning rate, weight decay and betas, per-run train sets
  (padded index sets with loss weights 1/n_r over the shared input grid), minibatches,
  evaluation, checkpoints, early stop and dropping finished runs: exactly the
  hand-written engine's, because this module only swaps the stacked model class and
  ``cohort.train_cohort`` does the rest. Its book-keeping follows the reference loop's
  conventions (training.py's module docstring) through training.py's own helpers
  (``should_stop``, ``METRIC_COLUMNS``, ``minibatches``).

Tested run for run against ``training.train_run`` in tests/test_vmap_cohort.py.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn
from torch.func import functional_call, vmap

from complexity_bench.engine.cohort import StackedModel, group_compatible, lockstep_stepper, train_cohort
from complexity_bench.contracts.task import Task, Variant
from complexity_bench.engine.training import RunResult


class VmapStackedModel(StackedModel):
    """R copies of one model, parameters stacked, run by ``vmap(functional_call)``.

    Buffers (if any) are not stacked: :func:`vmap_compatible` requires them equal
    in every run, and the prototype's are used.
    """

    engine = "vmap-cohort"
    explicit_backward = False  # autograd through the vmapped forward
    # Chunks of runs on a CPU as the hand-written engine sizes them (CPU_CHUNK_ELEMENTS;
    # one run per chunk for the transformer): a chunk of many runs' activations leaves
    # the caches, and its elementwise ops run slower per element than the loop's
    # (measurements: docs/performance.md, "The generic (vmap) cohort engine").

    def _prepare(self, proto: nn.Module, device: torch.device) -> None:
        self.plan = []
        self.proto = proto.to(device)  # only its buffers and its forward are used
        self._batched = vmap(lambda p, x: functional_call(self.proto, p, (x,)))

    def forward(self, x: torch.Tensor, params: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """x: (r, n, ...) inputs, one slice per run -> (r, n, ...) outputs."""
        params = self.params if params is None else params
        if x.shape[0] == 1:
            # one run (a CPU chunk): the plain call. vmap would turn each of its matmuls
            # into a batch-of-one bmm, slower than the loop's mm on the transformer
            # (docs/performance.md); gradients still reach the stacked leaves
            return functional_call(self.proto, {k: v[0] for k, v in params.items()}, (x[0],)).unsqueeze(0)
        return self._batched(params, x)


def parameter_layout(model: nn.Module) -> tuple | None:
    """Names, shapes and dtypes of the parameters, and the buffers' values: equal for
    models that stack; None when the model has no parameters."""
    params = tuple((n, tuple(p.shape), p.dtype) for n, p in model.named_parameters())
    if not params:
        return None
    buffers = tuple((n, tuple(b.shape), b.dtype, tuple(b.flatten().tolist())) for n, b in model.named_buffers())
    return params, buffers


def vmaps_like_loop(model: nn.Module, x: torch.Tensor) -> bool:
    """True when ``vmap(functional_call)`` over two stacked copies of ``model`` gives
    the plain forward's output on ``x`` (a few inputs): the model has no operation
    that vmap rejects and no forward that depends on the batch as a whole."""
    try:
        params = {n: torch.stack([p.detach()] * 2) for n, p in model.named_parameters()}
        with torch.no_grad():
            got = vmap(lambda p, xb: functional_call(model, p, (xb,)))(params, torch.stack([x, x]))
            ref = model(x)
        return got.shape[1:] == ref.shape and bool(torch.allclose(got[0], ref, rtol=1e-4, atol=1e-5))
    except Exception:  # whatever vmap cannot batch: the loop trains this model
        return False


def vmap_compatible(task: Task, variants: Sequence[Variant]) -> bool:
    """True when :func:`train_vmap_cohort` can train ``variants`` together: the
    rules of ``cohort.cohort_compatible`` (one task, one optimizer kind, data of one
    shape, a per-sample loss), with models of equal parameter layout and buffers
    whose forward pass vmaps (checked on the first run's first inputs)."""
    if not group_compatible(task, variants, parameter_layout):
        return False
    v = variants[0]
    params = v.param_dict
    try:
        model, data = task.make_model(params, v.seed), task.make_data(params, v.seed)
    except Exception:  # a variant the task cannot build is the loop's error to report
        return False
    return vmaps_like_loop(model, data.x[:4])


def train_vmap_cohort(task: Task, variants: Sequence[Variant], device: str | torch.device | None = None
                      ) -> list[RunResult]:
    """Train ``variants`` together; one RunResult per variant, in order, equal run for
    run to ``training.train_run`` within float rounding; ``engine`` is "vmap-cohort".
    Call :func:`vmap_compatible` first."""
    return train_cohort(task, variants, device, stacked=VmapStackedModel)


def vmap_stepper(task: Task, variants: Sequence[Variant], device: Any = None):
    """One lock-step training step of every variant per call (for timing: bench.py)."""
    return lockstep_stepper(task, variants, device, stacked=VmapStackedModel)
