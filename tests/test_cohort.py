"""The cohort engine equals the reference loop, run for run (docs/performance.md).

Each test trains a mixed cohort with ``train_cohort`` and every variant alone with
``train_run``, then compares losses, accuracies, events, checkpoint steps and
weights. The toy tasks below are small versions of the suite's families (an
embedding MLP like the LMN paper's with full-batch AdamW; a ReLU MLP with
minibatch SGD and hinge loss; a tanh regression net with per-seed data), so the
tests do not depend on the registered tasks and stay fast.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import pytest
import torch
from torch import nn

from complexity_bench.engine import cohort_data
from complexity_bench.engine.cohort import cohort_compatible, train_cohort
from complexity_bench.engine.cohort_model import StackedModel
from complexity_bench.contracts.models import PairEmbedding, StagedModel, scale_parameters_
from complexity_bench.contracts.task import TASKS, Task, TaskData, log_linear_schedule
from complexity_bench.engine.training import train_run

RTOL, ATOL = 1e-4, 1e-5
# Weights: AdamW divides by sqrt(v) + eps, so an entry whose gradient is ~0 (rounding
# noise of a batched vs a single matmul) can move by up to lr per step either way;
# an absolute slack of 1e-4 on O(0.1-1) weights still catches any real divergence.
W_ATOL = 1e-4


def _split(n: int, frac: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(1000 + seed))
    k = int(math.floor(frac * n))
    return perm[:k].sort().values, perm[k:].sort().values


def _seeded(build, seed: int, scale: float) -> StagedModel:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build()
    return scale_parameters_(model, float(scale))


class _Schedules:
    def eval_steps(self, steps: int) -> list[int]:
        return log_linear_schedule(steps, n_log=5, n_linear=40)


class ToyModAdd(_Schedules, Task):
    """Addition mod 11 with the paper's architecture, scaled down; AdamW full batch."""

    name = "_toy-cohort-modadd"
    defaults = {"train_frac": 0.6, "weight_decay": 0.2, "init_scale": 1.0, "lr": 3e-3, "steps": 200}
    P = 11

    def make_data(self, params: Mapping[str, Any], seed: int) -> TaskData:
        a, b = torch.meshgrid(torch.arange(self.P), torch.arange(self.P), indexing="ij")
        x = torch.stack([a.flatten(), b.flatten()], 1)
        y = (x[:, 0] + x[:, 1]) % self.P
        tr, te = _split(len(x), params["train_frac"], seed)
        return TaskData(x, y, tr, te, torch.arange(16))

    def make_model(self, params: Mapping[str, Any], seed: int) -> StagedModel:
        P = self.P
        return _seeded(lambda: StagedModel(
            [PairEmbedding(P, 8), nn.Linear(16, 32), nn.SiLU(), nn.Linear(32, 32), nn.SiLU(), nn.Linear(32, P)],
            input_stage=1), seed, params["init_scale"])


class ToyParity(_Schedules, Task):
    """Sparse parity in miniature: ReLU MLP, hinge loss, minibatch SGD (momentum optional).

    The data depend on the seed (no shared grid) and the train size is not a
    multiple of the batch size, so runs see short last batches at different steps.
    """

    name = "_toy-cohort-parity"
    loss_kind = "hinge"
    defaults = {"train_frac": 0.7, "weight_decay": 0.01, "init_scale": 1.0, "lr": 0.1, "steps": 150,
                "optimizer": "sgd", "batch_size": 16, "momentum": 0.0}

    def make_data(self, params: Mapping[str, Any], seed: int) -> TaskData:
        g = torch.Generator().manual_seed(seed)
        x = torch.randint(0, 2, (120, 12), generator=g).float() * 2 - 1
        y = x[:, 0] * x[:, 1] * x[:, 2]
        tr, te = _split(len(x), params["train_frac"], seed)
        return TaskData(x, y, tr, te, torch.arange(16))

    def make_model(self, params: Mapping[str, Any], seed: int) -> StagedModel:
        return _seeded(lambda: StagedModel([nn.Linear(12, 64), nn.ReLU(), nn.Linear(64, 1)]), seed, params["init_scale"])


