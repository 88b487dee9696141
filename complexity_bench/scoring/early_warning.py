"""Early warning (docs/protocol.md, "Early warning"; causal): does the measure's progress since T_mem announce grokking?

Predictor at checkpoint t of a run (s = direction * measure, larger = more complex):

    p(t) = (s(T_mem) - s(t)) / (|s(T_mem) - s(0)| + eps)

i.e. how far the measure has fallen since memorisation, relative to how far it
rose before; s(T_mem) is the value at the run's memorisation checkpoint (prepare.py).
Larger p = "generalisation is near".

- ew_auroc: AUROC of p(t) for the label "test accuracy reaches q by t*h"
  (T_gen <= h*t), over checkpoints T_mem < t < T_gen of grokking runs and
  t > T_mem of never-generalising runs with h*t <= budget (beyond the budget
  the label is unknown for a censored run; ScoreConfig.censored_late_negative
  labels those negative instead). 0.5 = chance, 1 = perfect.
- ew_lead_time: alarm threshold theta = the smallest per-run maximum of p over
  never-generalising runs (all checkpoints after T_mem) that at most a
  ``false_alarm`` share of them exceed, calibrated out of sample: on the runs of
  the other tasks (one task: of the other seeds; alarm_calibration.py). A
  grokking run alarms at its first checkpoint T_mem < t < T_gen with p(t) > theta;
  lead = log10(T_gen / t_alarm), 0 for a run that never alarms. Mean over grokking
  runs that have a checkpoint between T_mem and T_gen (log10 steps; larger =
  earlier warning).
- ew_detect_rate: share of grokking runs that alarm before T_gen.
- ew_false_alarm_rate: achieved share of the task's never-generalising runs that
  alarm at the out-of-sample threshold (a diagnostic, read beside its target
  ``false_alarm``); ew_false_alarm_floor: the same at the most cautious threshold
  the calibration runs allow (their largest maximum): above the target, no
  threshold learnt elsewhere reaches it on this task.

For the ``step`` baseline (value = step, direction -1) p(t) = t/T_mem - 1: the
clock a measure must beat. One run with T_mem = 100 (signed values s = -step):

    >>> import numpy as np
    >>> from complexity_bench.scoring.prepare import Series
    >>> steps = np.array([0.0, 50.0, 100.0, 200.0])
    >>> series = Series(run=np.zeros(4, dtype=int), step=steps, s=-steps, test_loss=steps, test_acc=steps,
    ...                 s_mem=np.array([-100.0]), s_init=np.array([0.0]), n_rows=4, n_missing=0, n_unknown_runs=0)
    >>> predictor(series, eps=1e-12).round(6).tolist()
    [-1.0, -0.5, 0.0, 1.0]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from sklearn.metrics import roc_auc_score

from complexity_bench.scoring.bootstrap import Result
if TYPE_CHECKING:  # config collects this module's COLUMNS, so no runtime import back
    from complexity_bench.scoring.config import ScoreConfig
from complexity_bench.scoring.prepare import Series, TaskRuns, no_variance
from complexity_bench.scoring.progress import relative_fall
from complexity_bench.scoring.stats import chunked, weighted_auroc

if TYPE_CHECKING:
    from complexity_bench.scoring.alarm_calibration import RunThresholds

# Score columns this module fills, and whether larger is better (None: a diagnostic; scoring/config.py
# collects them).
COLUMNS: dict[str, bool | None] = {"ew_auroc": True, "ew_lead_time": True, "ew_detect_rate": True,
                                   "ew_false_alarm_rate": None, "ew_false_alarm_floor": None}


def predictor(series: Series, eps: float) -> np.ndarray:
    """p(t) for every point of the series (NaN for runs without s(T_mem))."""
    r = series.run
    return relative_fall(series.s_mem[r], series.s_init[r], series.s, eps)


def never_run_maxima(series: Series, runs: TaskRuns, eps: float) -> np.ndarray:
    """Per run (R,): the largest p after T_mem of a never-generalising run; NaN for every
    other run and for a never-generalising run without s(T_mem) or a checkpoint after T_mem
    (it can neither alarm nor inform the threshold)."""
    p = predictor(series, eps)
    r, t = series.run, series.step
    with np.errstate(invalid="ignore"):
        keep = np.isfinite(p) & runs.never[r] & (t > runs.t_mem[r])
    maxima = np.full(len(runs), -np.inf)
    np.maximum.at(maxima, r[keep], p[keep])
    maxima[~np.isfinite(maxima)] = np.nan
    return maxima


def calibrate_threshold(maxima: np.ndarray, W: np.ndarray, alpha: float) -> np.ndarray:
    """Per replicate: the smallest v_k among run maxima with weight(maxima > v_k) <= alpha * total.

    Alarms fire on p > theta, so at most a share alpha of the (weighted) runs alarm.
    NaN for a replicate with no weight.
    """
    order = np.argsort(maxima, kind="mergesort")
    v = maxima[order]
    cw = np.cumsum(W[:, order], axis=1)
    tot = cw[:, -1:]
    # Ties: the share above v_k is measured at the end of v_k's tie group.
    last_of_group = np.r_[v[1:] != v[:-1], True]
    cw_end = np.where(last_of_group, cw, np.nan)
    cw_end = np.fmin.accumulate(cw_end[:, ::-1], axis=1)[:, ::-1]  # value at each tie group's end
    ok = (tot - cw_end) <= alpha * tot + 1e-9
    k = np.argmax(ok, axis=1)
    theta = v[k]
    theta[tot[:, 0] <= 0] = np.nan
    return theta


def score_early_warning(series: Series, runs: TaskRuns, W: np.ndarray, cfg: ScoreConfig,
                        thresholds: "RunThresholds") -> Result:
    """All early-warning scores of one (measure, task); W is the (B, R) bootstrap weight matrix,
    ``thresholds`` each run's out-of-sample alarm threshold (alarm_calibration.py)."""
    res = Result()
    B = W.shape[0]
    p = predictor(series, cfg.eps)
    r, t = series.run, series.step
    has_p = np.isfinite(p)
    grok, never = runs.grokked[r], runs.never[r]
    after_mem = t > runs.t_mem[r]
    with np.errstate(invalid="ignore"):
        before_gen = t < runs.t_gen[r]
        watched = (cfg.horizon * t <= runs.budget[r]) | cfg.censored_late_negative
        label_known = grok | (never & watched)
        label = grok & (runs.t_gen[r] <= cfg.horizon * t)
    scored = has_p & after_mem & ((grok & before_gen) | never) & label_known
    res.counts["n_runs_ew"] = int(len(np.unique(r[scored])))
    res.counts["n_ckpt_ew"] = int(scored.sum())
    if scored.any():
        involved = np.unique(r[scored])
        if no_variance(series.s[scored], series.s_mem[involved], series.s_init[involved]):
            res.nan(COLUMNS, "the measure is constant on the checkpoints scored", B)
            return res
    res.update(_auroc(p, scored, label, r, W))
    res.update(_lead_time(p, has_p & after_mem & grok & before_gen, series, runs, W, cfg, thresholds))
    return res


