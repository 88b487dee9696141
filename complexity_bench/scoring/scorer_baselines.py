"""Baselines the scorer computes from runs.csv itself (docs/protocol.md, "Version 3").

They need no model, only each run's identity, hyperparameters and outcome, so every
results folder can be re-scored with them from its committed files. Each gets a
value at every judgement step of every run (the steps any stored measure has), with
that checkpoint's metrics, and is then scored like any measure; stored rows of the
same names are replaced.

- ``random``: uniform noise from a hash of (run_id, step). run_id hashes the whole
  run identity (task, hyperparameters, seed), so the draws are independent per run.
- ``recipe-wd`` (causal): -log10(lr * weight_decay), the timescale of decoupled weight
  decay; weight decay 0 counts as lr * wd = 1e-12. Reads only hyperparameters.
- ``recipe-oracle`` (not causal, never ranked): the mean log10 delay of the run's
  configuration over its seeds, censoring-aware (:func:`km_mean`); constant within a
  configuration.

Both recipe baselines are constant within a configuration, so the headline (which
compares runs of one configuration) leaves them undefined; they are read at the
recipe level.

    >>> round(km_mean(np.array([1.0, 2.0, 3.0]), np.array([True, True, False])), 4)  # 3 censored: mass there
    2.0
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from complexity_bench.scoring.prepare import TaskRuns

NAMES = ("random", "recipe-wd", "recipe-oracle")
_WD_FLOOR = 1e-12

_META = {
    "random": dict(direction=1, causal=True, description="Uniform noise keyed by (run_id, step), computed by the scorer.",
                   direction_source="none: noise; +1 by convention, at chance whichever way", stochastic=True),
    "recipe-wd": dict(direction=1, causal=True,
                      description="-log10(lr * weight_decay): the weight-decay timescale, from the hyperparameters only.",
                      direction_source="definition: a slower weight-decay timescale is a longer wait", stochastic=False),
    "recipe-oracle": dict(direction=1, causal=False,
                          description="Mean log10 delay of the run's configuration over its seeds "
                                      "(Kaplan-Meier, censoring-aware): the recipe's outcome.",
                          direction_source="definition: the predicted delay itself", stochastic=False),
}


def keyed_uniform(run_id: str, step: float) -> float:
    """A uniform draw in [0, 1) determined by (run_id, step)."""
    digest = hashlib.sha256(f"{run_id}/{float(step):.10g}".encode()).digest()
    return int.from_bytes(digest[:8], "little") / 2.0**64


def km_mean(time: np.ndarray, event: np.ndarray) -> float:
    """Mean of the Kaplan-Meier distribution of ``time`` (event False: censored, a lower bound), with the
    mass left after the last event placed at the largest time (the restricted mean up to it)."""
    order = np.lexsort((~event, time))  # at equal times events first, as Kaplan-Meier counts them
    t, e = time[order], event[order]
    n = len(t)
    surv, mean = 1.0, 0.0
    for k in range(n):
        if e[k]:
            drop = surv / (n - k)
            mean += drop * t[k]
            surv -= drop
    return float(mean + surv * t.max()) if n else np.nan


def recipe_values(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run: run_id and the value of each recipe baseline."""
    out = []
    for task, g in runs.groupby(runs["task"].astype(str), sort=False):
        tr = TaskRuns.from_frame(g)
        if {"lr", "weight_decay"} <= set(g.columns):
            frame = g.set_index(g["run_id"].astype(str))
            rate = pd.to_numeric(frame.loc[tr.run_ids, "lr"], errors="coerce").to_numpy(float) * \
                pd.to_numeric(frame.loc[tr.run_ids, "weight_decay"], errors="coerce").to_numpy(float)
            wd = -np.log10(np.maximum(rate, _WD_FLOOR))
        else:
            wd = np.full(len(tr), np.nan)
        oracle = np.full(len(tr), np.nan)
        cid = tr.config_id
        for c in np.unique(cid):
            members = np.flatnonzero((cid == c) & np.isfinite(tr.delay))
            if members.size:
                oracle[cid == c] = km_mean(tr.delay[members], ~tr.censored[members])
        out.append(pd.DataFrame({"run_id": tr.run_ids, "recipe-wd": wd, "recipe-oracle": oracle}))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=["run_id", *NAMES[1:]])


def with_scorer_baselines(runs: pd.DataFrame, traces: pd.DataFrame,
                          measures: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``traces`` and ``measures`` with the scorer's baselines added (stored rows of those names replaced)."""
    traces = traces[~traces["measure"].astype(str).isin(NAMES)]
    measures = measures[~measures["measure"].astype(str).isin(NAMES)]
    if traces.empty:
        return traces, measures
    points = traces.drop_duplicates(["run_id", "step"]).drop(columns=["measure", "value", "error", "seconds"],
                                                              errors="ignore")
    points = points[points["run_id"].astype(str).isin(set(runs["run_id"].astype(str)))]
    values = recipe_values(runs)
    points = points.assign(run_id=points["run_id"].astype(str)).merge(values, on="run_id", how="left")
    points["random"] = [keyed_uniform(r, s) for r, s in zip(points["run_id"], points["step"])]
    parts = []
    for name in NAMES:
        v = points[name].to_numpy(float)
        part = points.drop(columns=list(NAMES)).assign(
            measure=name, value=v, seconds=0.0,
            error=np.where(np.isfinite(v), "", "needs lr and weight_decay (or a memorised run) in runs.csv"))
        parts.append(part)
    added = pd.concat(parts, ignore_index=True)[[c for c in traces.columns if c in parts[0].columns]]
    meta = pd.DataFrame([{"measure": n, "measure_version": "scorer", "baseline": True, "needs": "", "cost": "cheap",
                          **_META[n]} for n in NAMES])
    meta = meta[[c for c in meta.columns if c in measures.columns or c == "measure"]]
    return pd.concat([traces, added], ignore_index=True), pd.concat([measures, meta], ignore_index=True)
