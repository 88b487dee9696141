"""Instability after generalisation (docs/protocol.md, "The instability question"; causal):
after T_gen, does the measure announce the next loss spike or collapse before it happens?

The event of a run is E = the earlier of T_spike and T_collapse (runs.csv; their
definitions: docs/protocol.md, "Events"). It is scored like early warning, with every
anchor moved one event on. Predictor at checkpoint t (s = direction * measure):

    q(t) = (s(T_gen) - s(t)) / (|s(T_gen) - s(T_mem)| + eps)

how far the measure has fallen since generalisation, relative to how far it moved from
memorisation to generalisation; s(T_gen) is the value at the run's last judgement step
at or before T_gen, s(T_mem) the early-warning anchor. Larger q = "an event is near".
(The paper runs, docs/measurements/paper_*.csv, show LMN falling before the spike.)

- in_auroc: AUROC of q(t) for the label "the event happens by h*t" (E <= h*t, h the
  early-warning horizon), over checkpoints T_gen < t < E of generalised runs with an
  event, and T_gen < t with h*t <= the run's last evaluated step of generalised runs
  without one (negatives; beyond their last step the label is unknown). 0.5 = chance.

Runs that stop early at 1.5 x T_gen have no checkpoint with a known label unless an
event came first: the question needs the ``long`` suite (no early stop). The clock a
measure must beat is the ``step`` baseline's in_auroc on the same task, the recipe the
``recipe-*`` baselines' (scorer_baselines.py).

    >>> float(fall_since_gen(s_gen=4.0, s_mem=8.0, s=3.0, eps=0.0))
    0.25
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from sklearn.metrics import roc_auc_score

from complexity_bench.scoring.bootstrap import Result
from complexity_bench.scoring.prepare import Series, TaskRuns, no_variance
from complexity_bench.scoring.progress import relative_fall
from complexity_bench.scoring.stats import chunked, weighted_auroc

if TYPE_CHECKING:  # config collects this module's COLUMNS, so no runtime import back
    from complexity_bench.scoring.config import ScoreConfig

# Score columns this module fills, and whether larger is better (scoring/config.py collects them).
COLUMNS: dict[str, bool | None] = {"in_auroc": True}


def fall_since_gen(s_gen, s_mem, s, eps: float):
    """q(t) elementwise: early warning's relative fall with the anchors T_gen and T_mem."""
    return relative_fall(s_gen, s_mem, s, eps)


def gen_values(series: Series, runs: TaskRuns) -> np.ndarray:
    """Per run: s at the last judgement step <= T_gen (NaN without T_gen or a value exactly there)."""
    out = np.full(len(runs), np.nan)
    bounds = np.searchsorted(series.run, np.arange(len(runs) + 1))
    for r in np.flatnonzero(runs.grokked):
        steps = runs.steps[r] if runs.steps is not None else series.step[bounds[r]:bounds[r + 1]]
        before = steps[steps <= runs.t_gen[r]]
        if before.size == 0:
            continue
        a, b = bounds[r], bounds[r + 1]
        k = a + np.searchsorted(series.step[a:b], before.max())
        if k < b and series.step[k] == before.max():
            out[r] = series.s[k]
    return out


def score_instability(series: Series, runs: TaskRuns, W: np.ndarray, cfg: "ScoreConfig") -> Result:
    """in_auroc of one (measure, task); W is the (B, R) bootstrap weight matrix."""
    res = Result()
    B = W.shape[0]
    if runs.t_event is None:
        res.nan(tuple(COLUMNS), "runs.csv has no t_spike / t_collapse columns", B)
        return res
    r, t = series.run, series.step
    s_gen = gen_values(series, runs)
    q = fall_since_gen(s_gen[r], series.s_mem[r], series.s, cfg.eps)
    with np.errstate(invalid="ignore"):
        has_event = np.isfinite(runs.t_event[r])
        after_gen = runs.grokked[r] & (t > runs.t_gen[r])
        before_event = has_event & (t < runs.t_event[r])
        watched = ~has_event & (cfg.horizon * t <= runs.last_step[r])
        label = has_event & (runs.t_event[r] <= cfg.horizon * t)
    scored = np.isfinite(q) & after_gen & (before_event | watched)
    res.counts["n_runs_in"] = int(len(np.unique(r[scored])))
    res.counts["n_ckpt_in"] = int(scored.sum())
    lab = label[scored]
    if not scored.any():
        res.nan(tuple(COLUMNS), "no checkpoint after T_gen with a known label (runs stopped early; "
                                "the long suite trains past T_gen)", B)
    elif lab.all() or not lab.any():
        res.nan(tuple(COLUMNS), "only one label class (no checkpoint before an event, or none far from one)", B)
    elif no_variance(series.s[scored], s_gen[np.unique(r[scored])]):
        res.nan(tuple(COLUMNS), "the measure is constant on the checkpoints scored", B)
    else:
        res.set("in_auroc", roc_auc_score(lab, q[scored]),
                chunked(weighted_auroc, W[:, r[scored]], int(scored.sum()), q[scored], lab))
    return res
