"""score(): runs + traces + measure metadata -> by-task table and leaderboard (pure).

Inputs (pandas DataFrames):

- runs: one row per run: run_id, task, seed, t_mem, t_gen, censored, delay,
  budget, threshold, axes ("+"-joined variant axes), one column per
  hyperparameter. t_mem NaN = never memorised (left out of early warning and
  forecast); t_gen NaN when censored. The delay is recomputed from t_mem,
  t_gen and budget (prepare.py) so the convention is the scorer's own.
- traces: long format, one row per (run_id, step, measure): run_id, task,
  step, measure, value, seconds, error, train_loss, test_loss, train_acc,
  test_acc. m(T_mem) is taken at the run's memorisation checkpoint, the same
  step for every measure (prepare.py).
- measures: one row per measure: measure, measure_version, direction,
  causal, baseline, and other metadata, carried into every output row.
  Sub-measures "name/key" inherit the metadata of "name".

Every (measure, task) pair gets a row, even when nothing could be scored;
a score that cannot be computed is NaN and ``nan_reasons`` says why
("score: reason; ..."). Ranks and the pairwise table: leaderboard.py; the instability
score against the clock: instability_vs_clock.py.

Example::

    >>> from complexity_bench.scoring.synthetic import make_synthetic
    >>> runs, traces, measures = make_synthetic(n_seeds=2)
    >>> tables = score(runs, traces, measures, ScoreConfig(n_boot=20))
    >>> lb = tables.leaderboard.set_index("measure")
    >>> float(lb.loc["good", "rank"]), lb.loc["oracle-test-loss", "section"]  # the oracle: shown, not ranked
    (1.0, 'not causal')
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from complexity_bench.scoring.alarm_calibration import AlarmCalibration
from complexity_bench.scoring.bootstrap import Result, defined_count, interval, replicates_defined, task_weights
from complexity_bench.scoring.conditional import score_conditional
from complexity_bench.scoring.config import DERIVED, HEADLINE, RESAMPLING, SCORES, ScoreConfig, ScoreTables
from complexity_bench.scoring.early_warning import score_early_warning
from complexity_bench.scoring.forecast import score_forecast
from complexity_bench.scoring.instability import score_instability
from complexity_bench.scoring.instability_vs_clock import versus_clock
from complexity_bench.scoring.leaderboard import build_leaderboard, headline_reps, rank_by_task, with_headline
from complexity_bench.scoring.prepare import TaskRuns, extract_series, judgement_steps
from complexity_bench.scoring.scorer_baselines import with_scorer_baselines
from complexity_bench.scoring.tracking import score_tracking

_STEP = "step"


def _truthy(v: object) -> bool:
    return str(v).strip().lower() in ("true", "1", "1.0", "yes")


def _measure_meta(measures: pd.DataFrame, names: list[str]) -> dict[str, dict]:
    """name -> metadata dict (direction int, causal/baseline bool, other columns as given)."""
    table = {str(r["measure"]): dict(r) for _, r in measures.iterrows()}
    out = {}
    for n in names:
        parent = n.split("/", 1)[0]
        row = table.get(n) or table.get(parent)
        if row is None:
            raise ValueError(f"measure {n!r} appears in traces but not in the measures table; "
                             "add a row with its direction and metadata")
        row = dict(row)
        row["measure"] = n
        d = int(float(row["direction"]))
        if d not in (1, -1):
            raise ValueError(f"measure {n!r}: direction must be +1 or -1, got {row['direction']!r}")
        row["direction"] = d
        row["causal"] = _truthy(row.get("causal", True))
        row["baseline"] = _truthy(row.get("baseline", False))
        out[n] = row
    return out


def score(runs: pd.DataFrame, traces: pd.DataFrame, measures: pd.DataFrame,
          config: ScoreConfig | None = None) -> ScoreTables:
    """Score every measure on every task; see the module docstring for the inputs.

    Returns ScoreTables(by_task, leaderboard); every score column c has c_lo and
    c_hi (percentile bootstrap interval over runs, ``config.level``).
    """
    cfg = config or ScoreConfig()
    if "task" not in traces.columns:
        traces = traces.merge(runs[["run_id", "task"]], on="run_id", how="left")
    if cfg.scorer_baselines:
        traces, measures = with_scorer_baselines(runs, traces, measures)
    names = list(dict.fromkeys([*measures["measure"].astype(str), *traces["measure"].astype(str).unique()]))
    # Sub-measure rows only exist when traces have them; parents without values stay listed.
    meta = _measure_meta(measures, names)
    meta_cols = [c for c in measures.columns if c != "measure"]
    tasks = sorted(set(runs["task"].astype(str)))
    rows, reps = [], {}
    tr_by_task = {t: g for t, g in traces.groupby(traces["task"].astype(str), sort=False)}
    alarms = AlarmCalibration.from_tables(runs, traces, {n: meta[n]["direction"] for n in names},
                                          cfg.false_alarm, cfg.eps)
    for task in tasks:
        truns = TaskRuns.from_frame(runs[runs["task"].astype(str) == task])
        W = task_weights(truns, cfg)
        scheme = RESAMPLING[cfg.resample]

        ttr = tr_by_task.get(task, traces.iloc[:0])
        truns.init_step, truns.mem_step, truns.steps = judgement_steps(truns, ttr)
        by_measure = {m: g for m, g in ttr.groupby(ttr["measure"].astype(str), sort=False)}
        for name in names:
            info = meta[name]
            g = by_measure.get(name, ttr.iloc[:0])
            series = extract_series(g, truns, info["direction"])
            res = Result()
            res.counts.update(n_runs=len(truns), n_ckpt=len(series.s), n_missing=series.n_missing)
            if len(series.s) == 0:
                reason = "no trace rows for this task" if len(g) == 0 else "every value is missing"
                res.nan(SCORES, reason, W.shape[0])
            else:
                res.update(score_tracking(series, truns, W, cfg))
                res.update(score_early_warning(series, truns, W, cfg, alarms.for_runs(name, truns)))
                res.update(score_forecast(series, truns, W, cfg))
                res.update(score_conditional(series, truns, W, cfg))
                res.update(score_instability(series, truns, W, cfg))
            row = {"measure": name, "task": task, **{c: info.get(c) for c in meta_cols}}
            row.update(causal=info["causal"], baseline=info["baseline"], **res.counts)
            row["bootstrap"] = scheme
            for col in SCORES:
                row[col] = res.values.get(col, np.nan)
                row[f"{col}_lo"], row[f"{col}_hi"] = _interval(res.reps.get(col), cfg)
            row["nan_reasons"] = "; ".join(f"{k}: {v}" for k, v in res.reasons.items() if not np.isfinite(row[k]))
            rows.append(row)
            reps[(name, task)] = res.reps
    if not rows:
        return ScoreTables(by_task=pd.DataFrame(), leaderboard=pd.DataFrame(), pairwise=_pairwise([]))
    by_task = with_headline(_beside_step(_order_columns(pd.DataFrame(rows), meta_cols)))
    headline_reps(reps)
    for col in DERIVED:
        by_task[f"{col}_lo"], by_task[f"{col}_hi"] = zip(*[
            _interval(reps[(m, t)].get(col), cfg) for m, t in zip(by_task["measure"], by_task["task"])])
    by_task["headline_n_boot"] = [int(np.isfinite(reps[(m, t)].get("headline", np.zeros(0))).sum())
                                  for m, t in zip(by_task["measure"], by_task["task"])]
    by_task["replicates_defined"] = _replicates_defined(by_task, reps, cfg)
    by_task, task_pairs = rank_by_task(by_task, reps, cfg)
    by_task, clock_pairs = versus_clock(by_task, reps, cfg.tie_probability)
    by_task = _by_task_columns(by_task)
    leaderboard, all_pairs = build_leaderboard(by_task, reps, meta_cols, cfg)
    return ScoreTables(by_task=by_task, leaderboard=leaderboard, pairwise=_pairwise(all_pairs + task_pairs + clock_pairs))


def _replicates_defined(by_task: pd.DataFrame, reps: dict, cfg: ScoreConfig) -> list[str]:
    """Per row: the defined replicates of each score with a value whose interval leaves some out."""
    out = []
    for k, (m, t) in enumerate(zip(by_task["measure"], by_task["task"])):
        r = reps[(m, t)]
        counts = {c: defined_count([r[c]]) for c in (*DERIVED, *SCORES)
                  if c in r and np.isfinite(by_task[c].iloc[k])}
        out.append(replicates_defined(counts, cfg.n_boot))
    return out


def _interval(reps: np.ndarray | None, cfg: ScoreConfig) -> tuple[float, float]:
    return interval(reps, cfg.level) if reps is not None and cfg.n_boot > 0 else (np.nan, np.nan)


def _pairwise(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["scope", "score", "measure_a", "measure_b", "p_a_beats_b", "n_boot",
                                       "a_beats_b"])


def _by_task_columns(by_task: pd.DataFrame) -> pd.DataFrame:
    """measure, task, section, rank and headline first; nan_reasons last."""
    first = ["measure", "task", "section", "rank", "rank_lo", "rank_hi", "headline", "headline_lo", "headline_hi",
             "headline_n_boot", "recipe_headline", "recipe_headline_lo", "recipe_headline_hi"]
    last = [*[f"rank_{c}" for c in HEADLINE], "replicates_defined", "nan_reasons"]
    return by_task[first + [c for c in by_task.columns if c not in first and c not in last] + last]


_COUNTS = ("n_runs", "n_ckpt", "n_missing", "n_runs_tracking", "n_ckpt_tracking", "n_runs_tracking_per_run",
           "n_runs_ew", "n_ckpt_ew", "n_runs_never", "n_runs_lead", "n_runs_forecast", "n_runs_censored",
           "n_pairs_one_axis", "n_psi_groups", "n_sign_envs", "n_pairs_cf", "n_pairs_cw", "n_runs_ctl",
           "n_runs_in", "n_ckpt_in")


def _order_columns(df: pd.DataFrame, meta_cols: list[str]) -> pd.DataFrame:
    if df.empty:
        return df
    for c in _COUNTS:
        if c not in df:
            df[c] = 0
        df[c] = df[c].fillna(0).astype(int)
    score_cols = [x for c in SCORES for x in (c, f"{c}_lo", f"{c}_hi")]
    cols = ["measure", "task", *meta_cols, *_COUNTS, "bootstrap", *score_cols, "nan_reasons"]
    return df[cols + [c for c in df.columns if c not in cols]]


def _beside_step(by_task: pd.DataFrame) -> pd.DataFrame:
    """Add the `step` baseline's per-run tracking and AUROC on the same task to every row."""
    if by_task.empty:
        return by_task
    step = by_task[by_task["measure"] == _STEP].set_index("task")
    for col in ("trk_rho_run_median", "ew_auroc"):
        by_task[f"{col}_step"] = by_task["task"].map(step[col]) if len(step) else np.nan
    return by_task
