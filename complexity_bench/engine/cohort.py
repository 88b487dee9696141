"""The cohort engine: many runs of one task and architecture trained in lock-step.

``train_cohort(task, variants)`` gives the same :class:`RunResult` per variant as
``training.train_run`` (same losses, accuracies, events, checkpoints, within float
rounding), but trains every run at once as one batched computation:

- weights are stacked along a leading run axis, ``(R, out, in)``, and each Linear
  is one ``torch.baddbmm``; embeddings are one lookup into the stacked tables;
- gradients come from a hand-written backward (``stacked_mlp.py``) written into
  one flat gradient buffer; autograd only for tasks that bring their own loss;
- per-run train sets of different sizes (train fraction, split seed) are padded
  index tensors with per-sample weights ``1/n_r`` (0 on padding), so each run's
  loss is exactly its own mean and padding contributes no gradient;
- minibatches follow the loop's convention (``training.minibatches``: one
  generator per run, seeded from the run's seed);
- AdamW is torch's fused kernel, one call per block of runs sharing lr, weight
  decay and betas; SGD is written out with per-run hyperparameters as broadcast
  tensors (see :class:`BatchedOptimizer`);
- a run that stops (budget reached, or early stop after generalising) gets its
  last checkpoint, its record is closed and it is dropped from the stack, so it
  no longer costs compute.

Why: the smallest nets of the suite are dominated by per-operation overhead (a
100-sample 5-100-100-5 step is a few dozen tiny kernels); stacking R runs pays that
overhead once for all of them (measured speed-ups: docs/performance.md). On a GPU it
is what fills the device.
``cohort_compatible`` says when a group of variants can be trained this way; the
engine selection (select.py) falls back to the loop otherwise.

Modules: this one holds compatibility and the training loop; the stacked model is in
``cohort_model``, its optimizers in ``cohort_optimizer`` (AdamW through ``fused_adamw``,
the one private torch call), losses and gradients in ``cohort_gradients``, and the
stacked inputs in ``cohort_data``.
"""

from __future__ import annotations

import math
import time
from functools import partial
from typing import Any, Callable, Sequence

import torch
from torch import nn

from complexity_bench.contracts.events import detect_events
from complexity_bench.contracts.models import PairEmbedding
from complexity_bench.contracts.task import Recipe, Task, Variant
from complexity_bench.engine import step_progress
from complexity_bench.engine.denormals import flushing_denormals
from complexity_bench.engine.cohort_model import CPU_CHUNK_ELEMENTS, StackedModel
from complexity_bench.engine.cohort_optimizer import BatchedOptimizer
from complexity_bench.engine.cohort_gradients import (  # noqa: F401 (per_sample_loss: re-exported)
    compute_gradients, gradient_mode, overrides_loss, per_sample_loss,
)
from complexity_bench.engine.cohort_data import CohortRun, StackedData
from complexity_bench.engine.training import METRIC_COLUMNS, MemorisationCheckpoint, RunResult, minibatches, should_stop
from complexity_bench.contracts.task import LOSS_KINDS
from complexity_bench.engine.stacked_mlp import ACTIVATION_KERNELS

# Parameter-free elementwise stages: applied as-is to (R, n, d) activations, each with
# its hand-written backward in stacked_mlp.
ELEMENTWISE = tuple(ACTIVATION_KERNELS)


# --------------------------------------------------------------------------- compatibility
def _architecture(model: nn.Module) -> tuple | None:
    """A hashable description of a StagedModel's stages, or None if one is unsupported."""
    stages = getattr(model, "stages", None)
    if stages is None or len(list(model.buffers())) > 0:
        return None
    desc = []
    for s in stages:
        if isinstance(s, nn.Linear):
            desc.append(("linear", s.in_features, s.out_features, s.bias is not None))
        elif isinstance(s, PairEmbedding):
            desc.append(("pair_embedding", *s.embedding.weight.shape))
        elif isinstance(s, nn.Embedding):
            if s.padding_idx is not None or s.max_norm is not None:
                return None
            desc.append(("embedding", *s.weight.shape))
        elif type(s) in ELEMENTWISE:
            desc.append((type(s).__name__, repr(s)))
        else:
            return None
    # every parameter must belong to a stage we stack (nothing hidden elsewhere)
    covered = sum(p.numel() for s in stages for p in s.parameters())
    if covered != sum(p.numel() for p in model.parameters()):
        return None
    return tuple(desc)


