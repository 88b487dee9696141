"""Read a results folder for the report, tolerating old and missing files and columns.

Every file is optional except that a folder needs ``leaderboard.csv`` or
``runs.csv`` to be a results folder at all. A missing column is shown as absent,
never invented: the report draws what the CSVs say (their schemas: README,
"Outputs", and docs/scoring.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from complexity_bench.errors import UserError

# Display only: at most this many points per (run, series) reach the page;
# the CSVs and Parquet files are never thinned.
MAX_POINTS = 200


@dataclass
class Results:
    """What one results folder holds; an absent file is an empty frame (or {})."""

    root: Path
    leaderboard: pd.DataFrame
    by_task: pd.DataFrame
    pairwise: pd.DataFrame
    runs: pd.DataFrame
    traces: pd.DataFrame
    curves: pd.DataFrame
    measures: pd.DataFrame
    manifest: dict

    @property
    def tasks(self) -> list[str]:
        """Task names, from the runs and the per-task leaderboard, sorted."""
        names = set()
        for df in (self.runs, self.by_task):
            if "task" in df:
                names |= set(df["task"].dropna().astype(str))
        return sorted(names)


def of_task(df: pd.DataFrame, task: str) -> pd.DataFrame:
    """The rows of ``task`` (none when the frame has no ``task`` column)."""
    return df[df["task"].astype(str) == task] if "task" in df else df.iloc[:0]


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path) if path.exists() else pd.DataFrame()


def _checked(root: Path, name: str) -> pd.DataFrame:
    """A results file the scorer reads too: checked and typed as ``score`` reads it
    (complexity_bench/pipeline/results_files.py), so a broken file is one line, not a traceback."""
    from complexity_bench.pipeline.results_files import read_table

    return read_table(root, name) if (root / name).exists() else pd.DataFrame()


def read_results(root: str | Path) -> Results:
    """Load every file the report uses from ``root``; UserError when it is not a results folder."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{str(root)!r} is not a folder; give the --out folder of a `run`")
    if not (root / "leaderboard.csv").exists() and not (root / "runs.csv").exists():
        raise UserError(f"{str(root)!r} is not a results folder (no leaderboard.csv or runs.csv); "
                        f"run `python -m complexity_bench run --out {root}` first")
    manifest_path = root / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    except json.JSONDecodeError as exc:
        raise UserError(f"{manifest_path} is not valid JSON ({exc}); re-run `score` to rewrite it") from None
    return Results(root, _csv(root / "leaderboard.csv"), _csv(root / "leaderboard_by_task.csv"),
                   _csv(root / "pairwise.csv"), _checked(root, "runs.csv"), _checked(root, "traces.parquet"),
                   _checked(root, "curves.parquet"), _checked(root, "measures.csv"),
                   manifest if isinstance(manifest, dict) else {})


def thin_indices(n: int, k: int = MAX_POINTS) -> np.ndarray:
    """Indices of at most k of n ordered points, evenly spaced, always keeping the first and the last.

    >>> thin_indices(5, 10).tolist()
    [0, 1, 2, 3, 4]
    >>> thin_indices(1000, 4).tolist()
    [0, 333, 666, 999]
    """
    if n <= k:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max(k, 2)).round().astype(int))


def series(df: pd.DataFrame, keys: list[str], cols: list[str]) -> dict[tuple, dict[str, np.ndarray]]:
    """Per group of ``keys`` (a tuple), the arrays of ``cols`` sorted by step; full length (thin at display)."""
    if df.empty or not set(keys) | set(cols) | {"step"} <= set(df.columns):
        return {}
    df = df.sort_values("step", kind="stable")
    arrays = {c: df[c].to_numpy() for c in cols}
    groups = df[keys].astype(str).groupby(keys, sort=False).indices
    return {(k if isinstance(k, tuple) else (k,)): {c: a[idx] for c, a in arrays.items()}
            for k, idx in groups.items()}


# Manifest keys, with the older spellings a folder may carry; the report shows
# "unknown" for a fact no key holds.
HEADER_KEYS = {
    "suite": ("suite",),
    "commit": ("git_commit", "commit"),
    "device": ("device",),
    "date": ("date", "finished_at", "created_at"),
    "wall time": ("wall_seconds", "wall_seconds_this_invocation"),
    "runs": ("runs", "n_runs"),
    "protocol": ("protocol_version",),
}


def _fmt_seconds(s: float) -> str:
    s = float(s)
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


def header_facts(manifest: dict) -> list[tuple[str, str]]:
    """(label, text) pairs for the page header, "unknown" where the manifest is silent."""
    facts = []
    for label, keys in HEADER_KEYS.items():
        value = next((manifest[k] for k in keys if manifest.get(k) not in (None, "")), None)
        if value is None:
            text = "unknown"
        elif label == "wall time":
            try:
                text = _fmt_seconds(value)
            except (TypeError, ValueError):
                text = str(value)
        elif label == "commit":
            text = str(value)[:10]
        else:
            text = str(value)
        facts.append((label, text))
    return facts
