"""Sections, ranks and the pairwise table, per task and across tasks (docs/protocol.md, "Ranking").

Per (measure, task): ``headline`` = mean of cw_auroc and cf_cindex (undefined when
either is); ``recipe_headline`` = mean of ew_auroc and fc_cindex (the recipe level). Section: "not causal" (the oracle: shown, never ranked), "ranked"
(headline defined), or "unranked" (headline undefined; ``nan_reasons`` says why).

Across tasks: the *eligible* tasks are those on which at least one causal measure
has a defined headline (a task whose outcomes allow neither question, e.g. no
run grokked, is left out for every measure alike). A measure is ranked across
tasks when its headline is defined on every eligible task; its headline is the
mean over them, and replicate b is the mean of the tasks' replicates b. Measures
defined on fewer eligible tasks are listed in the "unranked" section, with the
mean over the tasks they are defined on, so no ranked row averages over a
different task set. Every other score X is the mean over the tasks where X is
defined (``X_n_tasks`` says how many).

Ranks, rank intervals and P(A beats B) come from ranking.py, for ``headline`` and
each of its two parts. Robustness (docs/protocol.md, "Version 3"): ``rank_loto_min``
and ``rank_loto_max`` are the best and worst rank over the leave-one-task-out
leaderboards (each eligible task left out in turn), and ``headline_task_min``,
``_median``, ``_max`` the spread of the measure's per-task headlines.

    >>> import pandas as pd
    >>> rows = pd.DataFrame({"measure": ["a", "b"], "task": "t", "causal": True, "n_ckpt": 5,
    ...     "cw_auroc": [0.9, 0.6], "cf_cindex": [0.7, float("nan")], "ew_auroc": 0.5, "fc_cindex": 0.5,
    ...     "nan_reasons": ""})
    >>> with_headline(rows)[["headline", "section"]].values.tolist()
    [[0.8, 'ranked'], [nan, 'unranked']]
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from complexity_bench.scoring.bootstrap import interval
from complexity_bench.scoring.config import (BESIDE, DERIVED, HEADLINE, HIGHER_IS_BETTER, RANKED_ON, RECIPE_LEVEL,
                                             SCORES, ScoreConfig)
from complexity_bench.scoring.ranking import rank_with_ties

Reps = dict[tuple[str, str], dict[str, np.ndarray]]  # (measure, task) -> score -> (B,) replicates


def with_headline(by_task: pd.DataFrame) -> pd.DataFrame:
    """Add ``headline`` and ``section`` to by-task rows (see the module docstring)."""
    out = by_task.copy()
    out["headline"] = out[list(HEADLINE)].mean(axis=1, skipna=False)
    out["recipe_headline"] = out[list(RECIPE_LEVEL)].mean(axis=1, skipna=False)
    causal = out["causal"].astype(bool)
    out["section"] = np.where(~causal, "not causal", np.where(np.isfinite(out["headline"]), "ranked", "unranked"))
    return out


def headline_reps(reps: Reps) -> None:
    """Add replicates of ``headline`` and ``recipe_headline`` (the mean of their parts' replicates)."""
    for scores in reps.values():
        for name, cols in DERIVED.items():
            parts = [scores[c] for c in cols if c in scores]
            if len(parts) == len(cols):
                scores[name] = np.mean(np.stack(parts), axis=0)


def _ranks(rows: pd.DataFrame, reps_of: dict[str, dict[str, np.ndarray]], scope: str,
           cfg: ScoreConfig, columns: tuple[str, ...] = RANKED_ON) -> tuple[pd.DataFrame, list[dict]]:
    """Rank the rows of section "ranked" on every one of ``columns``; pairwise rows for ``scope``."""
    rows = rows.copy()
    for col in ("rank", "rank_lo", "rank_hi", *[f"rank_{c}" for c in HEADLINE]):
        rows[col] = np.nan
    pairs: list[dict] = []
    ranked = rows.index[rows["section"] == "ranked"]
    if len(ranked) == 0:
        return rows, pairs
    names = rows.loc[ranked, "measure"].astype(str).tolist()
    B = max(cfg.n_boot, 0)
    for col in columns:
        points = rows.loc[ranked, col].to_numpy(float)
        reps = np.stack([reps_of.get(n, {}).get(col, np.full(B, np.nan)) for n in names]) if B else np.zeros((len(names), 0))
        r = rank_with_ties(points, reps, higher=True, tie_probability=cfg.tie_probability, level=cfg.level)
        if col == "headline":
            rows.loc[ranked, "rank"], rows.loc[ranked, "rank_lo"], rows.loc[ranked, "rank_hi"] = r.rank, r.rank_lo, r.rank_hi
        else:
            rows.loc[ranked, f"rank_{col}"] = r.rank
        for i, a in enumerate(names):
            for j, b in enumerate(names):
                if i != j:
                    pairs.append({"scope": scope, "score": col, "measure_a": a, "measure_b": b,
                                  "p_a_beats_b": r.p_beats[i, j], "n_boot": int(r.n_boot[i, j]),
                                  "a_beats_b": bool(r.beats[i, j])})
    return rows, pairs


def rank_by_task(by_task: pd.DataFrame, reps: Reps, cfg: ScoreConfig) -> tuple[pd.DataFrame, list[dict]]:
    """Ranks within each task, and the per-task pairwise rows."""
    parts, pairs = [], []
    for task, g in by_task.groupby("task", sort=False):
        ranked, p = _ranks(g, {m: reps.get((m, task), {}) for m in g["measure"].astype(str)}, str(task), cfg)
        parts.append(ranked)
        pairs += p
    return pd.concat(parts).loc[by_task.index], pairs


def eligible_tasks(by_task: pd.DataFrame) -> list[str]:
    """Tasks on which at least one causal measure has a defined headline."""
    ok = by_task[(by_task["section"] == "ranked")]
    return sorted(ok["task"].astype(str).unique())


def build_leaderboard(by_task: pd.DataFrame, reps: Reps, meta_cols: list[str],
                      cfg: ScoreConfig) -> tuple[pd.DataFrame, list[dict]]:
    """One row per measure from the by-task rows (with ``headline``/``section``) and their
    replicates; also the cross-task pairwise rows."""
    tasks = eligible_tasks(by_task)
    rows, across = [], {}
    for measure, g in by_task.groupby("measure", sort=False):
        first = g.iloc[0]
        row: dict = {"measure": measure, **{c: first[c] for c in meta_cols}}
        row["n_tasks"] = int(g["n_ckpt"].gt(0).sum())
        row["tasks"] = "+".join(g.loc[g["n_ckpt"] > 0, "task"].astype(str))
        for c in ("n_runs", "n_ckpt", "n_missing"):
            row[c] = int(g[c].sum())
        for col in (*SCORES, "recipe_headline"):
            _mean_over_tasks(row, g, col, reps, cfg)
        on = g.set_index(g["task"].astype(str))["headline"].reindex(tasks)
        complete = bool(tasks) and bool(np.isfinite(on.to_numpy(float)).all())
        if not bool(first["causal"]):
            row["section"] = "not causal"
        else:
            row["section"] = "ranked" if complete else "unranked"
        use = tasks if complete else [t for t in tasks if np.isfinite(on.get(t, np.nan))]
        _mean_over_tasks(row, g[g["task"].astype(str).isin(use)], "headline", reps, cfg)
        per_task = on.to_numpy(float)[np.isfinite(on.to_numpy(float))]
        for stat, fn in (("min", np.min), ("median", np.median), ("max", np.max)):
            row[f"headline_task_{stat}"] = float(fn(per_task)) if per_task.size else np.nan
        across[str(measure)] = _across(reps, str(measure), use, cfg)
        row["headline_n_boot"] = int(np.isfinite(across[str(measure)].get("headline", np.zeros(0))).sum())
        row["headline_tasks"] = "+".join(use)
        row["nan_reasons"] = " | ".join(f"{t}: {r}" for t, r in zip(g["task"], g["nan_reasons"].astype(str)) if r)
        rows.append(row)
    lb = pd.DataFrame(rows)
    if lb.empty:
        return lb, []
    lb, pairs = _ranks(lb, across, "all", cfg)
    lb = _leave_one_task_out(lb, by_task, reps, tasks, cfg)
    order = {"ranked": 0, "unranked": 1, "not causal": 2}
    lb["_section"] = lb["section"].map(order)
    lb["_key"] = -lb["headline"].fillna(-np.inf)
    lb = lb.sort_values(["_section", "rank", "_key", "measure"], na_position="last", kind="mergesort")
    lb = lb.drop(columns=["_section", "_key"]).reset_index(drop=True)
    return _leaderboard_columns(lb, meta_cols), pairs


def _leave_one_task_out(lb: pd.DataFrame, by_task: pd.DataFrame, reps: Reps, tasks: list[str],
                        cfg: ScoreConfig) -> pd.DataFrame:
    """rank_loto_min / rank_loto_max: the best and worst rank of each ranked measure over the leaderboards
    that leave one eligible task out (same rule, headline averaged over the other tasks)."""
    lb = lb.copy()
    lb["rank_loto_min"], lb["rank_loto_max"] = np.nan, np.nan
    ranked = lb.index[lb["section"] == "ranked"]
    if len(tasks) < 2 or len(ranked) == 0:
        return lb
    names = lb.loc[ranked, "measure"].astype(str).tolist()
    head = by_task.set_index([by_task["measure"].astype(str), by_task["task"].astype(str)])["headline"]
    ranks = []
    for left_out in tasks:
        keep = [t for t in tasks if t != left_out]
        sub = lb.loc[ranked, ["measure", "section"]].copy()
        sub["headline"] = [float(np.mean([head[(n, t)] for t in keep])) for n in names]
        sub, _ = _ranks(sub, {n: _across(reps, n, keep, cfg) for n in names}, "", cfg, ("headline",))
        ranks.append(sub["rank"].to_numpy(float))
    ranks = np.stack(ranks)
    lb.loc[ranked, "rank_loto_min"], lb.loc[ranked, "rank_loto_max"] = ranks.min(axis=0), ranks.max(axis=0)
    return lb


def _mean_over_tasks(row: dict, g: pd.DataFrame, col: str, reps: Reps, cfg: ScoreConfig) -> None:
    """row[col] = mean over the tasks of g where col is defined; the interval from the
    across-task means of the replicates (replicate b of every task averaged)."""
    vals = g[col].to_numpy(float)
    ok = np.isfinite(vals)
    row[col] = float(vals[ok].mean()) if ok.any() else np.nan
    row[f"{col}_n_tasks"] = int(ok.sum())
    stack = [reps[(row["measure"], t)][col] for t, v in zip(g["task"].astype(str), ok)
             if v and col in reps.get((row["measure"], t), {})]
    row[f"{col}_lo"], row[f"{col}_hi"] = np.nan, np.nan
    if stack and cfg.n_boot > 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            row[f"{col}_lo"], row[f"{col}_hi"] = interval(np.nanmean(np.stack(stack), axis=0), cfg.level)


def _across(reps: Reps, measure: str, tasks: list[str], cfg: ScoreConfig) -> dict[str, np.ndarray]:
    """Replicates of each RANKED_ON score averaged over ``tasks`` (NaN where a task's is)."""
    out = {}
    for col in RANKED_ON:
        stack = [reps.get((measure, t), {}).get(col) for t in tasks]
        if stack and all(s is not None for s in stack) and cfg.n_boot > 0:
            out[col] = np.mean(np.stack(stack), axis=0)
    return out


def _leaderboard_columns(lb: pd.DataFrame, meta_cols: list[str]) -> pd.DataFrame:
    """Rank and headline first (what a reader looks for), then the scores reported beside,
    metadata, counts, the other scores."""
    trio = lambda c: (c, f"{c}_lo", f"{c}_hi")  # noqa: E731
    first = ["measure", "section", "rank", "rank_lo", "rank_hi", "rank_loto_min", "rank_loto_max", *trio("headline"),
             "headline_tasks", "headline_n_boot", "headline_task_min", "headline_task_median", "headline_task_max",
             *[x for c in (*HEADLINE, *BESIDE) for x in trio(c)], *meta_cols, "n_tasks", "tasks", "n_runs",
             "n_ckpt", "n_missing"]
    rest = [x for c in SCORES if c not in (*HEADLINE, *BESIDE) for x in trio(c)]
    last = [*[f"rank_{c}" for c in HEADLINE], *[f"{c}_n_tasks" for c in ("headline", "recipe_headline", *SCORES)],
            "nan_reasons"]
    cols = first + rest
    return lb[cols + [c for c in lb.columns if c not in cols and c not in last] + last]


assert all(HIGHER_IS_BETTER[c] for c in HEADLINE), "ranking.py ranks larger-is-better scores"
