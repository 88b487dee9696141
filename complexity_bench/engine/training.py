"""The reference training loop: one run, plain PyTorch, one process.

This is the ground truth that the cohort engine (complexity_bench.engine.cohort) is
tested against, run for run. Keep it obvious.

Conventions every engine must follow so results agree:
- the model is built by ``task.make_model(params, seed)`` (which seeds its own
  initialisation), the data by ``task.make_data(params, seed)``;
- "step s" means after s optimizer updates; step 0 is the initial model;
- minibatches (when ``batch_size`` is set) are drawn as consecutive slices of
  a fresh permutation of the training indices per epoch, from
  ``batch_generator(seed)``; a last, short batch is kept;
- at every step in ``task.eval_steps`` the full train and test sets are
  evaluated in float32 without gradients; at every step in
  ``task.checkpoint_steps`` the weights are stored (on the CPU, whatever device
  trained them);
- with ``recipe.stop_factor`` set, training stops at the first evaluation
  step s with T_gen and T_mem known (from the evaluations so far) and
  s >= stop_factor * max(T_gen, T_mem); the weights at s are stored as the last checkpoint;
- the weights at exactly T_mem are stored as a checkpoint too (:class:`MemorisationCheckpoint`),
  so every measure is judged at the memorisation step itself (docs/protocol.md, "Checkpoints").
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import torch

from complexity_bench.engine import step_progress
from complexity_bench.engine.denormals import flushing_denormals
from complexity_bench.contracts.events import Events, detect_events, first_sustained
from complexity_bench.contracts.task import Recipe, Task, TaskData, Variant

METRIC_COLUMNS = ("train_loss", "test_loss", "train_acc", "test_acc")


@dataclass
class RunResult:
    variant: Variant
    metrics: dict[str, list]  # "step" plus METRIC_COLUMNS, one entry per evaluation
    checkpoints: dict[int, dict[str, torch.Tensor]]  # step -> state_dict; 0 is the initial weights
    seconds: float
    engine: str = "loop"
    events: Events = field(kw_only=True)  # compute_events(task, variant, metrics)
    device: str = "cpu"  # where it trained


def compute_events(task: Task, variant: Variant, metrics: dict[str, list]) -> Events:
    """T_mem, T_gen, T_spike, T_collapse and the budget of a run from its evaluations, at the task's threshold."""
    m = metrics
    return detect_events(m["step"], m["train_acc"], m["test_acc"], task.threshold, int(variant.param_dict["steps"]),
                         train_loss=m["train_loss"])


def batch_generator(seed: int) -> torch.Generator:
    # offset so the minibatch order is not correlated with the init stream
    return torch.Generator().manual_seed(10_007 * seed + 1)


def minibatches(train_size: int, batch_size: int | None, seed: int) -> Iterator[torch.Tensor | None]:
    """Yields index tensors into the training set, or None for full batch, forever."""
    if batch_size is None or batch_size >= train_size:
        while True:
            yield None
    gen = batch_generator(seed)
    while True:
        perm = torch.randperm(train_size, generator=gen)
        for start in range(0, train_size, batch_size):
            yield perm[start:start + batch_size]


def make_optimizer(params, recipe: Recipe) -> torch.optim.Optimizer:
    if recipe.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=recipe.lr, weight_decay=recipe.weight_decay, betas=recipe.betas)
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(params, lr=recipe.lr, weight_decay=recipe.weight_decay, momentum=recipe.momentum)
    raise ValueError(f"unknown optimizer {recipe.optimizer!r}")


@torch.no_grad()
def evaluate(task: Task, model: torch.nn.Module, data: TaskData) -> dict[str, float]:
    out = {}
    for split, x, y in (("train", data.x_train, data.y_train), ("test", data.x_test, data.y_test)):
        logits = model(x)
        out[f"{split}_loss"] = float(task.loss(logits, y))
        out[f"{split}_acc"] = float(task.correct(logits, y).float().mean())
    return out


