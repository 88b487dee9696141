"""Reading a results folder back (``score DIR``), checked before anything is scored.

Results files are inputs like any other: they may be truncated by a full disk,
emptied, edited by hand or written by another version. Each file is read and
checked against the columns the scorer needs (the files: README, "Outputs"); a
file that cannot be read or lacks a column, or a column of the wrong kind, is
one line naming the file and what is wrong (a UserError: exit status 2), never
a traceback. Checked columns are converted to their kind; columns beyond them
are passed through untouched.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from complexity_bench.errors import UserError

# file -> {column: kind}; kinds: "text" (no empty cells), "number" (numeric, empty allowed),
# "step" (whole numbers >= 0), "flag" (true/false, 1/0), "direction" (+1 or -1)
# (read in this order: traces are checked against measures.csv)
REQUIRED: dict[str, dict[str, str]] = {
    "runs.csv": {"run_id": "text", "task": "text", "t_mem": "number", "t_gen": "number", "censored": "flag",
                 "budget": "number"},
    "measures.csv": {"measure": "text", "direction": "direction"},
    "traces.parquet": {"run_id": "text", "step": "step", "measure": "text", "value": "number"},
    "curves.parquet": {"run_id": "text", "step": "step"},
}
OPTIONAL: dict[str, dict[str, str]] = {  # checked when present
    "runs.csv": {"seed": "number", "delay": "number", "threshold": "number", "t_spike": "number",
                 "t_collapse": "number"},
    "traces.parquet": {"task": "text", "seconds": "number", "train_loss": "number", "test_loss": "number",
                       "train_acc": "number", "test_acc": "number"},
    "curves.parquet": {"train_loss": "number", "test_loss": "number", "train_acc": "number", "test_acc": "number"},
    "measures.csv": {"causal": "flag", "baseline": "flag"},
}
# files `score` writes, checked the same way when read back (findings.py, claims.py)
SCORED: dict[str, dict[str, str]] = {
    "leaderboard.csv": {"measure": "text"},
    "leaderboard_by_task.csv": {"measure": "text", "task": "text"},
}
TRUE = {"true", "1", "1.0"}
FLAGS = TRUE | {"false", "0", "0.0"}


def _first(col: pd.Series, bad: pd.Series) -> str:
    """The first offending cell, shown as Python writes it (numpy scalars as plain numbers)."""
    v = col[bad].iloc[0]
    return repr(v.item() if hasattr(v, "item") else v)


def _kind_problem(col: pd.Series, kind: str) -> str | None:
    """Why ``col`` is not of ``kind``, or None."""
    if kind == "text":
        return "has empty cells" if col.isna().any() else None
    numbers = pd.to_numeric(col, errors="coerce")
    if kind == "flag":
        bad = ~col.astype(str).str.strip().str.lower().isin(FLAGS)
        return f"holds {_first(col, bad)} where true/false belongs" if bad.any() else None
    not_numeric = numbers.isna() & col.notna()
    if not_numeric.any():
        return f"holds {_first(col, not_numeric)} where a number belongs"
    if kind == "step":
        bad = numbers.isna() | (numbers < 0) | (numbers % 1 != 0)
        return f"holds {_first(col, bad)} where a step (a whole number >= 0) belongs" if bad.any() else None
    if kind == "direction":
        bad = ~numbers.isin([1, -1])
        return f"holds {_first(col, bad)} where +1 or -1 belongs" if bad.any() else None
    return None


def column_problem(name: str, df: pd.DataFrame) -> str | None:
    """What is wrong with the columns of results file ``name`` (the first problem), or None."""
    required = REQUIRED[name] if name in REQUIRED else SCORED[name]
    missing = [c for c in required if c not in df.columns]
    if missing:
        return f"column {missing[0]!r} is missing"
    if df.columns.duplicated().any():
        return f"column {df.columns[df.columns.duplicated()][0]!r} appears twice"
    for col, kind in _kinds(name).items():
        if col in df.columns:
            problem = _kind_problem(df[col], kind)
            if problem:
                return f"column {col!r} {problem}"
    return None


def _kinds(name: str) -> dict[str, str]:
    """Every checked column of results file ``name`` and its kind."""
    return {**REQUIRED.get(name, {}), **SCORED.get(name, {}), **OPTIONAL.get(name, {})}


def typed(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its checked columns converted to their kinds (numbers as numbers,
    flags as bools, text as str), so the scorer and the figures see one type per column
    whatever the file stored (a CSV edited by hand, a Parquet file of strings)."""
    df = df.copy()
    for col, kind in _kinds(name).items():
        if col not in df.columns:
            continue
        if kind == "text":
            df[col] = df[col].astype(str)
        elif kind == "flag":
            df[col] = df[col].astype(str).str.strip().str.lower().isin(TRUE)
        else:
            df[col] = pd.to_numeric(df[col])
    return df


