"""Tracking (docs/protocol.md, "Tracking"): does the measure move with the test loss while a run groks?

Points: the checkpoints with T_mem <= step <= T_gen of the runs that grok
(memorised and generalised within the budget) at which the measure and the
test loss both have values.

- trk_rho: Spearman rho between s = direction * measure and test loss, pooled
  over the points of all grokking runs of the task (the same value should mean
  the same test loss whichever run it comes from). +1 = perfectly monotone.
- trk_r2: R^2 of the straight-line fit test_loss ~ a + b * measure on the same
  points (= Pearson r^2; independent of direction), the paper's "LMN is linear
  in test loss" claim.
- trk_rho_run_median / trk_r2_run_median: the same per run (runs with at
  least ``min_points`` points), median over runs. Within one run test loss falls
  monotonically, so anything monotone in time scores ~1 here: read it beside
  the ``step`` baseline.

    >>> import numpy as np
    >>> from scipy.stats import spearmanr
    >>> float(spearmanr([3., 2., 1.], [0.9, 0.5, 0.1])[0])
    1.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import warnings

import numpy as np
from scipy import stats

from complexity_bench.scoring.bootstrap import Result
if TYPE_CHECKING:  # config collects this module's COLUMNS, so no runtime import back
    from complexity_bench.scoring.config import ScoreConfig
from complexity_bench.scoring.prepare import Series, TaskRuns, no_variance
from complexity_bench.scoring.stats import chunked, weighted_median, weighted_pearson, weighted_spearman

# Score columns this module fills, and whether larger is better (scoring/config.py collects them).
COLUMNS: dict[str, bool | None] = {"trk_rho": True, "trk_r2": True, "trk_rho_run_median": True,
                                   "trk_r2_run_median": True}


def tracking_points(series: Series, runs: TaskRuns) -> np.ndarray:
    """Boolean mask over the series' points that lie in [T_mem, T_gen] of a grokking run."""
    r = series.run
    grok = runs.grokked[r]
    with np.errstate(invalid="ignore"):
        inside = (series.step >= runs.t_mem[r]) & (series.step <= runs.t_gen[r])
    return grok & inside & np.isfinite(series.test_loss)


def score_tracking(series: Series, runs: TaskRuns, W: np.ndarray, cfg: ScoreConfig) -> Result:
    """Tracking scores of one (measure, task); W is the (B, R) bootstrap weight matrix."""
    res = Result()
    B = W.shape[0]
    m = tracking_points(series, runs)
    x, y, run = series.s[m], series.test_loss[m], series.run[m]
    res.counts["n_runs_tracking"] = int(len(np.unique(run)))
    res.counts["n_ckpt_tracking"] = int(m.sum())
    if not runs.grokked.any():
        res.nan(COLUMNS, "no run groks in this task", B)
        return res
    if len(x) < cfg.min_points:
        res.nan(COLUMNS, f"fewer than {cfg.min_points} checkpoints in [T_mem, T_gen]", B)
        return res

    # Pooled.
    Wp = W[:, run]
    if no_variance(x):
        res.nan(("trk_rho", "trk_r2"), "constant measure", B)
    elif no_variance(y):
        res.nan(("trk_rho", "trk_r2"), "constant test loss", B)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rho = stats.spearmanr(x, y)[0]
            r = stats.pearsonr(x, y)[0]
        res.set("trk_rho", rho, chunked(weighted_spearman, Wp, len(x), x, y), "undefined")
        res.set("trk_r2", r * r, chunked(weighted_pearson, Wp, len(x), x, y) ** 2, "undefined")

    # Per run, then the median over runs.
    R = len(runs)
    rho_run = np.full(R, np.nan)
    r2_run = np.full(R, np.nan)
    for k in np.unique(run):
        sel = run == k
        xr, yr = x[sel], y[sel]
        if len(xr) < cfg.min_points or no_variance(xr) or no_variance(yr):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rho_run[k] = stats.spearmanr(xr, yr)[0]
            r2_run[k] = stats.pearsonr(xr, yr)[0] ** 2
    n_ok = int(np.isfinite(rho_run).sum())
    res.counts["n_runs_tracking_per_run"] = n_ok
    if n_ok == 0:
        res.nan(("trk_rho_run_median", "trk_r2_run_median"),
                f"no grokking run has >= {cfg.min_points} non-constant checkpoints in [T_mem, T_gen]", B)
    else:
        res.set("trk_rho_run_median", np.nanmedian(rho_run), weighted_median(rho_run, W))
        res.set("trk_r2_run_median", np.nanmedian(r2_run), weighted_median(r2_run, W))
    return res
