"""Large-initialisation MLP on scikit-learn's bundled 8×8 digits (Omnigrok §4, MNIST analogue).

Omnigrok (Liu, Michaud & Tegmark 2022) makes a ReLU MLP grok on 1,000 MNIST images by
multiplying its initial weights by α = 8: it memorises at once, then test accuracy
climbs slowly as weight decay shrinks the weights. Nothing may be downloaded at run
time, so this task uses the 1,797 8×8 digit images that ship inside scikit-learn
(``sklearn.datasets.load_digits``), pixels scaled to [0, 1]. A seeded split keeps
``n_train`` images for training and the rest for testing; the probe is 128 fixed
images (the same for every run) drawn from the whole set.

Model ``Linear(64, 200) -> ReLU -> Linear(200, 200) -> ReLU -> Linear(200, 10)``, PyTorch
default init × ``init_scale``, AdamW, minibatch 100, MSE against one-hot targets
(as in Omnigrok); a prediction is correct when its largest output is the label.
Piecewise linear, so exact region counts apply.

The initial scale α sets the delay (α = 1 generalises at once, α = 8 late, test
accuracy climbing slowly as in Omnigrok's MNIST run); weight decay 0 never generalises
within the budget. Full-only. Measured events and costs: docs/tasks.md.

Example::

    >>> from complexity_bench.contracts.task import get_task
    >>> t = get_task("digits-mlp")
    >>> d = t.make_data(t.resolve({}), seed=0)
    >>> tuple(d.x.shape), len(d.train_idx), len(d.test_idx), len(d.probe_idx)
    ((1797, 64), 300, 1497, 128)
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, ClassVar, Mapping

import torch
import torch.nn.functional as F

from complexity_bench.contracts.models import StagedModel, mlp_stages
from complexity_bench.contracts.task import Task, TaskData, register_task

from ._common import (
    ScheduledTask, fixed_probe, full_design, seeded_model, split_generator,
)

N_IMAGES = 1_797


@lru_cache(maxsize=1)
def load_digits_tensors() -> tuple[torch.Tensor, torch.Tensor]:
    """(x, y): the 1,797 images as float32 in [0, 1], shape (1797, 64), and int64 labels."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.tensor(bunch.data, dtype=torch.float32) / 16.0
    y = torch.tensor(bunch.target, dtype=torch.long)
    return x, y


GRIDS: dict[str, list[dict[str, Any]]] = {
    "smoke": [{"steps": 200}],
    "default": [],  # full-only: see docs/tasks.md
    # the default (init x8, wd 0.1), one weight-decay step (0.3, the protocol-2 grid's
    # stronger weight decay: a shorter delay, so fewer steps) and the weight-decay-0 control
    # (docs/protocol.md, "Power and the suite design")
    "full": full_design(0.1, 0.3),
}


@register_task
class DigitsMLP(ScheduledTask):
    grids = GRIDS
    max_linear = 200  # most evenly spaced evaluations per run
    version = "3"
    name = "digits-mlp"
    family = "large-init-images"
    description = "8×8 digits (scikit-learn), 64-200-200-10 ReLU MLP with initial weights ×α, MSE on one-hot"
    reference = "Liu, Michaud & Tegmark 2022, Omnigrok: Grokking Beyond Algorithmic Data, arXiv 2210.01117 (§4)"
    loss_kind = "mse"
    threshold = 0.9
    probe_size = 128
    # not "classification": that tag promises softmax/cross-entropy logits (e.g. to the
    # softmax-collapse measure); these are class scores trained by MSE
    properties = frozenset({"class_scores_mse", "piecewise_linear"})
    axes = ("init_scale", "weight_decay", "n_train")
    defaults: ClassVar[dict[str, Any]] = {
        "n_train": 300, "weight_decay": 0.1, "init_scale": 8.0, "lr": 1e-3, "steps": 20_000,
        "optimizer": "adamw", "batch_size": 100, "stop_factor": 1.5,
    }
    bounds = {**Task.bounds, "n_train": (1, N_IMAGES, True, False), "batch_size": (1, math.inf, True, False)}

    int_params = ("n_train", "steps", "batch_size")

    def make_data(self, params: Mapping[str, Any], seed: int) -> TaskData:
        x, y = load_digits_tensors()
        perm = torch.randperm(len(x), generator=split_generator(seed))
        n_train = int(params["n_train"])
        return TaskData(x=x, y=y, train_idx=perm[:n_train].sort().values, test_idx=perm[n_train:].sort().values,
                        probe_idx=fixed_probe(len(x), self.probe_size))

    def make_model(self, params: Mapping[str, Any], seed: int) -> StagedModel:
        return seeded_model(lambda: StagedModel(mlp_stages([64, 200, 200, 10], "relu"), input_stage=0, hidden_stage=2),
                            seed, float(params["init_scale"]))

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        # MSE against one-hot targets, mean over samples and classes (Omnigrok's MNIST loss)
        return F.mse_loss(outputs, F.one_hot(targets, outputs.shape[-1]).to(outputs.dtype))

    def correct(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return outputs.argmax(-1) == targets