def cohort_compatible(task: Task, variants: Sequence[Variant]) -> bool:
    """True when ``variants`` can be trained together by :func:`train_cohort`.

    Requires: one task; models that are StagedModels built only from Linear,
    (Pair)Embedding and elementwise activation stages, with the same shapes; the
    same optimizer kind (AdamW or SGD); data of the same shapes and dtypes; and a
    loss the engine can evaluate per sample (the three built-in kinds, or a task
    whose ``loss`` is overridden: then it is evaluated run by run). Builds each
    model and data set once (cheap for the suite's tasks).
    """
    return group_compatible(task, variants, _architecture)


def group_compatible(task: Task, variants: Sequence[Variant], architecture: Callable[[nn.Module], Any]) -> bool:
    """The rules of :func:`cohort_compatible`, with ``architecture(model)`` (a hashable
    description, or None when the engine cannot stack the model) deciding which models
    stack: every run's must be equal and not None."""
    if not variants:
        return False
    if any(v.task != task.name for v in variants):
        return False
    try:
        recipes = [task.recipe(v.param_dict) for v in variants]
        if len({r.optimizer for r in recipes}) != 1 or recipes[0].optimizer not in ("adamw", "sgd"):
            return False
        arch = None
        shapes = None
        for v in variants:
            params = v.param_dict
            a = architecture(task.make_model(params, v.seed))
            if a is None or (arch is not None and a != arch):
                return False
            arch = a
            d = task.make_data(params, v.seed)
            # grids may differ in length (seeded data of different sizes): padded per run
            s = (tuple(d.x.shape[1:]), d.x.dtype, tuple(d.y.shape[1:]), d.y.dtype)
            if shapes is not None and s != shapes:
                return False
            shapes = s
    except Exception:  # a variant the task cannot build is the loop's error to report
        return False
    return overrides_loss(task) or task.loss_kind in LOSS_KINDS





# --------------------------------------------------------------------------- the engine
def _hyper_key(recipe: Recipe) -> tuple[float, ...]:
    return (float(recipe.lr), float(recipe.weight_decay), *map(float, recipe.betas), float(recipe.momentum))



def _stack(task: Task, variants: Sequence[Variant], dev: torch.device, stacked: type[StackedModel] = StackedModel
           ) -> tuple[list[CohortRun], list[int], StackedModel, BatchedOptimizer, StackedData, str]:
    """Book-keeping per run (in ``variants`` order), the stack order ``live``
    (positions in ``runs`` of the stacked rows), the stacked model (of class
    ``stacked``), its optimizer, the stacked data and the gradient mode."""
    runs: list[CohortRun] = []
    models = []
    for v in variants:
        params = v.param_dict
        recipe = task.recipe(params)
        data = task.make_data(params, v.seed)
        models.append(task.make_model(params, v.seed))
        n_train = len(data.train_idx)
        runs.append(CohortRun(
            variant=v, recipe=recipe, data=data,
            eval_at=set(task.eval_steps(recipe.steps)), keep_at=set(task.checkpoint_steps(recipe.steps)),
            batches=minibatches(n_train, recipe.batch_size, v.seed),
            metrics={"step": [], **{c: [] for c in METRIC_COLUMNS}}, checkpoints={},
            full_batch=recipe.batch_size is None or recipe.batch_size >= n_train,
            at_memorisation=MemorisationCheckpoint(task.threshold),
        ))
    # runs sharing optimizer hyperparameters are neighbours (one fused AdamW call per block of them)
    live = sorted(range(len(runs)), key=lambda i: _hyper_key(runs[i].recipe))
    model = stacked([models[i] for i in live], dev,
                    chunk_runs=_chunk_runs(models[0], runs, dev, stacked.chunk_elements))
    opt = BatchedOptimizer([runs[i].recipe for i in live], model)
    data = StackedData(task, [runs[i] for i in live], dev, _widest(models[0]))
    return runs, live, model, opt, data, gradient_mode(task, model)


