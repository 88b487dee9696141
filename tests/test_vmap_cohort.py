"""The generic (vmap) cohort engine equals the reference loop, run for run.

As tests/test_cohort.py does for the hand-written engine: each test trains a mixed
cohort with ``train_vmap_cohort`` and every variant alone with ``train_run``, and
compares losses, accuracies, events, checkpoint steps and weights. A tiny version of
the transformer task (p = 7, d_model 16) is the model the hand-written engine cannot
stack; the hand-written engine's own toy tasks (minibatch SGD with hinge loss, early
stop, a task's own loss) run through the generic engine too, so every convention of
training.py is checked on it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
import torch
from torch import nn

from complexity_bench.engine.cohort import cohort_compatible
from complexity_bench.engine.select import train_group
from complexity_bench.contracts.models import StagedModel
from complexity_bench.contracts.task import log_linear_schedule
from complexity_bench.tasks.transformer import ModAddTransformer
from complexity_bench.engine.vmap_cohort import VmapStackedModel, train_vmap_cohort, vmap_compatible, vmaps_like_loop
from test_cohort import ToyCustomLoss, ToyParity, ToyTeacher, assert_same_runs, register  # noqa: F401 (fixture)


class TinyTransformer(ModAddTransformer):
    """modadd-transformer scaled down: p = 7, d_model 16, 2 heads, MLP 32; 50 steps."""

    name = "_toy-vmap-transformer"
    vocab = 7
    n_out = 7
    d_model, heads, d_mlp = 16, 2, 32
    probe_size = 16
    defaults: ClassVar[dict[str, Any]] = {**ModAddTransformer.defaults, "steps": 50, "lr": 3e-3,
                                          "train_frac": 0.5}

    def eval_steps(self, steps: int) -> list[int]:
        return log_linear_schedule(steps, n_log=5, n_linear=25)

    def checkpoint_steps(self, steps: int) -> list[int]:
        return self.eval_steps(steps)[::3] + [steps]


def same_vmap_runs(task, variants):
    return assert_same_runs(task, variants, train=train_vmap_cohort, compatible=vmap_compatible,
                            engine="vmap-cohort")


def test_transformer_mixed_cohort(register):
    task = register(TinyTransformer)
    assert not cohort_compatible(task, [task.variant({}, 0), task.variant({}, 1)]), \
        "the hand-written engine cannot stack attention: this is what the generic engine is for"
    variants = [
        task.variant({}, seed=0),
        task.variant({}, seed=1),
        task.variant({"weight_decay": 0.0}, seed=2),
        task.variant({"train_frac": 0.3, "init_scale": 2.0}, seed=3),  # smaller train set: padded and masked
        task.variant({"lr": 1e-3, "betas": (0.9, 0.999)}, seed=4),  # its own AdamW block
        task.variant({"steps": 30}, seed=5),  # a shorter budget leaves the cohort early
    ]
    cohort = same_vmap_runs(task, variants)
    assert len({round(r.metrics["train_loss"][-1], 6) for r in cohort}) == len(variants), "runs really differ"
    assert max(cohort[5].checkpoints) == 30


@pytest.mark.parametrize("chunk_elements", [1, None])
def test_transformer_chunks_of_runs(register, monkeypatch, chunk_elements):
    """One run per chunk and no chunks (the whole cohort at once) train the same runs."""
    monkeypatch.setattr(VmapStackedModel, "chunk_elements", chunk_elements)
    task = register(TinyTransformer)
    same_vmap_runs(task, [task.variant({}, seed=0), task.variant({"weight_decay": 0.3}, seed=1)])


def test_sgd_minibatch_hinge_per_seed_data(register):
    task = register(ToyParity)
    same_vmap_runs(task, [task.variant({}, seed=0), task.variant({"momentum": 0.9, "lr": 0.02}, seed=3),
                          task.variant({"train_frac": 0.5, "batch_size": 200}, seed=4)])


def test_early_stop_at_different_steps(register):
    task = register(ToyTeacher)
    variants = [task.variant({"stop_factor": 1.2, "steps": 400, "train_frac": f}, seed=s)
                for s, f in ((0, 0.5), (1, 0.7), (2, 0.9))]
    last = [max(r.checkpoints) for r in same_vmap_runs(task, variants)]
    assert min(last) < 400 and len(set(last)) > 1, last


def test_task_that_overrides_loss(register):
    task = register(ToyCustomLoss)
    same_vmap_runs(task, [task.variant({}, seed=0), task.variant({"train_frac": 0.4}, seed=1)])


def test_models_vmap_cannot_batch_fall_back():
    class BatchNormed(nn.Module):  # in training mode its output depends on the whole batch
        def __init__(self):
            super().__init__()
            self.lin, self.norm = nn.Linear(3, 4), nn.BatchNorm1d(4)

        def forward(self, x):
            return self.norm(self.lin(x))

    class Item(nn.Module):  # .item() inside forward: vmap refuses it
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 4)

        def forward(self, x):
            return self.lin(x) * float(x.sum().item() > 0)

    x = torch.randn(4, 3)
    assert not vmaps_like_loop(Item(), x)
    assert not vmaps_like_loop(BatchNormed(), x)
    assert vmaps_like_loop(StagedModel([nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)]), x)


def test_train_group_dispatch(register):
    """auto: the hand-written engine where it applies, else the generic one, else the loop."""
    tiny = register(TinyTransformer)
    runs = train_group(tiny, [tiny.variant({"steps": 10}, 0), tiny.variant({"steps": 10}, 1)])
    assert [r.engine for r in runs] == ["vmap-cohort"] * 2
    parity = register(ToyParity)
    runs = train_group(parity, [parity.variant({"steps": 10}, 0), parity.variant({"steps": 10}, 1)])
    assert [r.engine for r in runs] == ["cohort"] * 2
    runs = train_group(parity, [parity.variant({"steps": 10}, 0), parity.variant({"steps": 10}, 1)], engine="vmap")
    assert [r.engine for r in runs] == ["vmap-cohort"] * 2
    assert [r.engine for r in train_group(tiny, [tiny.variant({"steps": 10}, 0)])] == ["loop"]


def test_device_path_runs_on_cpu(register, tmp_path):
    """``run --device``'s code path (a job: train_group -> engine, then evaluate_run) with
    device "cpu", which is what CI can run; the stored runs say where they trained."""
    from complexity_bench.pipeline.jobs import Job, run_job
    from complexity_bench.contracts.measure import get_measure
    from complexity_bench.pipeline.store import RunStore

    class Here(TinyTransformer):  # registered by this test, not by importing a module: evaluated in-process
        pass

    task = register(Here)
    variants = (task.variant({"steps": 10}, 0), task.variant({"steps": 10}, 1))
    outcome = run_job(Job(task.name, variants, ("l2", "lmn"), str(tmp_path), "auto", "cpu"))
    assert outcome.trained == 2
    store = RunStore(tmp_path)
    for v in variants:
        run = store.load_run(v, task)
        assert (run.engine, run.device) == ("vmap-cohort", "cpu")
        assert all(t.device.type == "cpu" for state in run.checkpoints.values() for t in state.values())
        for name in ("l2", "lmn"):
            rows = store.load_values(v.run_id, name, get_measure(name).info.version)
            assert rows and not any(r["error"] for r in rows), name
