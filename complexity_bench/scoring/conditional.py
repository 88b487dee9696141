"""The conditional headline and the controls' question (docs/protocol.md, "Version 3").

What a measure tells beyond the training recipe and the clock. Both headline parts
compare two runs *of the same configuration* (same hyperparameters, different seed)
*at the same step*, so anything that is a function of the hyperparameters and the
step alone ties in every pair and is undefined here, never credited. Weight-decay-0
control configurations are left out of both (they have their own column).

- cf_cindex (forecast): over pairs (i, j) of runs of one configuration where i's
  generalisation was observed and came first (T_gen_i < T_gen_j, or equal with j
  censored at the budget), the share where s_i < s_j (ties 1/2). s is taken at the
  pair's common step: the last judgement step both runs have at or before the earlier
  of their memorisation checkpoints. The target is T_gen, not the delay, whose
  denominator T_mem would let a value that tracks T_mem (the clock) order the pairs.
- cw_auroc (early warning): over pairs of checkpoints at the same step of the same
  configuration, one labelled "test accuracy reaches q by h*t" and one not (the
  checkpoints and labels of ``ew_auroc``), the share where the positive one has the
  smaller s (ties 1/2). Raw s(t), not p(t): p's anchor s(T_mem) would bring the clock back.
- ctl_auroc (controls, reported beside): AUROC of s(T_mem) for "this run is a control"
  over memorised control runs against grokking runs of the other configurations. Does
  the measure tell a run that will never generalise from one that will?

Values within numerical noise of each other count as ties (the "no variance" rule,
``numerics.within_noise``: 1e-5 of their magnitude).
Bootstrap: a pair weighs the product of its two runs' multiplicities.

    >>> import numpy as np
    >>> conc = pair_concordance(np.array([1.0, 2.0]), np.array([3.0, 2.0]))
    >>> conc.tolist()  # the first pair concordant, the second tied
    [1.0, 0.5]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from complexity_bench.scoring.bootstrap import Result
from complexity_bench.numerics import within_noise
from complexity_bench.scoring.prepare import Series, TaskRuns, no_variance
from complexity_bench.scoring.stats import chunked, weighted_auroc, weighted_pair_mean

if TYPE_CHECKING:  # config collects this module's COLUMNS, so no runtime import back
    from complexity_bench.scoring.config import ScoreConfig

# Score columns this module fills, and whether larger is better (scoring/config.py collects them).
COLUMNS: dict[str, bool | None] = {"cw_auroc": True, "cf_cindex": True, "ctl_auroc": True}

def pair_concordance(sooner: np.ndarray, later: np.ndarray) -> np.ndarray:
    """1 where the run that generalises sooner has the smaller s, 0 where larger, 1/2 for a tie."""
    tie = within_noise(np.abs(sooner - later), np.maximum(np.abs(sooner), np.abs(later)))
    return np.where(tie, 0.5, (sooner < later).astype(float))


def _set_pairs(res: Result, name: str, sooner: np.ndarray, later: np.ndarray, ia: np.ndarray, ib: np.ndarray,
               W: np.ndarray, none_reason: str) -> None:
    B = W.shape[0]
    res.counts[f"n_pairs_{name.split('_')[0]}"] = int(len(ia))
    if len(ia) == 0:
        res.nan((name,), none_reason, B)
        return
    conc = pair_concordance(sooner, later)
    tie = conc == 0.5
    if tie.all():
        res.nan((name,), "the measure does not vary within a configuration at a common step "
                         "(a function of the recipe and the clock)", B)
        return
    res.set(name, conc.mean(), chunked(weighted_pair_mean, W, len(ia), conc, ia, ib))


def comparable_pairs(end: np.ndarray, censored: np.ndarray, config: np.ndarray,
                     eligible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sooner, later) run indices of every ordered pair of eligible runs of one configuration whose
    generalisation order is known: the sooner one generalised (not censored) and ``end`` (T_gen, or
    the budget when censored) is smaller, or equal with the later one censored (it outlived the budget)."""
    end = np.asarray(end, float)
    censored = np.asarray(censored, bool)
    ok = np.asarray(eligible, bool) & np.isfinite(end)
    ei, ej = end[:, None], end[None, :]
    known = ~censored[:, None] & ((ei < ej) | ((ei == ej) & censored[None, :]))
    same = (config[:, None] == config[None, :]) & ok[:, None] & ok[None, :]
    ia, ib = np.nonzero(known & same)
    order = np.lexsort((ib, ia, config[ia]))  # by configuration, then sooner run, then later run
    return ia[order], ib[order]


def forecast_cindex(x: np.ndarray, end: np.ndarray, censored: np.ndarray, config: np.ndarray,
                    W: np.ndarray) -> np.ndarray:
    """``cf_cindex`` when each run has one value x (the same common step for every pair), one per row
    of the (B, n) weights W: the pair concordance of :func:`comparable_pairs` averaged with pair
    weights W[:, i] W[:, j]; NaN where no pair has weight. The power analysis simulates with it."""
    ia, ib = comparable_pairs(end, censored, config, np.ones(len(x), bool))
    if len(ia) == 0:
        return np.full(W.shape[0], np.nan)
    return chunked(weighted_pair_mean, W, len(ia), pair_concordance(x[ia], x[ib]), ia, ib)