class MemorisationCheckpoint:
    """Keeps the weights at T_mem, which is known only ``CONSECUTIVE`` evaluations later.

    T_mem is the first step of a sustained streak of train accuracy >= q, so the
    weights are snapshotted at the start of every streak (rare: a few times per run)
    and handed out once the streak has lasted long enough to be the event.
    ``observe`` is called after each evaluation has been appended to ``metrics``;
    ``snapshot`` is called only when the weights are needed.
    """

    def __init__(self, q: float) -> None:
        self.q = q
        self.done = False
        self._start: int | None = None
        self._weights: dict[str, torch.Tensor] | None = None

    def observe(self, metrics: dict[str, list], snapshot: Callable[[], dict[str, torch.Tensor]]
                ) -> tuple[int, dict[str, torch.Tensor]] | None:
        """(T_mem, weights at T_mem) at the evaluation where T_mem becomes known, else None."""
        if self.done:
            return None
        acc = metrics["train_acc"]
        if acc[-1] < self.q:
            self._start = self._weights = None
            return None
        if self._start is None:
            self._start, self._weights = metrics["step"][-1], snapshot()
        if first_sustained(metrics["step"], acc, self.q) is None:
            return None
        self.done = True
        found, self._weights = (self._start, self._weights), None
        return found


def should_stop(metrics: dict[str, list], q: float, recipe: Recipe, step: int) -> bool:
    """Early stop after generalisation (see module docstring)."""
    if recipe.stop_factor is None:
        return False
    t_gen = first_sustained(metrics["step"], metrics["test_acc"], q)
    # both events must have happened: a run can pass the test threshold before
    # the train one (small init), and stopping then would leave T_mem unrecorded
    t_mem = first_sustained(metrics["step"], metrics["train_acc"], q) if t_gen is not None else None
    return t_mem is not None and step >= recipe.stop_factor * max(t_gen, t_mem, 1)


def _clone_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}  # checkpoints live on the CPU


@flushing_denormals  # late-training denormals slow CPU steps many times
def train_run(task: Task, variant: Variant, device: str | torch.device = "cpu") -> RunResult:
    """Train one run with the plain loop on ``device`` and return its metrics and checkpoints."""
    params = variant.param_dict
    recipe = task.recipe(params)
    data = task.make_data(params, variant.seed).to(device)
    model = task.make_model(params, variant.seed).to(device)
    optimizer = make_optimizer(model.parameters(), recipe)
    eval_at = set(task.eval_steps(recipe.steps))
    keep_at = set(task.checkpoint_steps(recipe.steps))
    at_memorisation = MemorisationCheckpoint(task.threshold)
    batches = minibatches(len(data.train_idx), recipe.batch_size, variant.seed)
    x_train, y_train = data.x_train, data.y_train

    metrics: dict[str, list] = {"step": [], **{c: [] for c in METRIC_COLUMNS}}
    checkpoints: dict[int, dict[str, torch.Tensor]] = {}
    start = time.perf_counter()
    for step in range(recipe.steps + 1):
        if step in eval_at:
            model.eval()
            row = evaluate(task, model, data)
            metrics["step"].append(step)
            for c in METRIC_COLUMNS:
                metrics[c].append(row[c])
            found = at_memorisation.observe(metrics, lambda: _clone_state(model))
            if found is not None:
                checkpoints[found[0]] = found[1]
            model.train()
        stop = step == recipe.steps or (step in eval_at and should_stop(metrics, task.threshold, recipe, step))
        if step in keep_at or stop:
            checkpoints[step] = _clone_state(model)
        if stop:
            break
        idx = next(batches)
        xb, yb = (x_train, y_train) if idx is None else (x_train[idx.to(device)], y_train[idx.to(device)])
        optimizer.zero_grad(set_to_none=True)
        task.loss(model(xb), yb).backward()
        optimizer.step()
        step_progress.trained(1)
    return RunResult(variant, metrics, checkpoints, time.perf_counter() - start, engine="loop",
                     events=compute_events(task, variant, metrics), device=torch.device(device).type)
