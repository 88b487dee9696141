"""The runs of a cohort (engine/cohort.py): each run's book-keeping (``CohortRun``) and the
live runs' inputs, stacked (``StackedData``): the full grid for evaluation, the padded train
sets for full-batch steps, and per-run minibatch assembly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from complexity_bench.contracts.task import Recipe, Task, TaskData, Variant
from complexity_bench.engine.cohort_model import CPU_CHUNK_ELEMENTS
from complexity_bench.engine.training import MemorisationCheckpoint


@dataclass
class CohortRun:
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


def _pad(rows: list[torch.Tensor], fill: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack 1-d index tensors of different lengths: (R, max) indices and a (R, max) validity mask."""
    width = max(len(t) for t in rows)
    idx = torch.full((len(rows), width), fill, dtype=torch.long)
    valid = torch.zeros(len(rows), width, dtype=torch.bool)
    for i, t in enumerate(rows):
        idx[i, :len(t)] = t
        valid[i, :len(t)] = True
    return idx, valid


class StackedData:
    """Inputs of the live runs, stacked: the full grid for evaluation, the
    padded train sets for full-batch steps, and per-run minibatch assembly."""

    def __init__(self, task: Task, runs: list[CohortRun], device: torch.device, widest: int = 1):
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

    def batch(self, runs: list[CohortRun]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
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
