"""Forecast across runs (docs/protocol.md, "Forecast"): does the measure at T_mem rank the runs' delays?

Feature: x = direction * m(T_mem) (the value at the run's memorisation checkpoint),
and the excess over initialisation x_exc = direction * (m(T_mem) - m(0)).
Target: the delay D = log10(T_gen / T_mem) (T_gen = budget and censored when
the run never generalised). Convention: a *larger* x should mean a *longer*
delay, so positive tau / C > 0.5 / positive Psi are good.

- fc_tau, fc_tau_excess: Kendall tau_b (scipy) of x vs D over uncensored runs.
- fc_cindex, fc_cindex_excess: Harrell's C with censoring (stats.harrell_c).
- fc_psi, fc_sign_error_mean, fc_sign_error_max: pairwise scores over runs that
  differ in exactly one variant axis (granulated.py).

    >>> from scipy.stats import kendalltau
    >>> round(float(kendalltau([1, 2, 3], [0.1, 0.5, 0.3])[0]), 4)  # (2 concordant - 1 discordant) / 3
    0.3333
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import warnings

import numpy as np
from scipy import stats

from complexity_bench.scoring.bootstrap import Result
if TYPE_CHECKING:  # config collects this module's COLUMNS, so no runtime import back
    from complexity_bench.scoring.config import ScoreConfig
from complexity_bench.scoring.granulated import score_granulated
from complexity_bench.scoring.prepare import Series, TaskRuns, no_variance
from complexity_bench.scoring.stats import harrell_c, weighted_tau_b

# Score columns this module fills itself, and whether larger is better (scoring/config.py collects them;
# the granulated ones are granulated.COLUMNS).
COLUMNS: dict[str, bool | None] = {"fc_tau": True, "fc_tau_excess": True, "fc_cindex": True, "fc_cindex_excess": True}


def _tau(res: Result, name: str, x: np.ndarray, D: np.ndarray, W: np.ndarray, cfg: ScoreConfig) -> None:
    B = W.shape[0]
    if len(x) < cfg.min_points:
        res.nan((name,), f"fewer than {cfg.min_points} uncensored runs with a value at T_mem", B)
    elif no_variance(x):
        res.nan((name,), "constant measure at T_mem", B)
    elif no_variance(D):
        res.nan((name,), "all delays equal", B)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tau = stats.kendalltau(x, D, variant="b")[0]
        res.set(name, tau, weighted_tau_b(x, D, W))


def _cindex(res: Result, name: str, x: np.ndarray, D: np.ndarray, ev: np.ndarray, W: np.ndarray) -> None:
    B = W.shape[0]
    if len(x) >= 2 and no_variance(x):
        res.nan((name,), "constant measure at T_mem", B)
        return
    c = harrell_c(x, D, ev)[0]
    if not np.isfinite(c):
        res.nan((name,), "no comparable pair (needs an observed delay shorter than another run's)", B)
    else:
        res.set(name, c, harrell_c(x, D, ev, W))


def score_forecast(series: Series, runs: TaskRuns, W: np.ndarray, cfg: ScoreConfig) -> Result:
    res = Result()
    x = series.s_mem
    x_exc = series.s_mem - series.s_init
    use = runs.memorised & np.isfinite(x) & np.isfinite(runs.delay)
    unc = use & ~runs.censored
    res.counts["n_runs_forecast"] = int(use.sum())
    res.counts["n_runs_censored"] = int((use & runs.censored).sum())
    _tau(res, "fc_tau", x[unc], runs.delay[unc], W[:, unc], cfg)
    _cindex(res, "fc_cindex", x[use], runs.delay[use], ~runs.censored[use], W[:, use])
    # s(0) can be missing where s(T_mem) is not: the excess has its own runs
    use_exc = use & np.isfinite(x_exc)
    unc_exc = use_exc & ~runs.censored
    _tau(res, "fc_tau_excess", x_exc[unc_exc], runs.delay[unc_exc], W[:, unc_exc], cfg)
    _cindex(res, "fc_cindex_excess", x_exc[use_exc], runs.delay[use_exc], ~runs.censored[use_exc], W[:, use_exc])
    res.update(score_granulated(x, runs, use, W, cfg))
    return res
