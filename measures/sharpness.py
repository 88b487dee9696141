"""Sharpness measures of Jiang et al. 2020: the Hessian's top eigenvalue and PAC-Bayes flatness.

**``hessian-top-eigenvalue``**: λ_max(H), H = ∇²_θ L_train(θ), the largest (algebraic)
eigenvalue of the Hessian of the task's full-batch training loss over all parameters, by
power iteration on exact Hessian-vector products (``hessian_trace.hessian_vector_product``):

    v ← H v / ‖H v‖,  μ = vᵀ H v (Rayleigh quotient),  ρ = ‖H v‖ (→ the spectral radius),

from v_0 ~ N(0, I) drawn from ``ctx.generator``, until μ and ρ both change by at most 1e-3
(relative) between iterations (at most 100 products). When μ = ρ (within 1e-2) the
dominant eigenvalue is +ρ = λ_max. Otherwise the eigenvalue of largest magnitude is negative
or ±ρ are both eigenvalues (a hinge-loss ReLU net's Hessian [[0, B], [Bᵀ, 0]] has a spectrum
symmetric about 0, where μ stalls between them), and a second iteration on H + ρI (whose
eigenvalues λ + ρ lie in [0, 2ρ]) gives λ_max + ρ. Not converging within the budget raises
``ValueError`` (a missing value with the reason, never a guess).
direction = +1: sharper minima generalise worse (Keskar et al. 2017; Jiang et al.'s
sharpness family).

**``pac-bayes-flatness``**: 1/σ'², with σ' the largest standard deviation of isotropic
Gaussian weight noise that keeps the expected training error within d = 0.1 of the
unperturbed one (Jiang et al.'s ``pacbayes.flatness``, their §"PAC-Bayesian measures"):

    err(σ) = (1/M) Σ_m err_train(θ + σ z_m),   σ' = sup{σ : err(σ) <= err_train(θ) + d},

with M = 16 draws z_m ~ N(0, I) taken once from ``ctx.generator`` and reused at every σ
(common random numbers: err(σ) is then one fixed function of σ, so the bisection is on a
deterministic curve), and σ found by 14 bisection steps in log σ between 1e-6 and 10 (a
relative resolution of 10^(7/2^14) − 1 ≈ 0.1 %; a net whose error stays within d even at
σ = 10 reports 1/10² = 0.01). The error is 1 − the task's own per-sample ``correct`` on the training
set, so this applies to every task that scores accuracy (regression tasks count a sample
correct within their tolerance). direction = +1 (Jiang et al.: larger 1/σ'² = sharper = worse).

Cost (docs/measures.md): seconds per checkpoint on the default suite's largest net (sparse
parity, 42k parameters, 1,000 training samples), so both are in the expensive tier (the full
suite, or any suite when named). Both are stochastic (their random draws come from ``ctx.generator``), run on the model's
device through ``torch.func.functional_call`` on detached copies of the parameters, and
never touch the model.

Example::

    >>> import torch
    >>> a = torch.diag(torch.tensor([3.0, -5.0, 1.0]))          # L(w) = wᵀ A w / 2: H = A
    >>> loss = lambda p: 0.5 * p["w"] @ a @ p["w"]
    >>> gen = torch.Generator().manual_seed(0)
    >>> round(top_hessian_eigenvalue(loss, {"w": torch.zeros(3)}, gen, rtol=1e-8, max_iter=2000), 4)
    3.0
"""

from __future__ import annotations

import math
from typing import Callable, Mapping

import torch
from torch import nn
from torch.func import functional_call, vmap

from complexity_bench.contracts.measure import Measure, MeasureContext, MeasureInfo, register_measure
from complexity_bench.measures.hessian_trace import hessian_vector_product

__all__ = ["power_iteration", "top_hessian_eigenvalue", "flatness_sigma", "HessianTopEigenvalue",
           "PacBayesFlatness"]

JIANG = ("Jiang, Neyshabur, Mobahi, Krishnan & Bengio 2020, Fantastic Generalization Measures and Where to "
         "Find Them, ICLR (arXiv 1912.02178)")
POWER = {"rtol": 1e-3, "max_iter": 100}
FLATNESS = {"deviation": 0.1, "n_draws": 16, "sigma_low": 1e-6, "sigma_high": 10.0, "steps": 14}

Params = dict[str, torch.Tensor]


def _dot(a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor]) -> torch.Tensor:
    return sum((a[k].double() * b[k].double()).sum() for k in a)


def _normalised(v: Mapping[str, torch.Tensor]) -> Params:
    norm = _dot(v, v).sqrt()
    if not torch.isfinite(norm):
        raise ValueError("Hessian-vector product is non-finite: eigenvalue undefined")
    if norm == 0:
        raise ValueError("Hessian-vector product is zero: the start vector lies in H's null space")
    return {k: (x.double() / norm).to(x.dtype) for k, x in v.items()}


def _gaussian_like(params: Mapping[str, torch.Tensor], generator: torch.Generator, n: int | None = None) -> Params:
    """N(0, 1) draws shaped like ``params`` (with a leading ``n`` when given), drawn on the generator's device
    (the CPU for ctx.generator) and moved to each tensor's: the same draws on every device."""
    lead = () if n is None else (n,)
    return {k: torch.randn((*lead, *p.shape), generator=generator, dtype=p.dtype, device=generator.device)
            .to(p.device) for k, p in params.items()}