def _value_at(series: Series, bounds: np.ndarray, r: int, step: float) -> float:
    a, b = bounds[r], bounds[r + 1]
    k = a + np.searchsorted(series.step[a:b], step)
    return float(series.s[k]) if k < b and series.step[k] == step else np.nan


def _forecast_pairs(series: Series, runs: TaskRuns) -> tuple[np.ndarray, ...]:
    """(sooner value, later value, sooner run, later run) of every comparable same-configuration pair,
    the values read at the pair's common step."""
    bounds = np.searchsorted(series.run, np.arange(len(runs) + 1))
    end = np.where(runs.censored, runs.budget, runs.t_gen)
    ok = runs.memorised & ~runs.control & np.isfinite(runs.mem_step)
    out: list[tuple[float, float, int, int]] = []
    for i, j in zip(*comparable_pairs(end, runs.censored, runs.config_id, ok)):
        limit = min(runs.mem_step[i], runs.mem_step[j])
        common = np.intersect1d(runs.steps[i], runs.steps[j])
        common = common[common <= limit]
        if common.size == 0:
            continue
        t = common.max()
        xi, xj = _value_at(series, bounds, i, t), _value_at(series, bounds, j, t)
        if np.isfinite(xi) and np.isfinite(xj):
            out.append((xi, xj, i, j))
    if not out:
        e = np.zeros(0)
        return e, e, e.astype(int), e.astype(int)
    a = np.array(out)
    return a[:, 0], a[:, 1], a[:, 2].astype(int), a[:, 3].astype(int)


def _warning_pairs(series: Series, runs: TaskRuns, cfg: "ScoreConfig") -> tuple[np.ndarray, ...]:
    """(positive value, negative value, positive run, negative run) of every pair of checkpoints at one
    step of one configuration with opposite labels (the checkpoints ``ew_auroc`` scores)."""
    r, t = series.run, series.step
    with np.errstate(invalid="ignore"):
        grok, never = runs.grokked[r], runs.never[r]
        watched = (cfg.horizon * t <= runs.budget[r]) | cfg.censored_late_negative
        scored = (t > runs.t_mem[r]) & ((grok & (t < runs.t_gen[r])) | (never & watched)) & ~runs.control[r]
        label = grok & (runs.t_gen[r] <= cfg.horizon * t)
    idx = np.flatnonzero(scored)
    key = runs.config_id[r[idx]].astype(float) * 1e12 + t[idx]
    order = np.argsort(key, kind="mergesort")
    idx, key = idx[order], key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    ends = np.r_[starts[1:], len(idx)]
    pos_parts, neg_parts = [], []
    for a, b in zip(starts, ends):
        group = idx[a:b]
        pos, neg = group[label[group]], group[~label[group]]
        if len(pos) and len(neg):
            pp, nn = np.meshgrid(pos, neg, indexing="ij")
            pos_parts.append(pp.ravel())
            neg_parts.append(nn.ravel())
    if not pos_parts:
        e = np.zeros(0)
        return e, e, e.astype(int), e.astype(int)
    p, n = np.concatenate(pos_parts), np.concatenate(neg_parts)
    return series.s[p], series.s[n], r[p], r[n]


def _controls(series: Series, runs: TaskRuns, W: np.ndarray) -> Result:
    res = Result()
    B = W.shape[0]
    x = series.s_mem
    ctl = runs.control & runs.memorised & np.isfinite(x)
    other = runs.grokked & ~runs.control & np.isfinite(x)
    use = ctl | other
    res.counts["n_runs_ctl"] = int(ctl.sum())
    if not ctl.any() or not other.any():
        res.nan(("ctl_auroc",), "needs memorised weight-decay-0 controls and grokking runs of other configurations", B)
    elif no_variance(x[use]):
        res.nan(("ctl_auroc",), "constant measure at T_mem", B)
    else:
        lab = ctl[use]
        key = x[use]
        point = weighted_auroc(key, lab, np.ones((1, int(use.sum()))))[0]
        res.set("ctl_auroc", point, chunked(weighted_auroc, W[:, use], int(use.sum()), key, lab))
    return res


def score_conditional(series: Series, runs: TaskRuns, W: np.ndarray, cfg: "ScoreConfig") -> Result:
    """cf_cindex, cw_auroc and ctl_auroc of one (measure, task); W is the (B, R) bootstrap weight matrix."""
    res = Result()
    sooner, later, ia, ib = _forecast_pairs(series, runs)
    _set_pairs(res, "cf_cindex", sooner, later, ia, ib, W,
               "no pair of runs of one configuration with a known generalisation order and a common step")
    pos, neg, ip, ineg = _warning_pairs(series, runs, cfg)
    _set_pairs(res, "cw_auroc", pos, neg, ip, ineg, W,
               "no pair of checkpoints at one step of one configuration with opposite labels")
    res.update(_controls(series, runs, W))
    return res