def _read(path: Path, reader: Callable[[Path], pd.DataFrame]) -> pd.DataFrame:
    try:
        return reader(path)
    except Exception as exc:  # any reader failure means the file is unreadable: say so in one line
        detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{path}: cannot be read ({detail})") from exc


def read_table(out: Path, name: str, measures: pd.DataFrame | None = None) -> pd.DataFrame:
    """Results file ``name`` of folder ``out``, read, checked and typed (a UserError naming
    the file when it is broken); ``measures`` (measures.csv) to check traces against."""
    path = out / name
    df = _read(path, pd.read_csv if name.endswith(".csv") else pd.read_parquet)
    problem = column_problem(name, df)
    if problem is None and name == "runs.csv" and df.empty:
        problem = "no runs"
    if problem is None and name == "traces.parquet" and measures is not None:
        known = set(measures["measure"].astype(str))
        unknown = [m for m in df["measure"].astype(str).unique() if m not in known and m.split("/")[0] not in known]
        problem = f"measure {unknown[0]!r} has no row in measures.csv" if unknown else None
    if problem:
        raise UserError(f"{path}: {problem}; re-run `run --out {out}` to rewrite it")
    return typed(name, df)


def read_results(out: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(runs, traces, curves, measures) of a results folder, each checked, and checked
    against each other (:func:`rows_problem`)."""
    missing = [n for n in REQUIRED if not (out / n).is_file()]
    if missing:
        raise UserError(f"{str(out)!r} is not a results folder (missing {', '.join(missing)}); "
                        f"run `run --out {out}` first")
    frames: dict[str, pd.DataFrame] = {}
    for name in REQUIRED:
        frames[name] = read_table(out, name, frames.get("measures.csv"))
    problem = rows_problem(out, frames["runs.csv"], frames["traces.parquet"], frames["curves.parquet"])
    if problem:
        raise UserError(f"{out / problem[0]}: {problem[1]}; re-run `run --out {out}` to rewrite it")
    return frames["runs.csv"], frames["traces.parquet"], frames["curves.parquet"], frames["measures.csv"]


def _event_text(out: Path) -> pd.DataFrame:
    """runs.csv's event columns as written: an empty cell (never reached) is "", a "nan" stays "nan"."""
    return _read(out / "runs.csv", lambda p: pd.read_csv(p, usecols=list(EVENTS), dtype=str, keep_default_na=False))


EVENTS = ("t_mem", "t_gen")


def rows_problem(out: Path, runs: pd.DataFrame, traces: pd.DataFrame,
                 curves: pd.DataFrame) -> tuple[str, str] | None:
    """(file, what is wrong, with the row named) for rows no run can have produced, or None.

    - An event (T_mem, T_gen) is a step: a whole number from 0 to the run's budget, or an
      empty cell when the run never reached it (written so by ``run`` and ``Tracker.save``);
      "nan", a negative, fractional or infinite value, or one past the budget is not.
      T_gen before T_mem is possible (a regression task's test accuracy can reach the
      threshold first: teacher-student-17b30cd0026332d5 in results/full does) and accepted.
    - ``censored`` is true exactly when T_gen is empty (docs/protocol.md, "Events").
    - The budget is a whole number >= 1.
    - Each run has one row; each (run, step, measure) one trace row; every trace and
      curve row belongs to a run in runs.csv (and to its task, when traces say one).
    """
    rows = lambda mask: [i for i, bad in enumerate(mask) if bad]  # noqa: E731
    name = lambda i: f"row {i + 1} (run {runs['run_id'].iloc[i]!r})"  # noqa: E731
    budget = runs["budget"].to_numpy(float)
    bad = rows(~((budget >= 1) & (budget % 1 == 0) & (budget < float("inf"))))
    if bad:
        return "runs.csv", f"{name(bad[0])}: budget is {budget[bad[0]]:g}, not a whole number >= 1"
    text = _event_text(out)
    for col in EVENTS:
        value = pd.to_numeric(text[col].str.strip().replace("", "nan"), errors="coerce").to_numpy(float)
        empty = text[col].str.strip().eq("").to_numpy()
        ok = empty | ((value >= 0) & (value % 1 == 0) & (value <= budget))
        bad = rows(~ok)
        if bad:
            return "runs.csv", (f"{name(bad[0])}: {col} is {text[col].iloc[bad[0]]!r}; an event is a step from 0 to "
                                f"the budget ({budget[bad[0]]:g}), or an empty cell when the run never reached it")
    bad = rows(runs["censored"].to_numpy() != runs["t_gen"].isna().to_numpy())
    if bad:
        i = bad[0]
        return "runs.csv", (f"{name(i)}: censored is {bool(runs['censored'].iloc[i])} but t_gen is "
                            f"{'empty' if pd.isna(runs['t_gen'].iloc[i]) else format(runs['t_gen'].iloc[i], 'g')} "
                            "(a run is censored exactly when it never reached T_gen)")
    bad = rows(runs["run_id"].duplicated(keep=False))
    if bad:
        return "runs.csv", f"run {runs['run_id'].iloc[bad[0]]!r} has more than one row (rows {bad[0] + 1} and {bad[1] + 1})"
    task_of = dict(zip(runs["run_id"], runs["task"]))
    for file, df in (("traces.parquet", traces), ("curves.parquet", curves)):
        bad = rows(~df["run_id"].isin(task_of))
        if bad:
            return file, f"row {bad[0] + 1} belongs to run {df['run_id'].iloc[bad[0]]!r}, which runs.csv does not hold"
    if "task" in traces.columns:
        bad = rows(traces["task"].to_numpy() != traces["run_id"].map(task_of).to_numpy())
        if bad:
            i = bad[0]
            return "traces.parquet", (f"row {i + 1} says run {traces['run_id'].iloc[i]!r} is of task "
                                      f"{traces['task'].iloc[i]!r}; runs.csv says {task_of[traces['run_id'].iloc[i]]!r}")
    bad = rows(traces.duplicated(["run_id", "step", "measure"], keep=False))
    if bad:
        t = traces.iloc[bad[0]]
        return "traces.parquet", (f"rows {bad[0] + 1} and {bad[1] + 1} both hold {t['measure']!r} on run "
                                  f"{t['run_id']!r} at step {int(t['step'])}")
    return None


def read_manifest(out: Path) -> dict[str, Any]:
    """manifest.json as a dict ({} when absent)."""
    path = out / "manifest.json"
    if not path.exists():
        return {}
    try:
        manifest = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError) as exc:
        raise UserError(f"{path}: cannot be read ({str(exc).splitlines()[0][:200]})") from exc
    if not isinstance(manifest, dict):
        raise UserError(f"{path}: holds a {type(manifest).__name__}, not a JSON object")
    return manifest