def lockstep_stepper(task: Task, variants: Sequence[Variant], device: str | torch.device | None = None,
                     stacked: type[StackedModel] = StackedModel) -> Callable[[], None]:
    """One training step of every variant per call, exactly as :func:`train_cohort`
    takes it, without evaluations, checkpoints or stopping (for timing: bench.py;
    the caller sets threads and denormal flushing)."""
    dev = torch.device(device) if device is not None else torch.device("cpu")
    runs, live, model, opt, data, mode = _stack(task, variants, dev, stacked)
    stacked_runs = [runs[i] for i in live]

    def step() -> None:
        xb, yb, wb = data.batch(stacked_runs)
        compute_gradients(task, model, xb, yb, wb, mode)
        opt.step(model)

    return step


@flushing_denormals  # as the loop: late-training denormals slow CPU steps
def train_cohort(task: Task, variants: Sequence[Variant], device: str | torch.device | None = None,
                 stacked: type[StackedModel] = StackedModel) -> list[RunResult]:
    """Train ``variants`` of ``task`` together; one RunResult per variant, in order.

    Equal run for run to ``[train_run(task, v) for v in variants]`` within float
    rounding (tests/test_cohort.py). ``RunResult.seconds`` is the cohort's wall
    time shared equally among its runs; ``engine`` is ``stacked.engine``
    (``"cohort"``). ``device`` (default CPU) is where the stacked computation runs;
    checkpoints are returned on the CPU. Call :func:`cohort_compatible` first.
    ``stacked`` is the class that stacks the models (vmap_cohort.py has the one for
    any vmap-able model; the book-keeping below is the same for both).
    """
    if not variants:
        return []
    dev = torch.device(device) if device is not None else torch.device("cpu")
    runs, live, model, opt, data, mode = _stack(task, variants, dev, stacked)
    # one index space: row j of every stacked tensor (weights, optimizer state, data) is stacked_runs[j]
    stacked_runs = [runs[i] for i in live]
    custom_loss = mode == "custom_loss"
    max_steps = max(r.recipe.steps for r in runs)
    # steps where some run evaluates, stores or ends: the per-run book-keeping runs only there
    marked = set().union(*(r.eval_at | r.keep_at | {r.recipe.steps} for r in runs))
    start = time.perf_counter()
    for step in range(max_steps + 1):
        stopping = _book_keep(task, step, stacked_runs, model, data, custom_loss) if step in marked else []
        if stopping:
            keep = [row for row in range(len(stacked_runs)) if row not in stopping]
            stacked_runs = [stacked_runs[row] for row in keep]
            if not stacked_runs:
                break
            rows_t = torch.tensor(keep, dtype=torch.long, device=dev)
            opt.keep_state(rows_t, model)  # selects with the old layout: before model.keep
            model.keep(rows_t)
            opt.set_hyper([r.recipe for r in stacked_runs], model)
            data = StackedData(task, stacked_runs, dev, data.widest)
        xb, yb, wb = data.batch(stacked_runs)
        compute_gradients(task, model, xb, yb, wb, mode)
        opt.step(model)
        step_progress.trained(len(stacked_runs))
    seconds = (time.perf_counter() - start) / len(runs)
    results = []
    for run in runs:
        m = run.metrics
        events = detect_events(m["step"], m["train_acc"], m["test_acc"], task.threshold, int(run.recipe.steps),
                               train_loss=m["train_loss"])
        results.append(RunResult(run.variant, m, run.checkpoints, seconds, engine=model.engine, events=events,
                                 device=dev.type))
    return results


