"""The cohort engine's optimizers: per-run AdamW and SGD hyperparameters over the stacked
model's flat buffers (engine/cohort.py).
"""

from __future__ import annotations

from typing import Sequence

import torch

from complexity_bench.contracts.task import Recipe
from complexity_bench.engine.fused_adamw import adamw_step
from complexity_bench.engine.cohort_model import StackedModel


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
        # the fused kernel reads the step from a float tensor on the device, as torch.optim keeps it:
        # one, refilled each step, rather than a new one (a host-to-device copy on a GPU) per call
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
            adamw_step(p, g, m, v, self.step_tensor, lr=lr, beta1=beta1, beta2=beta2, weight_decay=wd, eps=self.eps)

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


