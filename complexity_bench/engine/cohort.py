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
overhead once for all of them (3.3-4x on that net, docs/performance.md). On a GPU it
is what fills the device.
``cohort_compatible`` says when a group of variants can be trained this way; the
harness falls back to the loop otherwise.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from complexity_bench.contracts.events import detect_events
from complexity_bench.contracts.models import PairEmbedding
from complexity_bench.contracts.task import Recipe, Task, TaskData, Variant
from complexity_bench.engine.denormals import flushing_denormals
from complexity_bench.engine.training import METRIC_COLUMNS, MemorisationCheckpoint, RunResult, minibatches, should_stop
from complexity_bench.contracts.task import LOSS_KINDS
from complexity_bench.engine.stacked_mlp import ACTIVATION_KERNELS, explicit_gradients, stacked_forward, supports_explicit

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
    return _overrides_loss(task) or task.loss_kind in LOSS_KINDS


def _overrides_loss(task: Task) -> bool:
    return type(task).loss is not Task.loss


# --------------------------------------------------------------------------- batched model
# Activations per chunk of runs (elements of the widest layer's output over the
# train batch). On a CPU a cohort whose activations outgrow the core's caches runs
# its elementwise ops (activations and their backward) several times slower per
# element than one run does, which cancels the batching gain on the paper's net;
# chunks of runs keep each layer's output in cache while still sharing one
# optimizer step. Measured on the 2-core AMD EPYC (docs/performance.md): the
# paper's net was fastest with 2 runs per chunk (768 x 100 activations each), the
# 5-100-100-5 net with no chunking at all. A GPU takes the whole cohort at once.
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


# --------------------------------------------------------------------------- optimizers
class BatchedOptimizer:
    """AdamW / SGD over a StackedModel's flat buffer with per-run hyperparameters.

    AdamW runs torch's fused AdamW kernel (the one behind
    ``torch.optim.AdamW(fused=True)``): one pass over memory instead of the
    single-tensor path's eight, once per block of neighbouring runs that share lr,
    weight decay and betas (``train_cohort`` orders the stack so that such runs are
    neighbours). Its rounding differs from the loop's single-tensor AdamW by about
    one float32 ulp per step (checked in tests/test_cohort.py).
    SGD follows torch.optim's single-tensor formulas operation by operation; a
    hyperparameter shared by every run stays a python float (it then rounds as in
    torch.optim), one that differs becomes a per-element tensor.
    """

    def __init__(self, recipes: Sequence[Recipe], model: StackedModel, eps: float = 1e-8):
        self.kind = recipes[0].optimizer
        self.eps = eps
        if self.kind == "adamw":
            self.state = {"exp_avg": torch.zeros_like(model.flat), "exp_avg_sq": torch.zeros_like(model.flat)}
        else:
            self.state = {"buf": torch.zeros_like(model.flat)}
        self.step_count = 0  # lock-step: every live run has taken the same number of steps
        # the fused kernel reads the step from a float tensor, as torch.optim keeps it
        self.step_tensor = torch.zeros((), dtype=torch.float32, device=model.flat.device)
        self.set_hyper(recipes, model)

    def _per_run(self, values: Sequence[float], model: StackedModel) -> float | torch.Tensor:
        if all(v == values[0] for v in values):
            return float(values[0])
        return model.per_element(torch.tensor(values, dtype=torch.float32, device=model.flat.device))

    def set_hyper(self, recipes: Sequence[Recipe], model: StackedModel) -> None:
        """Hyperparameters of the runs in the stack, in order (call again after ``model.keep``)."""
        if self.kind == "adamw":
            # (lr, weight decay, betas) -> views of params, grads, exp_avg, exp_avg_sq of a block of runs
            keys = [(float(r.lr), float(r.weight_decay), float(r.betas[0]), float(r.betas[1])) for r in recipes]
            buffers = (model.flat, model.grad, self.state["exp_avg"], self.state["exp_avg_sq"])
            self.groups = []
            r0 = 0
            for r1 in range(1, len(keys) + 1):
                if r1 == len(keys) or keys[r1] != keys[r0]:
                    self.groups.append((keys[r0], [list(model.views(b, r0, r1).values()) for b in buffers]))
                    r0 = r1
            return
        pr = lambda vals: self._per_run(vals, model)  # noqa: E731
        self.lr = pr([r.lr for r in recipes])
        self.wd = pr([r.weight_decay for r in recipes])
        self.any_decay = any(r.weight_decay != 0 for r in recipes)
        self.momentum = pr([r.momentum for r in recipes])
        self.any_momentum = any(r.momentum != 0 for r in recipes)

    def keep_state(self, rows: torch.Tensor, model: StackedModel) -> None:
        """Drop runs from the optimizer state (``model`` still has the old layout)."""
        self.state = {k: model.select(v, rows) for k, v in self.state.items()}

    @torch.no_grad()
    def step(self, model: StackedModel) -> None:
        self.step_count += 1
        if self.kind == "adamw":
            self._adamw()
        else:
            self._sgd(model.flat, model.grad)

    def _adamw(self) -> None:
        self.step_tensor.fill_(self.step_count)
        for (lr, wd, beta1, beta2), (p, g, m, v) in self.groups:
            torch._fused_adamw_(p, g, m, v, [], [self.step_tensor] * len(p), lr=lr, beta1=beta1, beta2=beta2,
                                weight_decay=wd, eps=self.eps, amsgrad=False, maximize=False)

    def _sgd(self, p: torch.Tensor, g: torch.Tensor) -> None:
        if self.any_decay:  # in place: the gradient buffer is rewritten before the next step
            g = g.add_(p, alpha=self.wd) if isinstance(self.wd, float) else g.add_(self.wd * p)
        if self.any_momentum:
            # torch starts the buffer at the first gradient; m * 0 + g is the same value
            buf = self.state["buf"]
            buf.mul_(self.momentum).add_(g)
            g = buf
        if isinstance(self.lr, float):
            p.add_(g, alpha=-self.lr)
        else:
            p.add_(g * -self.lr)


