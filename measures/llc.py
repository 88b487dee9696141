"""Local learning coefficient (LLC) by SGLD (Lau, Furman, Wang, Murfet & Wei 2023).

For a checkpoint w* and the mean training loss L_n, sample the localised tempered posterior

    p(w) ∝ exp(−nβ · L_n(w) − (γ/2) ‖w − w*‖²)

with stochastic-gradient Langevin dynamics started at w*,

    w ← w − (ε/2) (nβ ∇L_n(w) + γ (w − w*)) + √ε · ξ,   ξ ~ N(0, I),

and estimate λ̂(w*) = nβ · (E_p[L_n(w)] − L_n(w*)), the expectation being the mean of
L_n over the draws (after burn-in) of all chains. For a regular (non-degenerate)
minimum in d dimensions λ = d/2; singular (degenerate) minima have smaller λ, so a
lower LLC is a simpler solution. direction = +1.

Choices (fixed across checkpoints and runs, as an LLC benchmark must):
- gradients are full-batch (grokking training sets are ≤ ~1k samples), so the only
  noise is the Langevin noise; nβ = n / log n with n the training-set size (the
  WBIC temperature β = 1/log n used by Lau et al.);
- ε = 3e-4, γ = 300 (localisation), 2 chains × (40 burn-in + 80 draws), chains run
  batched with ``torch.func.vmap``; all noise from ``ctx.generator``. The step is
  stable while ε(nβ·λ_max(H) + γ)/2 < 1, i.e. λ_max(H) ≲ 55 on the 31-class tasks; a
  sharper checkpoint diverges and raises (recorded as missing, not as a number).
  240 full-batch gradient evaluations per checkpoint: cost tier "expensive".
The loss is ``ctx.task.loss`` (negative log-likelihood for cross-entropy; for MSE and
hinge it is a loss, not an NLL, and λ̂ is then a "loss-based" learning coefficient).
The estimate is only meaningful near a local minimum: early checkpoints can give
negative values (the chain descends), which we report as they are.

devinterp (the reference implementation) uses minibatch gradients, nβ defaulting to
B/log B for batch size B, and an init loss averaged over minibatches; our full-batch
estimator is the same formula with the minibatch noise removed.

Example::

    >>> import torch
    >>> out = sgld_llc(lambda p: 0.5 * (p["w"] ** 2).sum(), {"w": torch.zeros(4)}, n_beta=1000.0, gamma=1.0,
    ...                step=1e-4, num_chains=8, num_burnin=200, num_draws=400, generator=torch.Generator().manual_seed(0))
    >>> 1.6 < out["llc"] < 2.4   # regular minimum in d = 4 dimensions: λ = d/2
    True
"""

from __future__ import annotations

import math
from typing import Callable, Mapping

import torch
from torch import nn
from torch.func import functional_call, grad_and_value, vmap

from complexity_bench.contracts.measure import MeasureContext, MeasureInfo, Measure, register_measure

__all__ = ["sgld_llc", "model_llc", "default_n_beta", "LLCMeasure"]

# calibrated on a memorised paper-model checkpoint (docs/measures_extra.md): the loss trace plateaus within
# ~40 steps; ε = 1e-4 took > 200 steps to mix at γ = 300, γ = 1000 mixed fast but localised to λ̂ ≈ 2.7
DEFAULTS = {"step": 3e-4, "gamma": 300.0, "num_chains": 2, "num_burnin": 40, "num_draws": 80}


def default_n_beta(n: int) -> float:
    """n / log n (β = 1/log n, Watanabe's WBIC temperature)."""
    return n / math.log(n) if n > 1 else 1.0


def _noise(like: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """N(0, 1) of ``like``'s shape and dtype, drawn from ``generator`` on its own device (the CPU for
    ctx.generator) and moved to ``like``'s: the same draws whatever device the model is on."""
    return torch.randn(like.shape, generator=generator, dtype=like.dtype, device=generator.device).to(like.device)


def sgld_llc(
    loss_fn: Callable[[dict[str, torch.Tensor]], torch.Tensor],
    params: Mapping[str, torch.Tensor],
    n_beta: float,
    gamma: float,
    step: float,
    num_chains: int,
    num_burnin: int,
    num_draws: int,
    generator: torch.Generator,
) -> dict[str, float]:
    """SGLD estimate of the LLC of ``loss_fn`` at ``params``: ``llc`` (mean over chains), its ``std`` over chains,
    ``init_loss`` and ``mean_loss``. ``loss_fn`` maps a parameter dict to a scalar and must work under
    ``torch.func.vmap`` (the chains are one batched computation)."""
    center = {k: v.detach() for k, v in params.items()}
    device = next(iter(center.values())).device if center else torch.device("cpu")
    init_loss = float(loss_fn(center))
    w = {k: v.unsqueeze(0).repeat(num_chains, *[1] * v.dim()).clone() for k, v in center.items()}
    step_fn = vmap(grad_and_value(loss_fn))
    sqrt_step = math.sqrt(step)
    draws = torch.zeros(num_chains, num_draws, dtype=torch.float64, device=device)
    for t in range(num_burnin + num_draws):
        g, loss = step_fn(w)
        if t >= num_burnin:
            draws[:, t - num_burnin] = loss.detach().double()  # loss at the state before this update
        w = {k: w[k] - (step / 2) * (n_beta * g[k] + gamma * (w[k] - center[k]))
             + sqrt_step * _noise(w[k], generator) for k in w}
    if not torch.isfinite(draws).all():
        raise ValueError("SGLD diverged (non-finite loss): lower the step size or raise the localisation")
    per_chain = n_beta * (draws.mean(dim=1) - init_loss)
    return {"llc": float(per_chain.mean()), "std": float(per_chain.std()) if num_chains > 1 else math.nan,
            "init_loss": init_loss, "mean_loss": float(draws.mean())}


def model_llc(
    model: nn.Module, loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], x: torch.Tensor, y: torch.Tensor,
    generator: torch.Generator, n_beta: float | None = None, **kwargs: float,
) -> dict[str, float]:
    """:func:`sgld_llc` of ``loss(model(x), y)`` over all parameters (model untouched); ``kwargs`` override DEFAULTS."""
    settings = {**DEFAULTS, **kwargs}

    def loss_fn(p: dict[str, torch.Tensor]) -> torch.Tensor:
        return loss(functional_call(model, p, (x,)), y)

    return sgld_llc(loss_fn, dict(model.named_parameters()), n_beta if n_beta is not None else default_n_beta(len(x)),
                    float(settings["gamma"]), float(settings["step"]), int(settings["num_chains"]),
                    int(settings["num_burnin"]), int(settings["num_draws"]), generator)


@register_measure
class LLCMeasure(Measure):
    info = MeasureInfo(
        name="llc", version="1", direction=+1, direction_source='Lau et al. 2023: the local learning coefficient measures complexity; lower = simpler', needs=frozenset({"weights", "data", "gradients"}), cost="expensive",
        stochastic=True, applies_to="any",
        reference="Lau, Furman, Wang, Murfet & Wei 2023, The Local Learning Coefficient: A Singularity-Aware "
                  "Complexity Measure (arXiv 2308.12108)",
        description="SGLD estimate nβ(E[L] − L(w*)) of the local learning coefficient on the full training loss; "
                    "nβ = n/log n, ε = 3e-4, γ = 300, 2 chains × (40 burn-in + 80 draws)",
    )

    def compute(self, model: nn.Module, ctx: MeasureContext) -> float:
        return model_llc(model, ctx.task.loss, ctx.x_train, ctx.y_train, ctx.generator)["llc"]
