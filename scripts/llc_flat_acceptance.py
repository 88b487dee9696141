"""MALA acceptance of the ``llc`` chain on a flat loss, in each full-suite task's parameter count (docs/measures.md, ``llc``).

    python scripts/llc_flat_acceptance.py

A flat loss leaves the chain sampling the localisation Gaussian alone (γ = 300 at ε = 3e-4: a 2 %
variance bias per direction), so this acceptance is what the chain health check's gate reads from the
dimension alone, before any curvature of the loss. Prints one line per task: name, parameters, acceptance.
"""

import torch

from complexity_bench.contracts.task import TASKS
from complexity_bench.measures.llc import DEFAULTS, sgld_llc


def flat_acceptance(dim: int, seed: int = 0) -> float:
    """Mean MALA acceptance of the default chain (``llc.DEFAULTS``) on a zero loss in ``dim`` dimensions."""
    out = sgld_llc(lambda p: 0.0 * p["w"].sum(), {"w": torch.zeros(dim)}, n_beta=1.0, gamma=DEFAULTS["gamma"],
                   step=DEFAULTS["step"], num_chains=DEFAULTS["num_chains"], num_burnin=DEFAULTS["num_burnin"],
                   num_draws=DEFAULTS["num_draws"], generator=torch.Generator().manual_seed(seed))
    return out["mala_acceptance"]


if __name__ == "__main__":
    TASKS.discover()
    for task in TASKS:
        if not task.variants("full"):
            continue
        params = task.resolve({})
        dim = sum(p.numel() for p in task.make_model(params, 0).parameters())
        print(f"{task.name}\t{dim}\t{flat_acceptance(dim):.3f}", flush=True)
