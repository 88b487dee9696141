"""Early warning (SPEC §6.2, causal): does the measure's progress since T_mem announce grokking?

Predictor at checkpoint t of a run (s = direction * measure, larger = more complex):

    p(t) = (s(T_mem) - s(t)) / (|s(T_mem) - s(0)| + eps)

i.e. how far the measure has fallen since memorisation, relative to how far it
rose before; s(T_mem) is the value at the last checkpoint <= T_mem (causal).
Larger p = "generalisation is near".

- ew_auroc: AUROC of p(t) for the label "test accuracy reaches q by t*h"
  (T_gen <= h*t), over checkpoints T_mem < t < T_gen of grokking runs and
  t > T_mem of never-generalising runs with h*t <= budget (beyond the budget
  the label is unknown for a censored run; ScoreConfig.censored_late_negative
  labels those negative instead). 0.5 = chance, 1 = perfect.
- ew_lead_time: alarm threshold theta = the smallest per-run maximum of p over
  never-generalising runs (all checkpoints after T_mem) that at most a
  ``false_alarm`` share of them exceed; a grokking run alarms at its first
  checkpoint T_mem < t < T_gen with p(t) > theta; lead = log10(T_gen / t_alarm),
  0 for a run that never alarms. Mean over grokking runs that have a checkpoint
  between T_mem and T_gen (log10 steps; larger = earlier warning).
- ew_detect_rate: share of grokking runs that alarm before T_gen.
- ew_false_alarm_rate: realised share of never-generalising runs that alarm
  (<= false_alarm by construction; a diagnostic).

For the ``step`` baseline (value = step, direction -1) p(t) = t/T_mem - 1: the
clock a measure must beat.

    >>> s_mem, s0, s_t = 10.0, 2.0, 6.0
    >>> round((s_mem - s_t) / (abs(s_mem - s0) + 1e-12), 6)
    0.5
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

from .bootstrap import Result
from .config import ScoreConfig
from .prepare import Series, TaskRuns
from .stats import chunked, weighted_auroc

COLUMNS = ("ew_auroc", "ew_lead_time", "ew_detect_rate", "ew_false_alarm_rate")


def predictor(series: Series, eps: float) -> np.ndarray:
    """p(t) for every point of the series (NaN for runs without s(T_mem))."""
    r = series.run
    return (series.s_mem[r] - series.s) / (np.abs(series.s_mem[r] - series.s_init[r]) + eps)


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


def score_early_warning(series: Series, runs: TaskRuns, W: np.ndarray, cfg: ScoreConfig) -> Result:
    res = Result()
    B = W.shape[0]
    p = predictor(series, cfg.eps)
    r, t = series.run, series.step
    has = np.isfinite(p)
    grok, never = runs.grokked[r], runs.never[r]
    after = t > runs.t_mem[r]
    with np.errstate(invalid="ignore"):
        before_gen = t < runs.t_gen[r]
        watched = (cfg.horizon * t <= runs.budget[r]) | cfg.censored_late_negative
        label_known = grok | (never & watched)
        label = grok & (runs.t_gen[r] <= cfg.horizon * t)
    pts = has & after & ((grok & before_gen) | never) & label_known
    res.counts["n_runs_ew"] = int(len(np.unique(r[pts])))
    res.counts["n_ckpt_ew"] = int(pts.sum())

    # AUROC.
    lab = label[pts]
    if pts.sum() == 0:
        res.nan(("ew_auroc",), "no checkpoints after T_mem with a measure value", B)
    elif lab.all() or not lab.any():
        res.nan(("ew_auroc",), "only one label class (no positive or no negative checkpoints)", B)
    else:
        res.set("ew_auroc", roc_auc_score(lab, p[pts]), chunked(weighted_auroc, W[:, r[pts]], int(pts.sum()), p[pts], lab))

    # Lead time at a calibrated false-alarm rate.
    R = len(runs)
    nv = has & after & never
    grk = has & after & grok & before_gen
    never_runs = np.flatnonzero(runs.never & np.isfinite(series.s_mem))
    # Only runs with a checkpoint strictly between T_mem and T_gen can be warned about;
    # a run that generalises before its next checkpoint is left out, not counted a miss.
    has_window = np.zeros(R, bool)
    has_window[np.unique(r[grk])] = True
    grok_runs = np.flatnonzero(runs.grokked & np.isfinite(series.s_mem) & has_window)
    maxima = np.full(R, -np.inf)
    np.maximum.at(maxima, r[nv], p[nv])
    res.counts["n_runs_never"] = int(len(never_runs))
    if len(never_runs) == 0:
        res.nan(("ew_lead_time", "ew_detect_rate", "ew_false_alarm_rate"),
                "no never-generalising runs to calibrate the alarm on", B)
        return res
    if len(grok_runs) == 0:
        res.nan(("ew_lead_time", "ew_detect_rate", "ew_false_alarm_rate"),
                "no grokking run has a checkpoint between T_mem and T_gen", B)
        return res
    Wall = np.vstack([np.ones((1, R)), W])  # row 0: the point estimate
    theta = calibrate_threshold(maxima[never_runs], Wall[:, never_runs], cfg.false_alarm)
    fa = (maxima[never_runs][None, :] > theta[:, None]).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        far = (Wall[:, never_runs] * fa).sum(axis=1) / Wall[:, never_runs].sum(axis=1)
    lead = np.zeros((len(theta), len(grok_runs)))
    det = np.zeros_like(lead)
    for j, k in enumerate(grok_runs):
        sel = grk & (r == k)
        if not sel.any():
            continue
        cm = np.maximum.accumulate(p[sel])
        idx = np.searchsorted(cm, theta, side="right")  # first checkpoint with p > theta
        hit = (idx < len(cm)) & np.isfinite(theta)
        t_alarm = t[sel][np.minimum(idx, len(cm) - 1)]
        lead[:, j] = np.where(hit, np.log10(runs.t_gen[k] / np.maximum(t_alarm, 1.0)), 0.0)
        det[:, j] = hit
    Wg = Wall[:, grok_runs]
    with np.errstate(invalid="ignore", divide="ignore"):
        lead_m = (Wg * lead).sum(axis=1) / Wg.sum(axis=1)
        det_m = (Wg * det).sum(axis=1) / Wg.sum(axis=1)
    lead_m[~np.isfinite(theta)] = np.nan
    det_m[~np.isfinite(theta)] = np.nan
    res.set("ew_lead_time", lead_m[0], lead_m[1:])
    res.set("ew_detect_rate", det_m[0], det_m[1:])
    res.set("ew_false_alarm_rate", far[0], far[1:])
    res.counts["n_runs_lead"] = int(len(grok_runs))
    return res

