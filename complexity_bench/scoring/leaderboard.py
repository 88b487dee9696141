"""Across-task leaderboard: mean of each score over tasks, bootstrap interval, rank.

For each measure and score: value = mean over the tasks where it is defined;
interval = percentiles of the across-task means of the replicates (replicate b
of every task averaged, tasks resampled independently). Rank: among causal
measures only, each headline column is ranked (1 = best; average ranks for
ties; an undefined value ranks last), ``mean_rank`` is the mean over headline
columns and ``rank`` orders measures by it (1 = best). Non-causal measures
(the oracle) keep empty ranks.

    >>> import pandas as pd
    >>> lb = pd.DataFrame({"measure": ["a", "b"], "causal": [True, True],
    ...     "trk_rho": [0.9, 0.1], "ew_auroc": [0.8, 0.6], "fc_cindex": [0.7, 0.5],
    ...     "fc_sign_error_max": [0.2, 0.9]})
    >>> add_ranks(lb)["rank"].tolist()
    [1.0, 2.0]
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from .bootstrap import interval
from .config import HEADLINE, HIGHER_IS_BETTER, SCORES, ScoreConfig


def add_ranks(lb: pd.DataFrame, headline: tuple[str, ...] = HEADLINE) -> pd.DataFrame:
    """Add ``rank_<col>``, ``mean_rank`` and ``rank`` columns (NaN for non-causal measures)."""
    lb = lb.copy()
    causal = lb["causal"].astype(bool).to_numpy()
    idx = np.flatnonzero(causal)
    ranks = []
    for col in headline:
        v = lb[col].to_numpy(float)[idx]
        key = -v if HIGHER_IS_BETTER[col] else v
        key = np.where(np.isfinite(key), key, np.inf)  # undefined ranks last
        rk = np.full(len(lb), np.nan)
        if len(idx):
            rk[idx] = rankdata(key, method="average")
        lb[f"rank_{col}"] = rk
        ranks.append(rk)
    mean_rank = np.mean(np.stack(ranks, axis=1), axis=1) if ranks else np.full(len(lb), np.nan)
    lb["mean_rank"] = mean_rank
    rank = np.full(len(lb), np.nan)
    if len(idx):
        rank[idx] = rankdata(mean_rank[idx], method="min")
    lb["rank"] = rank
    return lb


def build_leaderboard(by_task: pd.DataFrame, reps: dict[tuple[str, str], dict[str, np.ndarray]],
                      meta_cols: list[str], cfg: ScoreConfig) -> pd.DataFrame:
    """One row per measure from the by-task rows and their bootstrap replicates."""
    rows = []
    for measure, g in by_task.groupby("measure", sort=False):
        row: dict = {"measure": measure}
        first = g.iloc[0]
        for c in meta_cols:
            row[c] = first[c]
        row["n_tasks"] = int(g["n_ckpt"].gt(0).sum())
        row["tasks"] = "+".join(g.loc[g["n_ckpt"] > 0, "task"].astype(str))
        for c in ("n_runs", "n_ckpt", "n_missing"):
            row[c] = int(g[c].sum())
        for col in SCORES:
            vals = g[col].to_numpy(float)
            ok = np.isfinite(vals)
            row[col] = float(vals[ok].mean()) if ok.any() else np.nan
            row[f"{col}_n_tasks"] = int(ok.sum())
            stack = [reps[(measure, t)][col] for t, v in zip(g["task"], ok) if v and col in reps.get((measure, t), {})]
            if stack and cfg.n_boot > 0:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    across = np.nanmean(np.stack(stack, axis=0), axis=0)
                row[f"{col}_lo"], row[f"{col}_hi"] = interval(across, cfg.level)
            else:
                row[f"{col}_lo"], row[f"{col}_hi"] = np.nan, np.nan
        reasons = sorted({r for r in g["nan_reasons"].astype(str) if r})
        row["nan_reasons"] = " | ".join(f"{t}: {r}" for t, r in zip(g["task"], g["nan_reasons"].astype(str)) if r) \
            if reasons else ""
        rows.append(row)
    lb = pd.DataFrame(rows)
    if lb.empty:
        return lb
    lb = add_ranks(lb)
    lb = lb.sort_values(["rank", "mean_rank", "measure"], na_position="last", kind="mergesort").reset_index(drop=True)
    # Headline first (what a reader looks for), then metadata, counts, the other scores.
    head = [x for c in HEADLINE for x in (c, f"{c}_lo", f"{c}_hi")]
    rest = [x for c in SCORES if c not in HEADLINE for x in (c, f"{c}_lo", f"{c}_hi")]
    first = ["measure", "rank", "mean_rank", *head, *meta_cols, "n_tasks", "tasks", "n_runs", "n_ckpt",
             "n_missing", *rest, *[f"rank_{c}" for c in HEADLINE]]
    last = [*[f"{c}_n_tasks" for c in SCORES], "nan_reasons"]
    return lb[first + [c for c in lb.columns if c not in first and c not in last] + last]
