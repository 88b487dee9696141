"""Imported once by the fork server of complexity_bench/pipeline/isolation.py, and by nothing else.

Everything done here is inherited by every evaluation child forked from the server,
instead of being paid again in each (one child per job):

- registering the built-in measures and tasks and those of installed packages'
  entry points (~40 ms a child otherwise);
- the first ``torch.func`` call of a process, which imports ~800 modules (1.3-1.4 s
  on the project's 2-core machine; ``hessian-trace`` uses ``torch.func``).
"""

import torch
from torch.func import grad, jvp, vmap

from complexity_bench.contracts.measure import MEASURES
from complexity_bench.contracts.task import TASKS

for _registry in (MEASURES, TASKS):
    try:
        _registry.discover()
    except Exception:  # a broken entry point: each child retries and reports it in its own words
        _registry._discovered = False


def _square_norm(p: torch.Tensor) -> torch.Tensor:
    return (p * p).sum()


vmap(lambda v: jvp(grad(_square_norm), (v,), (v,))[1])(torch.ones(2, 3))