class ToyTeacher(_Schedules, Task):
    """Teacher-student regression: tanh MLP, MSE, AdamW; accuracy = squared error < 0.05."""

    name = "_toy-cohort-teacher"
    loss_kind = "mse"
    threshold = 0.9
    defaults = {"train_frac": 0.5, "weight_decay": 0.1, "init_scale": 1.0, "lr": 3e-3, "steps": 200,
                "betas": (0.9, 0.999), "stop_factor": None}

    def _net(self) -> StagedModel:
        return StagedModel([nn.Linear(4, 24), nn.Tanh(), nn.Linear(24, 24), nn.Tanh(), nn.Linear(24, 3)])

    def make_data(self, params: Mapping[str, Any], seed: int) -> TaskData:
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(80, 4, generator=g)
        with torch.no_grad():
            y = _seeded(self._net, 10_000 + seed, 1.0)(x)
        tr, te = _split(len(x), params["train_frac"], seed)
        return TaskData(x, y, tr, te, torch.arange(16))

    def make_model(self, params: Mapping[str, Any], seed: int) -> StagedModel:
        return _seeded(self._net, seed, params["init_scale"])

    def correct(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return (outputs - targets).pow(2).mean(-1) < 0.05


class ToyCustomLoss(ToyModAdd):
    """A task that overrides ``loss`` (label smoothing): the engine must call it."""

    name = "_toy-cohort-custom-loss"

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(outputs, targets, label_smoothing=0.1)


@pytest.fixture
def register(monkeypatch):
    """Register a toy task for the duration of one test only (RunResult looks tasks up by name)."""

    def _register(cls: type[Task]) -> Task:
        task = cls()
        TASKS.discover()
        monkeypatch.setitem(TASKS._items, task.name, task)
        return task

    return _register


def assert_weights_close(got: torch.Tensor, ref: torch.Tensor, adam_bound: float, what: str) -> None:
    """Within RTOL/W_ATOL everywhere but in at most 0.1% of entries (at least one), and those by at most
    lr x steps. Why: an entry whose true gradient is ~0 gets a gradient of pure rounding
    noise, which differs between a batched and a single matmul; AdamW divides it by its
    own RMS and moves the entry by up to lr per step either way. (Seen on digits-mlp:
    17 of 40,000 first-layer weights after 60 steps, while losses, accuracies and
    events agreed.) A real divergence moves far more entries than that."""
    diff = (got - ref).abs()
    off = diff > W_ATOL + RTOL * ref.abs()
    # 0.1% of a tensor, but at least one entry (0.1% of a 512-entry bias rounds to none)
    assert int(off.sum()) <= max(1, 1e-3 * off.numel()), f"{what}: {int(off.sum())} of {off.numel()} entries differ"
    assert diff.max().item() <= max(adam_bound, W_ATOL), f"{what}: max difference {diff.max().item():.3g}"


def assert_same_runs(task: Task, variants, train=train_cohort, compatible=cohort_compatible,
                     engine: str = "cohort") -> list:
    """``train(task, variants)`` equals ``train_run`` run for run (tests/test_vmap_cohort.py
    passes the generic engine)."""
    assert compatible(task, variants)
    cohort = train(task, variants)
    assert len(cohort) == len(variants)
    for v, got in zip(variants, cohort):
        ref = train_run(task, v)
        assert got.variant == v and got.engine == engine
        assert got.metrics["step"] == ref.metrics["step"]
        for col in ("train_loss", "test_loss"):
            torch.testing.assert_close(torch.tensor(got.metrics[col]), torch.tensor(ref.metrics[col]),
                                       rtol=RTOL, atol=ATOL, msg=lambda m: f"{v}: {col}: {m}")
        for col in ("train_acc", "test_acc"):
            assert got.metrics[col] == ref.metrics[col], (v, col)
        assert got.events == ref.events
        assert sorted(got.checkpoints) == sorted(ref.checkpoints)
        step0 = min(ref.checkpoints)
        for name, w in ref.checkpoints[step0].items():  # initial weights: exactly make_model's
            assert torch.equal(got.checkpoints[step0][name], w), name
        recipe = task.recipe(v.param_dict)
        # the last checkpoint, and the one at T_mem (stored once the event is known)
        for at in {max(ref.checkpoints), ref.events.t_mem} - {None}:
            assert at in got.checkpoints, (v, at)
            for name, w in ref.checkpoints[at].items():
                assert_weights_close(got.checkpoints[at][name], w, recipe.lr * at, f"{v} @ {at}: {name}")
    return cohort


@pytest.mark.parametrize("chunk_elements, runs_per_chunk", [(None, 6), (1, 1)])
def test_adamw_full_batch_mixed_cohort(register, monkeypatch, chunk_elements, runs_per_chunk):
    """With the default chunks (all six toy runs in one) and with one run per chunk, in
    training and in evaluation (what the paper's net gets on a CPU)."""
    if chunk_elements is not None:
        monkeypatch.setattr(StackedModel, "chunk_elements", chunk_elements)
        monkeypatch.setattr(cohort_data, "CPU_CHUNK_ELEMENTS", chunk_elements)
    trained, evaluated = [], []  # runs per chunk of each training layout and each evaluation call
    build, forward = StackedModel._build, StackedModel.forward
    monkeypatch.setattr(StackedModel, "_build", lambda self, stacked: (
        build(self, stacked), trained.extend(r1 - r0 for r0, r1, _ in self.chunks)))
    monkeypatch.setattr(StackedModel, "forward", lambda self, x, params=None: (
        evaluated.append(x.shape[0]), forward(self, x, params))[1])
    task = register(ToyModAdd)
    variants = [
        task.variant({}, seed=0),
        task.variant({}, seed=1),
        task.variant({"weight_decay": 0.0}, seed=0),
        task.variant({"weight_decay": 1.0, "init_scale": 2.0}, seed=2),
        task.variant({"train_frac": 0.3}, seed=3),  # a smaller train set: padded and masked
        task.variant({"lr": 1e-3, "train_frac": 0.8}, seed=1),  # per-run lr: the tensor path
    ]
    cohort = assert_same_runs(task, variants)
    assert max(trained) == max(evaluated) == runs_per_chunk  # the chunks asked for really ran
    # the runs really differ (a cohort that trained one run R times would fail above, but say so)
    assert len({round(r.metrics["train_loss"][-1], 6) for r in cohort}) == len(variants)



def test_sgd_minibatch_with_per_seed_data(register):
    task = register(ToyParity)
    variants = [
        task.variant({}, seed=0),
        task.variant({"weight_decay": 0.0}, seed=1),
        task.variant({"train_frac": 0.5, "init_scale": 0.5}, seed=2),
        task.variant({"momentum": 0.9, "lr": 0.02}, seed=3),
        task.variant({"batch_size": 200}, seed=4),  # >= train size: full batch inside a minibatch cohort
    ]
    assert_same_runs(task, variants)


def test_regression_with_custom_correct_and_per_run_betas(register):
    task = register(ToyTeacher)
    variants = [
        task.variant({}, seed=0),
        task.variant({"weight_decay": 1.0, "betas": (0.8, 0.99)}, seed=1),
        task.variant({"init_scale": 2.0, "steps": 120}, seed=2),  # a shorter budget leaves the cohort early
    ]
    cohort = assert_same_runs(task, variants)
    assert max(cohort[2].checkpoints) == 120


def test_early_stop_freezes_runs_at_different_steps(register):
    task = register(ToyTeacher)
    variants = [task.variant({"stop_factor": 1.2, "steps": 400, "train_frac": f}, seed=s)
                for s, f in ((0, 0.5), (1, 0.7), (2, 0.9), (3, 0.3))]
    cohort = assert_same_runs(task, variants)
    last = [max(r.checkpoints) for r in cohort]
    # the test only means something if runs stopped early, at different steps
    assert min(last) < 400 and len(set(last)) > 1, last


def test_task_that_overrides_loss(register):
    task = register(ToyCustomLoss)
    assert_same_runs(task, [task.variant({}, seed=0), task.variant({"train_frac": 0.4, "weight_decay": 0.5}, seed=1)])


def test_compatibility_rules(register):
    add, parity = register(ToyModAdd), register(ToyParity)
    assert cohort_compatible(add, [add.variant({}, seed=0)])
    assert not cohort_compatible(add, [])
    # another task's variant, or a different optimizer kind, falls back to the loop
    assert not cohort_compatible(add, [add.variant({}, seed=0), parity.variant({}, seed=0)])
    assert not cohort_compatible(parity, [parity.variant({}, 0), parity.variant({"optimizer": "adamw"}, 1)])

    class Wider(ToyModAdd):
        name = "_toy-cohort-wider"

        def make_model(self, params, seed):
            width = 32 if seed == 0 else 48
            return StagedModel([PairEmbedding(11, 8), nn.Linear(16, width), nn.SiLU(), nn.Linear(width, 11)])

    wide = register(Wider)
    assert not cohort_compatible(wide, [wide.variant({}, 0), wide.variant({}, 1)])

    class WithNorm(ToyModAdd):
        name = "_toy-cohort-norm"

        def make_model(self, params, seed):
            return StagedModel([PairEmbedding(11, 8), nn.Linear(16, 32), nn.LayerNorm(32), nn.Linear(32, 11)])

    norm = register(WithNorm)
    assert not cohort_compatible(norm, [norm.variant({}, 0)])


REGISTERED = {
    # task: overrides per variant (short budgets; mixed axes as the harness groups them)
    "modadd-mlp": [{"steps": 100}, {"steps": 100, "weight_decay": 1.0, "init_scale": 2.0},
                   {"steps": 100, "train_frac": 0.5, "weight_decay": 0.0}],
    "sparse-parity": [{"steps": 100}, {"steps": 100, "n_train": 700, "weight_decay": 0.0}],
    "teacher-student": [{"steps": 100}, {"steps": 100, "weight_decay": 1.0, "init_scale": 0.5}],
    "digits-mlp": [{"steps": 60}, {"steps": 60, "weight_decay": 0.0}],
}


@pytest.mark.parametrize("name", sorted(REGISTERED))
def test_registered_tasks(name):
    """The suite's own tasks (skipped when a teammate's task is not there yet)."""
    TASKS.discover()
    if name not in TASKS.names():
        pytest.skip(f"task {name!r} not registered")
    task = TASKS.get(name)
    variants = [task.variant(o, seed=s) for s, o in enumerate(REGISTERED[name])]
    assert_same_runs(task, variants)