# --------------------------------------------------------------------------- losses
def per_sample_loss(task: Task, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(R, n) loss per sample whose mean over a run's samples is ``task.loss``."""
    r, n = out.shape[:2]
    kind = task.loss_kind
    if kind == "cross_entropy":
        return F.cross_entropy(out.reshape(r * n, -1), y.reshape(r * n), reduction="none").view(r, n)
    if kind == "mse":
        return (out - y).pow(2).reshape(r, n, -1).mean(-1)
    if kind == "hinge":
        return torch.clamp(1 - out.squeeze(-1) * y, min=0)
    raise ValueError(kind)


# --------------------------------------------------------------------------- gradients
def gradient_mode(task: Task, model: StackedModel) -> str:
    """How :func:`compute_gradients` differentiates: ``"explicit"`` (stacked_mlp's
    hand-written backward) where it can, else ``"autograd"``, or ``"custom_loss"``
    (autograd through the task's own loss, run by run)."""
    if _overrides_loss(task):
        return "custom_loss"
    return "explicit" if model.explicit_backward and supports_explicit(model.plan, task.loss_kind) else "autograd"


def compute_gradients(task: Task, model: StackedModel, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor,
                      mode: str) -> None:
    """Fill ``model.grad`` with the gradient of every live run's weighted batch loss
    (x, y, w: the step's inputs, targets and per-sample weights, stacked by run)."""
    if mode == "explicit":
        for r0, r1, leaves in model.chunks:
            grads = {name: leaf.grad for name, leaf in leaves.items()}
            explicit_gradients(model.plan, leaves, grads, x[r0:r1], y[r0:r1], w[r0:r1], task.loss_kind)
        return
    model.grad.zero_()
    for r0, r1, leaves in model.chunks:
        out = model.forward(x[r0:r1], leaves)
        yc, wc = y[r0:r1], w[r0:r1]
        if mode == "custom_loss":
            loss = sum(task.loss(out[j][wc[j] > 0], yc[j][wc[j] > 0]) for j in range(r1 - r0))
        else:
            loss = (per_sample_loss(task, out, yc) * wc).sum()
        loss.backward()


# --------------------------------------------------------------------------- the engine
@dataclass
class _Run:
    """Book-keeping of one run inside the cohort."""

    variant: Variant
    recipe: Recipe
    data: TaskData
    eval_at: set[int]
    keep_at: set[int]
    batches: Any  # iterator from training.minibatches
    metrics: dict[str, list]
    checkpoints: dict[int, dict[str, torch.Tensor]]
    full_batch: bool
    at_memorisation: MemorisationCheckpoint


def _hyper_key(recipe: Recipe) -> tuple[float, ...]:
    return (float(recipe.lr), float(recipe.weight_decay), *map(float, recipe.betas), float(recipe.momentum))


def _pad(rows: list[torch.Tensor], fill: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack 1-d index tensors of different lengths: (R, max) indices and a (R, max) validity mask."""
    width = max(len(t) for t in rows)
    idx = torch.full((len(rows), width), fill, dtype=torch.long)
    valid = torch.zeros(len(rows), width, dtype=torch.bool)
    for i, t in enumerate(rows):
        idx[i, :len(t)] = t
        valid[i, :len(t)] = True
    return idx, valid


def _stack(task: Task, variants: Sequence[Variant], dev: torch.device, stacked: type[StackedModel] = StackedModel
           ) -> tuple[list[_Run], list[int], StackedModel, BatchedOptimizer, _CohortData, str]:
    """Book-keeping per run (in ``variants`` order), the stack order ``live``
    (positions in ``runs`` of the stacked rows), the stacked model (of class
    ``stacked``), its optimizer, the stacked data and the gradient mode."""
    runs: list[_Run] = []
    models = []
    for v in variants:
        params = v.param_dict
        recipe = task.recipe(params)
        data = task.make_data(params, v.seed)
        models.append(task.make_model(params, v.seed))
        n_train = len(data.train_idx)
        runs.append(_Run(
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
    state = _CohortData(task, [runs[i] for i in live], dev, _widest(models[0]))
    return runs, live, model, opt, state, gradient_mode(task, model)


def lockstep_stepper(task: Task, variants: Sequence[Variant], device: str | torch.device | None = None,
                     stacked: type[StackedModel] = StackedModel) -> Callable[[], None]:
    """One training step of every variant per call, exactly as :func:`train_cohort`
    takes it, without evaluations, checkpoints or stopping (for timing: bench.py;
    the caller sets threads and denormal flushing)."""
    dev = torch.device(device) if device is not None else torch.device("cpu")
    runs, live, model, opt, state, mode = _stack(task, variants, dev, stacked)
    live_runs = [runs[i] for i in live]

    def step() -> None:
        xb, yb, wb = state.batch(live_runs)
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
    runs, live, model, opt, state, mode = _stack(task, variants, dev, stacked)
    custom_loss = mode == "custom_loss"
    max_steps = max(r.recipe.steps for r in runs)
    # steps where some run evaluates, stores or ends: the per-run book-keeping runs only there
    marked = set().union(*(r.eval_at | r.keep_at | {r.recipe.steps} for r in runs))
    start = time.perf_counter()
    for step in range(max_steps + 1):
        stopping = []
        if step in marked:
            need_eval = [j for j, i in enumerate(live) if step in runs[i].eval_at]
            if need_eval:
                rows = _evaluate(task, model, state, custom_loss)
                for j in need_eval:
                    m = runs[live[j]].metrics
                    m["step"].append(step)
                    for c in METRIC_COLUMNS:
                        m[c].append(rows[c][j])
            weights = None

            def host_weights() -> dict[str, torch.Tensor]:  # one device-to-host copy per step, not per tensor
                nonlocal weights
                if weights is None:
                    weights = model.views(model.flat.detach().to("cpu"))
                return weights

            for j in need_eval:
                run = runs[live[j]]
                found = run.at_memorisation.observe(run.metrics, lambda: {k: v[j].clone() for k, v in host_weights().items()})
                if found is not None:
                    run.checkpoints[found[0]] = found[1]
            for j, i in enumerate(live):
                run = runs[i]
                stop = step == run.recipe.steps or (
                    step in run.eval_at and should_stop(run.metrics, task.threshold, run.recipe, step))
                if step in run.keep_at or stop:
                    run.checkpoints[step] = {k: v[j].clone() for k, v in host_weights().items()}
                if stop:
                    stopping.append(j)
        if stopping:
            keep = [j for j in range(len(live)) if j not in stopping]
            live = [live[j] for j in keep]
            if not live:
                break
            rows_t = torch.tensor(keep, dtype=torch.long, device=dev)
            opt.keep_state(rows_t, model)  # selects with the old layout: before model.keep
            model.keep(rows_t)
            opt.set_hyper([runs[i].recipe for i in live], model)
            state = _CohortData(task, [runs[i] for i in live], dev, state.widest)
        xb, yb, wb = state.batch([runs[i] for i in live])
        compute_gradients(task, model, xb, yb, wb, mode)
        opt.step(model)
    seconds = (time.perf_counter() - start) / len(runs)
    results = []
    for run in runs:
        m = run.metrics
        events = detect_events(m["step"], m["train_acc"], m["test_acc"], task.threshold, int(run.recipe.steps))
        results.append(RunResult(run.variant, m, run.checkpoints, seconds, engine=model.engine, events=events,
                                 device=dev.type))
    return results


def _widest(model: nn.Module) -> int:
    """Widest activation of a stacked architecture (features per sample): the widest
    Linear output or concatenated pair embedding, wherever it sits in the model."""
    return max([m.out_features for m in model.modules() if isinstance(m, nn.Linear)]
               + [m.embedding.weight.shape[1] * 2 for m in model.modules() if isinstance(m, PairEmbedding)], default=1)


def _chunk_runs(model: nn.Module, runs: list[_Run], device: torch.device,
                chunk_elements: int | None = CPU_CHUNK_ELEMENTS) -> int | None:
    if device.type != "cpu" or chunk_elements is None:
        return None
    batch = max(len(r.data.train_idx) if r.full_batch else r.recipe.batch_size for r in runs)
    most = max(1, chunk_elements // max(batch * _widest(model), 1))
    # equal chunks (8 runs, at most 6 a chunk: 4 + 4, not 6 + 2): each chunk costs the same overhead
    return math.ceil(len(runs) / math.ceil(len(runs) / most))


class _CohortData:
    """Inputs of the live runs, stacked: the full grid for evaluation, the
    padded train sets for full-batch steps, and per-run minibatch assembly."""

    def __init__(self, task: Task, runs: list[_Run], device: torch.device, widest: int = 1):
        self.device = device
        self.widest = widest
        xs = [r.data.x for r in runs]
        ys = [r.data.y for r in runs]
        R = len(runs)
        shared = all(x is xs[0] or (x.shape == xs[0].shape and torch.equal(x, xs[0])) for x in xs) and \
            all(y is ys[0] or (y.shape == ys[0].shape and torch.equal(y, ys[0])) for y in ys)
        if shared:  # one copy, viewed R times: no memory per run
            self.x = xs[0].to(device).unsqueeze(0).expand(R, *xs[0].shape)
            self.y = ys[0].to(device).unsqueeze(0).expand(R, *ys[0].shape)
        else:  # per-run grids (seeded data), zero-padded to the longest; padding is never indexed
            n_max = max(len(x) for x in xs)
            self.x = torch.zeros(R, n_max, *xs[0].shape[1:], dtype=xs[0].dtype)
            self.y = torch.zeros(R, n_max, *ys[0].shape[1:], dtype=ys[0].dtype)
            for j, (x, y) in enumerate(zip(xs, ys)):
                self.x[j, :len(x)], self.y[j, :len(y)] = x, y
            self.x, self.y = self.x.to(device), self.y.to(device)
        self.arange = torch.arange(R, device=device).unsqueeze(1)
        self.train_idx = [r.data.train_idx.to(device) for r in runs]
        self.test_idx = [r.data.test_idx.to(device) for r in runs]
        # evaluation looks at the grid rows some run trains or tests on (not e.g. probe-only rows)
        rows = torch.unique(torch.cat([*self.train_idx, *self.test_idx]))
        self.eval_x, self.eval_y = self.x[:, rows], self.y[:, rows]
        position = torch.full((self.x.shape[1],), -1, dtype=torch.long, device=device)
        position[rows] = torch.arange(len(rows), device=device)
        # sample counts per run over those rows (counts, not flags: an index set may repeat a point)
        self.train_count = torch.zeros(R, len(rows), device=device)
        self.test_count = torch.zeros(R, len(rows), device=device)
        for j in range(R):
            for count, idx in ((self.train_count, self.train_idx[j]), (self.test_count, self.test_idx[j])):
                count[j].index_put_((position[idx],), torch.ones(len(idx), device=device), accumulate=True)
        self.n_train = self.train_count.sum(1)
        self.n_test = self.test_count.sum(1)
        self.eval_chunk = None if device.type != "cpu" else max(1, CPU_CHUNK_ELEMENTS // (len(rows) * widest))
        self.eval_train_idx = [position[i] for i in self.train_idx]
        self.eval_test_idx = [position[i] for i in self.test_idx]
        self.all_full = all(r.full_batch for r in runs)
        if self.all_full:
            idx, valid = _pad([r.data.train_idx for r in runs])
            self._full = self._gather(idx.to(device), valid.to(device))

    def _gather(self, idx: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        w = valid.float() / valid.sum(1, keepdim=True).float()
        return self.x[self.arange, idx], self.y[self.arange, idx], w

    def batch(self, runs: list[_Run]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Inputs, targets and per-sample loss weights (1/n_r, 0 on padding) of this step."""
        if self.all_full:
            return self._full
        # indices are assembled on the CPU (the loop's generators live there), then moved once
        rows = []
        for j, r in enumerate(runs):
            b = next(r.batches)
            rows.append(r.data.train_idx if b is None else r.data.train_idx[b])
        if all(len(t) == len(rows[0]) for t in rows):
            idx = torch.stack(rows)
            valid = torch.ones(idx.shape, dtype=torch.bool)
        else:
            idx, valid = _pad(rows)
        return self._gather(idx.to(self.device), valid.to(self.device))


@torch.no_grad()
def _evaluate(task: Task, model: StackedModel, data: _CohortData, custom_loss: bool) -> dict[str, list[float]]:
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