def _auroc(p: np.ndarray, scored: np.ndarray, label: np.ndarray, run: np.ndarray, W: np.ndarray) -> Result:
    """ew_auroc: AUROC of p for the label over the scored checkpoints."""
    res = Result()
    lab = label[scored]
    if not scored.any():
        res.nan(("ew_auroc",), "no checkpoints after T_mem with a measure value", W.shape[0])
    elif lab.all() or not lab.any():
        res.nan(("ew_auroc",), "only one label class (no positive or no negative checkpoints)", W.shape[0])
    else:
        res.set("ew_auroc", roc_auc_score(lab, p[scored]),
                chunked(weighted_auroc, W[:, run[scored]], int(scored.sum()), p[scored], lab))
    return res


def _lead_time(p: np.ndarray, in_window: np.ndarray, series: Series, runs: TaskRuns, W: np.ndarray,
               cfg: ScoreConfig, thresholds: "RunThresholds") -> Result:
    """ew_lead_time, ew_detect_rate, ew_false_alarm_rate, ew_false_alarm_floor at each run's
    out-of-sample threshold. ``in_window``: checkpoints T_mem < t < T_gen of grokking runs.
    The thresholds are fixed (the alarm a user receives); the replicates resample this
    task's runs."""
    res = Result()
    B, R = W.shape[0], len(runs)
    r, t = series.run, series.step
    lead_cols = ("ew_lead_time", "ew_detect_rate", "ew_false_alarm_rate", "ew_false_alarm_floor")
    theta, ceiling = thresholds.theta, thresholds.ceiling
    never_max = never_run_maxima(series, runs, cfg.eps)
    never_runs = np.flatnonzero(np.isfinite(never_max) & np.isfinite(theta))
    # Only runs with a checkpoint strictly between T_mem and T_gen can be warned about;
    # a run that generalises before its next checkpoint is left out, not counted a miss.
    has_window = np.zeros(R, bool)
    has_window[np.unique(r[in_window])] = True
    grok_runs = np.flatnonzero(runs.grokked & np.isfinite(series.s_mem) & has_window & np.isfinite(theta))
    res.counts["n_runs_never"] = int(np.isfinite(never_max).sum())
    if not np.isfinite(theta).any():
        res.nan(lead_cols, thresholds.reason or "no threshold to alarm at", B)
        return res
    weights = np.vstack([np.ones((1, R)), W])  # row 0: the point estimate, then the replicates
    if len(never_runs) == 0:
        why = "no never-generalising runs on this task" if not np.isfinite(never_max).any() else \
            "no calibration runs outside the held-out units of this task's never-generalising runs"
        res.nan(("ew_false_alarm_rate", "ew_false_alarm_floor"), why, B)
    else:
        wn = weights[:, never_runs]
        with np.errstate(invalid="ignore", divide="ignore"):
            far = wn @ (never_max[never_runs] > theta[never_runs]) / wn.sum(axis=1)
            floor = wn @ (never_max[never_runs] > ceiling[never_runs]) / wn.sum(axis=1)
        res.set("ew_false_alarm_rate", far[0], far[1:])
        res.set("ew_false_alarm_floor", floor[0], floor[1:])
    if len(grok_runs) == 0:
        res.nan(("ew_lead_time", "ew_detect_rate"), "no grokking run has a checkpoint between T_mem and T_gen", B)
        return res
    lead = np.zeros(len(grok_runs))
    detected = np.zeros(len(grok_runs))
    for j, k in enumerate(grok_runs):
        sel = in_window & (r == k)
        above = np.flatnonzero(p[sel] > theta[k])  # the first checkpoint with p > theta alarms
        if above.size:
            detected[j] = 1.0
            lead[j] = np.log10(runs.t_gen[k] / max(t[sel][above[0]], 1.0))
    wg = weights[:, grok_runs]
    with np.errstate(invalid="ignore", divide="ignore"):
        lead_mean = wg @ lead / wg.sum(axis=1)
        detect_mean = wg @ detected / wg.sum(axis=1)
    res.set("ew_lead_time", lead_mean[0], lead_mean[1:])
    res.set("ew_detect_rate", detect_mean[0], detect_mean[1:])
    res.counts["n_runs_lead"] = int(len(grok_runs))
    return res
