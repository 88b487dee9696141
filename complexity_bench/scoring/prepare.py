"""From the runs / traces tables to per-task arrays the scores work on.

Conventions fixed here, once for every score (docs/protocol.md):

- The signed measure is s = direction * value, so larger s always means "more
  complex, further from generalising".
- Every measure is judged at the same moments. A run's *judgement steps* are
  the checkpoints any measure has a row at (the evaluator gives every measure
  the same checkpoints, including one at exactly T_mem); s(T_mem) is the value
  at the run's memorisation checkpoint, the last judgement step <= T_mem, and
  s(0) the value at its first judgement step. A measure with no valid value
  exactly there has no s(T_mem) (s(0)) for that run: it is never replaced by an
  earlier value, which would judge that measure at another moment.
- A value is missing when it is NaN/inf or its ``error`` is non-empty; missing
  values are dropped and counted, the rest is scored.
- The delay is D = log10(max(T_gen, 1) / max(T_mem, 1)), with T_gen = budget
  for censored runs (a lower bound then); NaN when the run never memorised.
- A score whose inputs have no variance is undefined (:func:`no_variance`).

Example::

    >>> import pandas as pd
    >>> runs = pd.DataFrame({"run_id": ["a"], "task": ["t"], "t_mem": [10.0], "t_gen": [100.0],
    ...                      "censored": [False], "budget": [1000], "axes": ["wd"], "wd": [0.1]})
    >>> tr = TaskRuns.from_frame(runs)
    >>> round(float(tr.delay[0]), 6)
    1.0
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from complexity_bench import numerics


def _round_key(v: object) -> object:
    # Grid values are usually exact, but a CSV round-trip can perturb the last bits.
    if isinstance(v, (float, np.floating)):
        return float(f"{float(v):.10g}")
    return v


@dataclass
class TaskRuns:
    """The runs of one task, as parallel arrays (index r = position in run_ids)."""

    task: str
    run_ids: np.ndarray
    t_mem: np.ndarray
    t_gen: np.ndarray
    censored: np.ndarray
    budget: np.ndarray
    delay: np.ndarray
    axes: list[str]
    configs: list[tuple]
    index: dict[str, int] = field(default_factory=dict)
    # per run: the seed, and whether it belongs to a weight-decay-0 control configuration (the suite
    # design's never-generalising controls, docs/protocol.md "Version 3"; declared, not outcome-based)
    seed: np.ndarray | None = None
    control: np.ndarray | None = None
    # per run: the first checkpoint and the memorisation checkpoint, and every judgement step
    # (see judgement_steps)
    init_step: np.ndarray | None = None
    mem_step: np.ndarray | None = None
    steps: list[np.ndarray] | None = None
    # per run: the first instability event after T_gen, min(t_spike, t_collapse) (NaN: none), and the
    # last evaluated step (the budget when runs.csv has no last_step); t_event is None when runs.csv
    # has neither event column (docs/protocol.md, "Events")
    t_event: np.ndarray | None = None
    last_step: np.ndarray | None = None

    @property
    def config_id(self) -> np.ndarray:
        """Per run: index of its variant configuration (runs differing only in seed share one)."""
        codes = {c: n for n, c in enumerate(dict.fromkeys(self.configs))}
        return np.array([codes[c] for c in self.configs], dtype=int)

    @property
    def memorised(self) -> np.ndarray:
        return ~np.isnan(self.t_mem)

    @property
    def grokked(self) -> np.ndarray:
        """Memorised and generalised within the budget (not censored)."""
        return self.memorised & ~self.censored & ~np.isnan(self.t_gen)

    @property
    def never(self) -> np.ndarray:
        """Memorised but never generalised within the budget (right-censored)."""
        return self.memorised & self.censored

    def __len__(self) -> int:
        return len(self.run_ids)

    @classmethod
    def from_frame(cls, runs: pd.DataFrame) -> "TaskRuns":
        runs = runs.sort_values("run_id", kind="mergesort").reset_index(drop=True)
        task = str(runs["task"].iloc[0]) if len(runs) else ""
        t_mem = pd.to_numeric(runs["t_mem"], errors="coerce").to_numpy(float)
        t_gen = pd.to_numeric(runs["t_gen"], errors="coerce").to_numpy(float)
        censored = runs["censored"].astype(str).str.lower().isin(["true", "1", "1.0"]).to_numpy().copy()
        censored |= np.isnan(t_gen)
        budget = pd.to_numeric(runs["budget"], errors="coerce").to_numpy(float)
        end = np.where(censored, budget, t_gen)
        with np.errstate(invalid="ignore", divide="ignore"):
            delay = np.log10(np.maximum(end, 1.0) / np.maximum(t_mem, 1.0))
        delay[np.isnan(t_mem)] = np.nan
        axes: list[str] = []
        if "axes" in runs and len(runs):
            names = sorted({a for s in runs["axes"].dropna().astype(str) for a in s.split("+") if a})
            axes = [a for a in names if a in runs.columns]
        configs = [tuple(_round_key(v) for v in row) for row in runs[axes].itertuples(index=False)] if axes \
            else [() for _ in range(len(runs))]
        ids = runs["run_id"].astype(str).to_numpy()
        seed = runs["seed"].astype(str).to_numpy() if "seed" in runs else ids.copy()
        wd = pd.to_numeric(runs["weight_decay"], errors="coerce").to_numpy(float) if "weight_decay" in runs \
            else np.full(len(runs), np.nan)
        events = [pd.to_numeric(runs[c], errors="coerce").to_numpy(float) for c in ("t_spike", "t_collapse")
                  if c in runs]
        t_event = np.fmin.reduce(events) if events else None
        last = pd.to_numeric(runs["last_step"], errors="coerce").to_numpy(float) if "last_step" in runs else budget
        return cls(task, ids, t_mem, t_gen, censored, budget, delay, axes, configs,
                   {r: i for i, r in enumerate(ids)}, seed=seed, control=wd == 0, t_event=t_event, last_step=last)


@dataclass
class Series:
    """One measure's values on one task's checkpoints, sorted by (run, step).

    Arrays over valid checkpoints: run (index into TaskRuns), step, s (signed
    value), test_loss, test_acc. Per run: s_mem = s(T_mem), s_init = s(0).
    """

    run: np.ndarray
    step: np.ndarray
    s: np.ndarray
    test_loss: np.ndarray
    test_acc: np.ndarray
    s_mem: np.ndarray
    s_init: np.ndarray
    n_rows: int
    n_missing: int
    n_unknown_runs: int


def extract_series(rows: pd.DataFrame, runs: TaskRuns, direction: int) -> Series:
    """Signed, cleaned series of one (measure, task) from its trace rows."""
    n_rows = len(rows)
    ridx = rows["run_id"].astype(str).map(runs.index)
    unknown = int(ridx.isna().sum())
    value = pd.to_numeric(rows["value"], errors="coerce").to_numpy(float)
    err = rows["error"].fillna("").astype(str).str.len().to_numpy() > 0 if "error" in rows \
        else np.zeros(n_rows, bool)
    ok = np.isfinite(value) & ~err & ridx.notna().to_numpy()
    n_missing = int((~ok).sum()) - unknown
    run = ridx.to_numpy(float)[ok].astype(int)
    step = pd.to_numeric(rows["step"], errors="coerce").to_numpy(float)[ok]
    s = direction * value[ok]
    tl = pd.to_numeric(rows["test_loss"], errors="coerce").to_numpy(float)[ok] if "test_loss" in rows \
        else np.full(len(s), np.nan)
    ta = pd.to_numeric(rows["test_acc"], errors="coerce").to_numpy(float)[ok] if "test_acc" in rows \
        else np.full(len(s), np.nan)
    order = np.lexsort((step, run))
    run, step, s, tl, ta = run[order], step[order], s[order], tl[order], ta[order]
    # Duplicate (run, step) rows would double-count a checkpoint: keep the first.
    keep = np.ones(len(run), bool)
    keep[1:] = (run[1:] != run[:-1]) | (step[1:] != step[:-1])
    run, step, s, tl, ta = run[keep], step[keep], s[keep], tl[keep], ta[keep]
    R = len(runs)
    s_mem = np.full(R, np.nan)
    s_init = np.full(R, np.nan)
    init_step, mem_step = (runs.init_step, runs.mem_step) if runs.mem_step is not None \
        else judgement_steps(runs, rows)[:2]
    bounds = np.searchsorted(run, np.arange(R + 1))
    for r in range(R):
        a, b = bounds[r], bounds[r + 1]
        s_init[r] = _value_at(step[a:b], s[a:b], init_step[r])
        s_mem[r] = _value_at(step[a:b], s[a:b], mem_step[r])
    return Series(run, step, s, tl, ta, s_mem, s_init, n_rows, n_missing, unknown)


def _value_at(steps: np.ndarray, values: np.ndarray, at: float) -> float:
    """The value at exactly step ``at`` (NaN when ``at`` is NaN or has no value)."""
    if np.isnan(at):
        return np.nan
    k = np.searchsorted(steps, at)
    return float(values[k]) if k < len(steps) and steps[k] == at else np.nan


def judgement_steps(runs: TaskRuns, traces: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Per run, from the steps at which any measure in ``traces`` has a row: the first
    one (s(0) is taken there), the last one at or before T_mem (s(T_mem)), NaN when
    there is none, and all of them, sorted. ``score`` stores them in ``runs.init_step``,
    ``runs.mem_step`` and ``runs.steps``."""
    R = len(runs)
    init_step, mem_step = np.full(R, np.nan), np.full(R, np.nan)
    all_steps = [np.zeros(0) for _ in range(R)]
    if traces.empty:
        return init_step, mem_step, all_steps
    pairs = traces[["run_id", "step"]].drop_duplicates()
    ridx = pairs["run_id"].astype(str).map(runs.index)
    ok = ridx.notna().to_numpy()
    run = ridx.to_numpy(float)[ok].astype(int)
    step = pd.to_numeric(pairs["step"], errors="coerce").to_numpy(float)[ok]
    for r in range(R):
        mine = np.unique(step[(run == r) & np.isfinite(step)])
        all_steps[r] = mine
        if mine.size == 0:
            continue
        init_step[r] = mine.min()
        before = mine[mine <= runs.t_mem[r]] if np.isfinite(runs.t_mem[r]) else mine[:0]
        if before.size:
            mem_step[r] = before.max()
    return init_step, mem_step, all_steps


# True when the values, taken together, are constant up to numerical noise: a score computed
# from them would only measure rounding (docs/protocol.md, "Undefined scores"). One tolerance
# for every score and the Tracker's warning: complexity_bench/numerics.py.
no_variance = numerics.no_variance