def _book_keep(task: Task, step: int, stacked_runs: list[CohortRun], model: StackedModel, data: StackedData,
               custom_loss: bool) -> list[int]:
    """At a marked step: record the metrics of the runs that evaluate now, the
    checkpoints they keep (at T_mem, on their schedule, at their end); returns the
    rows (positions in ``stacked_runs``) of the runs that stop here."""
    need_eval = [row for row, run in enumerate(stacked_runs) if step in run.eval_at]
    if need_eval:
        evaluated = _evaluate(task, model, data, custom_loss)
        for row in need_eval:
            m = stacked_runs[row].metrics
            m["step"].append(step)
            for c in METRIC_COLUMNS:
                m[c].append(evaluated[c][row])
    weights = _HostWeights(model)
    for row in need_eval:
        run = stacked_runs[row]
        found = run.at_memorisation.observe(run.metrics, partial(weights.of_row, row))
        if found is not None:
            run.checkpoints[found[0]] = found[1]
    stopping = []
    for row, run in enumerate(stacked_runs):
        stop = step == run.recipe.steps or (
            step in run.eval_at and should_stop(run.metrics, task.threshold, run.recipe, step))
        if step in run.keep_at or stop:
            run.checkpoints[step] = weights.of_row(row)
        if stop:
            stopping.append(row)
    return stopping


class _HostWeights:
    """The stacked weights as they are now, copied to the host on first use: one
    device-to-host copy for all the rows a step keeps, not one per tensor or row."""

    def __init__(self, model: StackedModel):
        self.model = model
        self.views: dict[str, torch.Tensor] | None = None

    def of_row(self, row: int) -> dict[str, torch.Tensor]:
        if self.views is None:
            self.views = self.model.views(self.model.flat.detach().to("cpu"))
        return {k: v[row].clone() for k, v in self.views.items()}


def _widest(model: nn.Module) -> int:
    """Widest activation of a stacked architecture (features per sample): the widest
    Linear output or concatenated pair embedding, wherever it sits in the model."""
    return max([m.out_features for m in model.modules() if isinstance(m, nn.Linear)]
               + [m.embedding.weight.shape[1] * 2 for m in model.modules() if isinstance(m, PairEmbedding)], default=1)


def _chunk_runs(model: nn.Module, runs: list[CohortRun], device: torch.device,
                chunk_elements: int | None = CPU_CHUNK_ELEMENTS) -> int | None:
    if device.type != "cpu" or chunk_elements is None:
        return None
    batch = max(len(r.data.train_idx) if r.full_batch else r.recipe.batch_size for r in runs)
    most = max(1, chunk_elements // max(batch * _widest(model), 1))
    # equal chunks (8 runs, at most 6 a chunk: 4 + 4, not 6 + 2): each chunk costs the same overhead
    return math.ceil(len(runs) / math.ceil(len(runs) / most))


@torch.no_grad()
def _evaluate(task: Task, model: StackedModel, data: StackedData, custom_loss: bool) -> dict[str, list[float]]:
    """Train/test loss and accuracy of every live run, as the loop computes them."""
    # evaluation sees every train and test row, often far more than a training batch:
    # its own chunks of runs, sized like the training chunks (CPU_CHUNK_ELEMENTS)
    step = data.eval_chunk or model.runs
    out = torch.cat([model.forward(data.eval_x[r0:r0 + step], model.views(model.flat, r0, min(r0 + step, model.runs)))
                     for r0 in range(0, model.runs, step)])
    y = data.eval_y
    rows: dict[str, list[float]] = {}
    r, n = out.shape[:2]
    # task.correct is per sample: one call over all runs' outputs
    correct = task.correct(out.reshape(r * n, *out.shape[2:]), y.reshape(r * n, *y.shape[2:])).view(r, n).float()
    if not custom_loss:
        per = per_sample_loss(task, out, y)
    for split, count, total in (("train", data.train_count, data.n_train), ("test", data.test_count, data.n_test)):
        if custom_loss:  # the task's own loss, run by run, on exactly the loop's samples
            sets = data.eval_train_idx if split == "train" else data.eval_test_idx
            rows[f"{split}_loss"] = [float(task.loss(out[j][s], y[j][s])) for j, s in enumerate(sets)]
        else:
            rows[f"{split}_loss"] = ((per * count).sum(1) / total).tolist()
        # integer hit counts / n in float32: the same rounding as the loop's float mean of 0/1
        rows[f"{split}_acc"] = ((correct * count).sum(1) / total).tolist()
    return rows
