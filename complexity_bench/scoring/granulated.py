"""Pairwise forecast scores over the variant axes: granulated Kendall Psi and sign-error.

Both look at pairs of runs (i, j) whose variant configurations differ in
exactly one axis (seeds may differ). x = direction * m(T_mem), D = delay.

Delay order of a pair, with censoring (a censored D is a lower bound):
both uncensored -> sign(D_i - D_j); one censored with D_c >= D_u -> the
censored run is longer; otherwise (both censored, or D_c < D_u) unknown and the
pair is left out.

Granulated Psi (Jiang et al. 2020): for axis a, a group is a setting of all
other axes; psi_group = mean over the group's pairs (differing in a) of
sign(x_i - x_j) * sign(D_i - D_j) (Jiang's tau with one model per
configuration; equal delays count 0); psi_a = mean over groups; Psi = mean
over axes. Range [-1, 1], larger = better.

Sign-error (Dziugaite et al. 2020): an environment is an unordered pair of
configurations differing in one axis; each run pair across them has loss
(1 - sign(x_i - x_j) * sign(D_i - D_j)) / 2 (0 right, 1 wrong, 0.5 when the
measure ties); pairs whose delays differ by less than ``sign_tol`` are left
out (seed noise). Environment loss = mean over its pairs; report the mean and
the max (worst case) over environments. Range [0, 1], smaller = better.

Hand example (one axis "wd", three configs, no censoring)::

    >>> import numpy as np
    >>> import pandas as pd
    >>> from complexity_bench.scoring.prepare import TaskRuns
    >>> runs = TaskRuns.from_frame(pd.DataFrame({"run_id": list("abc"), "task": "t",
    ...     "t_mem": 10.0, "t_gen": [100.0, 1000.0, 10000.0], "censored": False,
    ...     "budget": 10**5, "axes": "wd", "wd": [1.0, 0.5, 0.1]}))
    >>> res = score_granulated(np.array([1.0, 3.0, 2.0]), runs, np.ones(3, bool), np.ones((0, 3)),
    ...                        __import__("complexity_bench.scoring.config", fromlist=["x"]).ScoreConfig())
    >>> round(res.values["fc_psi"], 4), round(res.values["fc_sign_error_max"], 4)
    (0.3333, 1.0)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import warnings

import numpy as np

from complexity_bench.scoring.bootstrap import Result
if TYPE_CHECKING:  # config collects this module's COLUMNS, so no runtime import back
    from complexity_bench.scoring.config import ScoreConfig
from complexity_bench.scoring.prepare import TaskRuns, no_variance
from complexity_bench.scoring.stats import group_means

# Score columns this module fills, and whether larger is better (scoring/config.py collects them).
COLUMNS: dict[str, bool | None] = {"fc_psi": True, "fc_sign_error_mean": False, "fc_sign_error_max": False}


def one_axis_pairs(runs: TaskRuns, use: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, axis) for i < j among ``use`` whose configurations differ in exactly one axis."""
    A = len(runs.axes)
    idx = np.flatnonzero(use)
    if A == 0 or len(idx) < 2:
        e = np.zeros(0, int)
        return e, e, e
    codes = np.zeros((len(idx), A), int)
    for a in range(A):
        vals = [runs.configs[k][a] for k in idx]
        lookup = {v: n for n, v in enumerate(dict.fromkeys(vals))}
        codes[:, a] = [lookup[v] for v in vals]
    diff = codes[:, None, :] != codes[None, :, :]
    nd = diff.sum(axis=2)
    ii, jj = np.nonzero(np.triu(nd == 1, k=1))
    axis = np.argmax(diff[ii, jj], axis=1)
    return idx[ii], idx[jj], axis


def delay_order(runs: TaskRuns, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(known, sign(D_i - D_j), |gap| lower bound) of pairs, with the censoring rule above."""
    Di, Dj = runs.delay[i], runs.delay[j]
    ci, cj = runs.censored[i], runs.censored[j]
    sgn = np.sign(Di - Dj)
    known = ~ci & ~cj
    a = ci & ~cj & (Di >= Dj)
    b = cj & ~ci & (Dj >= Di)
    sgn = np.where(a, 1.0, np.where(b, -1.0, sgn))
    known = known | a | b
    return known, sgn, np.abs(Di - Dj)


def score_granulated(x: np.ndarray, runs: TaskRuns, use: np.ndarray, W: np.ndarray, cfg: ScoreConfig) -> Result:
    """Psi and sign-errors of one (measure, task); row 0 of the internal weights is the point estimate."""
    res = Result()
    B = W.shape[0]
    if not runs.axes:
        res.nan(COLUMNS, "task has no variant axes", B)
        return res
    if use.sum() >= 2 and no_variance(x[use]):
        res.nan(COLUMNS, "constant measure at T_mem", B)
        return res
    i, j, axis = one_axis_pairs(runs, use)
    known, sD, gap = delay_order(runs, i, j)
    i, j, axis, sD, gap = i[known], j[known], axis[known], sD[known], gap[known]
    cens_pair = runs.censored[i] | runs.censored[j]
    res.counts["n_pairs_one_axis"] = int(len(i))
    if len(i) == 0:
        res.nan(COLUMNS, "no pair of runs differing in one axis with a known delay order", B)
        return res
    Wall = np.vstack([np.ones((1, W.shape[1])), W])
    pw = Wall[:, i] * Wall[:, j]
    sx = np.sign(x[i] - x[j])

    # Psi: groups = (axis, values of the other axes).
    A = len(runs.axes)
    gkeys = [(int(a), tuple(v for n, v in enumerate(runs.configs[k]) if n != a)) for a, k in zip(axis, i)]
    glookup = {g: n for n, g in enumerate(dict.fromkeys(gkeys))}
    gid = np.array([glookup[g] for g in gkeys])
    g_axis = np.array([g[0] for g in glookup])
    gm = group_means(sx * sD, pw, gid, len(glookup))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        per_axis = np.stack([np.nanmean(gm[:, g_axis == a], axis=1) if (g_axis == a).any()
                             else np.full(gm.shape[0], np.nan) for a in range(A)], axis=1)
        psi = np.nanmean(per_axis, axis=1)
    res.set("fc_psi", psi[0], psi[1:])
    res.counts["n_psi_groups"] = len(glookup)

    # Sign-error: environments = unordered pairs of configurations differing in one axis.
    keep = (gap >= cfg.sign_tol) & ((gap > 0) | cens_pair)
    if not keep.any():
        res.nan(("fc_sign_error_mean", "fc_sign_error_max"),
                f"no one-axis pair with delays differing by >= {cfg.sign_tol} (log10)", B)
        return res
    ek = [tuple(sorted((runs.configs[a], runs.configs[b]), key=repr)) for a, b in zip(i[keep], j[keep])]
    elookup = {e: n for n, e in enumerate(dict.fromkeys(ek))}
    eid = np.array([elookup[e] for e in ek])
    loss = (1.0 - sx[keep] * sD[keep]) / 2.0
    em = group_means(loss, pw[:, keep], eid, len(elookup))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean, worst = np.nanmean(em, axis=1), np.nanmax(em, axis=1)
    res.set("fc_sign_error_mean", mean[0], mean[1:])
    res.set("fc_sign_error_max", worst[0], worst[1:])
    res.counts["n_sign_envs"] = len(elookup)
    return res
