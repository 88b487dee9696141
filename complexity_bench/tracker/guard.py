"""Leave a user's training exactly as it was: what a log call may touch is put back.

Measures are pure by contract (README, "Add a measure in one file"), but a
Tracker runs inside someone's training loop, where a stray draw from the global
RNG or a leftover ``.grad`` would change the rest of the run. Around every log
call :func:`untouched` saves and restores:

- the global RNG states of torch (CPU and every initialised CUDA device),
  numpy and Python's ``random``;
- every module's train/eval flag (measures run in eval mode, as in the suite);
- every parameter's ``requires_grad`` flag and ``.grad`` tensor (a measure that
  runs backward gets fresh gradients, which are dropped afterwards);
- grad mode (measures run with autograd enabled even inside ``torch.no_grad()``).

Weights are checked and restored per measure by the suite's evaluator
(complexity_bench/pipeline/evaluate.py), which the Tracker reuses.
"""

from __future__ import annotations

import random
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch
from torch import nn


@contextmanager
def untouched(model: nn.Module) -> Iterator[None]:
    """Run the body in eval mode with autograd on; restore RNGs, flags and gradients after."""
    cpu_rng = torch.get_rng_state()
    cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None
    np_rng = np.random.get_state()
    py_rng = random.getstate()
    modes = [(m, m.training) for m in model.modules()]
    params = list(model.parameters())
    flags = [p.requires_grad for p in params]
    grads = [p.grad for p in params]
    for p in params:
        p.grad = None
    model.eval()
    try:
        with torch.enable_grad():
            yield
    finally:
        for p, flag, g in zip(params, flags, grads):
            p.requires_grad_(flag)
            p.grad = g
        for m, mode in modes:
            m.training = mode
        random.setstate(py_rng)
        np.random.set_state(np_rng)
        torch.set_rng_state(cpu_rng)
        if cuda_rng is not None:
            torch.cuda.set_rng_state_all(cuda_rng)