def power_iteration(matvec: Callable[[Params], Params], start: Params, shift: float = 0.0,
                    rtol: float = POWER["rtol"], max_iter: int = POWER["max_iter"]) -> tuple[float, float]:
    """(Rayleigh quotient vᵀAv, spectral radius ‖Av‖) of the symmetric A: v -> matvec(v) − shift·v, by power
    iteration from ``start``, once both change by at most ``rtol`` (relative) between iterations.

    ‖Av‖ converges to A's spectral radius even when ±ρ are both eigenvalues (there the Rayleigh
    quotient stalls at a value between them); the Rayleigh quotient converges to the dominant
    eigenvalue when that one is unique.
    """
    v = _normalised(start)
    previous = (math.nan, math.nan)
    for _ in range(max_iter):
        w = matvec(v)
        if shift:
            w = {k: w[k] - shift * v[k] for k in w}
        current = (float(_dot(v, w)), float(_dot(w, w).sqrt()))
        if all(math.isfinite(b) and abs(a - b) <= rtol * abs(a) for a, b in zip(current, previous)):
            return current
        previous = current
        v = _normalised(w)
    raise ValueError(f"power iteration did not converge in {max_iter} Hessian-vector products "
                     f"(rtol {rtol}): the top eigenvalues are too close to separate")


def top_hessian_eigenvalue(loss_fn: Callable[..., torch.Tensor], params: Mapping[str, torch.Tensor],
                           generator: torch.Generator, *extra: torch.Tensor, **power: float) -> float:
    """λ_max of ∇²_params loss_fn(params, *extra): the largest algebraic eigenvalue (module docstring)."""
    hvp = hessian_vector_product(loss_fn, params, *extra)
    start = _gaussian_like(params, generator)
    mu, rho = power_iteration(hvp, start, **power)
    if abs(mu - rho) <= 10 * power.get("rtol", POWER["rtol"]) * rho:  # +ρ is the unique dominant eigenvalue
        return mu
    # H + ρI has eigenvalues λ + ρ in [0, 2ρ], the largest being λ_max + ρ
    return power_iteration(hvp, start, shift=-rho, **power)[0] - rho


def flatness_sigma(error_of: Callable[[Params], torch.Tensor], params: Mapping[str, torch.Tensor],
                   generator: torch.Generator, deviation: float = FLATNESS["deviation"],
                   n_draws: int = FLATNESS["n_draws"], sigma_low: float = FLATNESS["sigma_low"],
                   sigma_high: float = FLATNESS["sigma_high"], steps: int = FLATNESS["steps"]) -> float:
    """σ': the largest σ in [sigma_low, sigma_high] with mean_m error_of(θ + σ z_m) <= error_of(θ) + deviation.

    ``error_of`` maps a parameter dict to a scalar training error and must work under
    ``torch.func.vmap`` (the M draws are one batched call). Bisection in log σ; returns
    ``sigma_high`` when even that keeps the error within the bound and ``sigma_low`` when it fails there.
    """
    centre = {k: v.detach() for k, v in params.items()}
    base = float(error_of(centre))
    if not math.isfinite(base):
        raise ValueError("training error is non-finite: flatness undefined")
    z = _gaussian_like(centre, generator, n_draws)
    batched = vmap(error_of)

    def within(sigma: float) -> bool:
        err = float(batched({k: centre[k] + sigma * z[k] for k in centre}).double().mean())
        return err <= base + deviation

    if within(sigma_high):
        return sigma_high
    if not within(sigma_low):
        return sigma_low
    lo, hi = math.log(sigma_low), math.log(sigma_high)
    for _ in range(steps):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if within(math.exp(mid)) else (lo, mid)
    return math.exp(lo)


@register_measure
class HessianTopEigenvalue(Measure):
    info = MeasureInfo(
        name="hessian-top-eigenvalue", version="1", direction=+1,
        direction_source="Keskar et al. 2017; Jiang et al. 2020 (sharpness): sharper minima (larger top Hessian "
                         "eigenvalue) generalise worse",
        needs=frozenset({"weights", "data", "gradients"}), cost="expensive", stochastic=True, applies_to="any",
        reference="Keskar et al. 2017 (arXiv 1609.04836); " + JIANG + "; power iteration as in PyHessian "
                  "(Yao et al. 2020, arXiv 1912.07145)",
        description="largest eigenvalue of the Hessian of the full-batch training loss over all parameters, by "
                    "power iteration on exact Hessian-vector products (rtol 1e-3, at most 100 products; a shifted "
                    "second run when the dominant eigenvalue is negative)",
    )

    def compute(self, model: nn.Module, ctx: MeasureContext) -> float:
        x, y, loss = ctx.x_train, ctx.y_train, ctx.task.loss

        def loss_fn(p: Params, targets: torch.Tensor) -> torch.Tensor:
            return loss(functional_call(model, p, (x,)), targets)

        return top_hessian_eigenvalue(loss_fn, dict(model.named_parameters()), ctx.generator, y)


@register_measure
class PacBayesFlatness(Measure):
    info = MeasureInfo(
        name="pac-bayes-flatness", version="1", direction=+1,
        direction_source="Jiang et al. 2020: pacbayes.flatness 1/σ'² is a complexity measure (larger = sharper = "
                         "worse generalisation), among the best-correlated in their study",
        needs=frozenset({"weights", "data"}), cost="expensive", stochastic=True, applies_to="any", reference=JIANG,
        description="1/σ'², σ' the largest std of isotropic Gaussian weight noise keeping the mean training error "
                    "over 16 draws within 0.1 of the unperturbed error (bisection in log σ on fixed draws); tasks "
                    "that score accuracy",
    )

    def compute(self, model: nn.Module, ctx: MeasureContext) -> float:
        x, y, task = ctx.x_train, ctx.y_train, ctx.task

        def error_of(p: Params) -> torch.Tensor:
            return 1.0 - task.correct(functional_call(model, p, (x,)), y).to(torch.float64).mean()

        with torch.no_grad():
            sigma = flatness_sigma(error_of, dict(model.named_parameters()), ctx.generator)
        return 1.0 / sigma ** 2
