"""Teacher–student regression with a large-initialisation student (Omnigrok §3).

A fixed teacher, a 5-100-100-5 tanh MLP with PyTorch's default init (drawn once from
a task-level seed, the same for every run), labels inputs x ~ N(0, I_5). Each run
draws 100 training and 100 test inputs from its seed; the student has the teacher's
shape, its initial weights multiplied by ``init_scale`` (α = 2 by default), and is
trained full batch on the mean squared error with AdamW lr 3e-4.

Accuracy is a threshold on the error (Omnigrok; Levi et al. 2023): a sample is
correct when its squared error, averaged over the 5 outputs, is below 0.01::

    correct_i = mean_k (f(x_i)_k - y_ik)^2 < 0.01

and T_mem / T_gen use q = 0.95. Omnigrok reports the steps to 95% test accuracy
∝ 1/weight decay, weight decay 0 never, and α = 0.5 at once. Caveat (Kumar et al.
2023; Levi et al. 2023): the test *loss* falls smoothly, so the "delay" is a
threshold effect: a control on which a measure that merely tracks the loss would
also look predictive. Measured numbers: docs/tasks.md.

Example::

    >>> from complexity_bench.contracts.task import get_task
    >>> t = get_task("teacher-student")
    >>> p = t.resolve({})
    >>> d = t.make_data(p, seed=0)
    >>> tuple(d.x.shape), tuple(d.y.shape), len(d.probe_idx)
    ((328, 5), (328, 5), 128)
    >>> t.correct(torch.zeros(2, 5), torch.tensor([[0.05] * 5, [0.2] * 5])).tolist()
    [True, False]
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Mapping

import torch

from complexity_bench.contracts.models import StagedModel, mlp_stages
from complexity_bench.contracts.task import Task, TaskData, register_task

from ._common import (
    ScheduledTask, PROBE_SEED, full_design, seeded_model, split_generator,
)

TEACHER_SEED = 0
ERROR_TOLERANCE = 0.01  # per-sample mean squared error below which a sample counts as correct
WIDTHS = [5, 100, 100, 5]


def teacher_model() -> StagedModel:
    """The fixed teacher (seed TEACHER_SEED, default init, tanh)."""
    return seeded_model(lambda: StagedModel(mlp_stages(WIDTHS, "tanh"), input_stage=0, hidden_stage=2), TEACHER_SEED)


GRIDS: dict[str, list[dict[str, Any]]] = {
    "smoke": [{"steps": 300}],
    # A weight-decay axis (T_gen ∝ 1/wd; 0 never) and the small-init run that generalises
    # at once. Every variant trains on the task's one budget (``defaults["steps"]``) and
    # stops at 1.5 x T_gen once both events are known (docs/protocol.md, "Budgets").
    # Measured events: docs/tasks.md.
    "default": [{"weight_decay": wd} for wd in (0.1, 0.3, 1.0, 0.0)] + [{"init_scale": 0.5}],
    # full: the default (wd 0.3), one weight-decay step (1.0, the protocol-2 grid's next
    # stronger weight decay: a shorter delay, so fewer steps) and the weight-decay-0 control
    # (docs/protocol.md, "Power and the suite design")
    "full": full_design(0.3, 1.0),
}


@register_task
class TeacherStudent(ScheduledTask):
    grids = GRIDS
    version = "3"
    name = "teacher-student"
    family = "teacher-student"
    description = "5-100-100-5 tanh student (init ×α) regresses a fixed tanh teacher; accuracy = error < 0.01"
    reference = "Liu, Michaud & Tegmark 2022, Omnigrok: Grokking Beyond Algorithmic Data, arXiv 2210.01117 (§3)"
    loss_kind = "mse"
    threshold = 0.95
    probe_size = 128
    properties = frozenset({"regression"})
    axes = ("weight_decay", "init_scale", "n_train")
    defaults: ClassVar[dict[str, Any]] = {
        "n_train": 100, "n_test": 100, "weight_decay": 0.3, "init_scale": 2.0, "lr": 3e-4,
        "steps": 20_000, "optimizer": "adamw", "batch_size": None, "stop_factor": 1.5,
    }
    bounds = {**Task.bounds, "n_train": (1, math.inf, True, False), "n_test": (1, math.inf, True, False)}

    int_params = ("n_train", "n_test", "steps")

    def make_data(self, params: Mapping[str, Any], seed: int) -> TaskData:
        n_train, n_test = int(params["n_train"]), int(params["n_test"])
        x_run = torch.randn(n_train + n_test, WIDTHS[0], generator=split_generator(seed))
        probe = torch.randn(self.probe_size, WIDTHS[0], generator=torch.Generator().manual_seed(PROBE_SEED))
        x = torch.cat([x_run, probe])
        with torch.no_grad():
            y = teacher_model()(x)
        idx = torch.arange(len(x))
        return TaskData(x=x, y=y, train_idx=idx[:n_train], test_idx=idx[n_train:n_train + n_test],
                        probe_idx=idx[n_train + n_test:])

    def make_model(self, params: Mapping[str, Any], seed: int) -> StagedModel:
        # seed + 1: a run's student must never start as a copy of the teacher (seed 0)
        return seeded_model(lambda: StagedModel(mlp_stages(WIDTHS, "tanh"), input_stage=0, hidden_stage=2),
                            seed + 1, float(params["init_scale"]))

    def correct(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return (outputs - targets).pow(2).mean(dim=-1) < ERROR_TOLERANCE






