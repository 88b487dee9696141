"""Live early warning: the leaderboard's early-warning statistic on one run, and its alarm.

After memorisation (T_mem, from the logged train accuracy as in events.py), for
each measure with s = direction * value (docs/scoring.md):

    p(t) = (s(T_mem) - s(t)) / (|s(T_mem) - s(0)| + eps),   t > T_mem

computed by the scorer's own function (scoring/progress.py). s(T_mem) is the
value at the last logged step <= T_mem and s(0) the first logged value,
exactly as the scorer reads a run (scoring/early_warning.py).
Larger p means "the measure has fallen back a larger share of what it rose
before memorisation": generalisation is nearer.

The alarm threshold theta per measure is calibrated by
``scripts/calibrate_alarms.py`` on the reference suite's never-generalising
runs so that at most 10% of them ever exceed it after T_mem (the scorer's
``calibrate_threshold``), and shipped as ``complexity_bench/alarm_thresholds.json``.
An alarm fires at the first logged step after T_mem with p > theta.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping

import numpy as np
import pandas as pd

from complexity_bench.errors import UserError
from complexity_bench.numerics import no_variance
from complexity_bench.scoring.progress import relative_fall

THRESHOLDS_FILE = "alarm_thresholds.json"
POOLED = "pooled"
NO_VARIANCE = "constant up to numerical noise: no progress to read"
COLUMNS = ["measure", "t_mem", "step", "p", "p_max", "threshold", "alarm", "alarm_step", "reason"]
SHOWN_DIGITS = 3  # significant digits of p, p_max and theta when the table is printed


class WarningTable(pd.DataFrame):
    """``Tracker.warning()``'s table: a DataFrame that prints every column, never pandas' ``...``.

    Printed as: T_mem once (the same on every row), one line per measure with the
    numbers (``SHOWN_DIGITS`` significant digits), then each reason once with the
    measures it applies to; about 70 columns for measure names up to 20 characters.
    Selections and copies are plain DataFrames.
    """

    @property
    def _constructor(self):
        return pd.DataFrame

    def __repr__(self) -> str:
        return format_warning(self)

    __str__ = __repr__


def _shown(column: str, v: Any) -> str:
    if isinstance(v, (bool, np.bool_)) or column == "measure":
        return str(v)
    if v is None or pd.isna(v):
        return "-"
    return f"{int(v)}" if column in ("t_mem", "step", "alarm_step") else f"{v:.{SHOWN_DIGITS}g}"


def format_warning(table: pd.DataFrame) -> str:
    """The warning table as text with all its columns (see :class:`WarningTable`)."""
    t_mem = table["t_mem"].dropna().unique()
    lines = [f"T_mem = {int(t_mem[0])}" if len(t_mem) == 1 else "T_mem: not reached yet" if not len(t_mem) else ""]
    columns = [c for c in table.columns if c != "reason" and not (c == "t_mem" and len(t_mem) <= 1)]
    cells = [columns] + [[_shown(c, v) for c, v in zip(columns, row)] for row in table[columns].itertuples(index=False)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    for r in cells:
        lines.append("  ".join(v.ljust(w) if c == "measure" else v.rjust(w)
                               for c, v, w in zip(columns, r, widths)).rstrip())
    for reason, g in table[table["reason"].astype(bool)].groupby("reason", sort=False):
        lines.append(f"{', '.join(g['measure'])}: {reason}")
    return "\n".join(line for line in lines if line)


@lru_cache(maxsize=1)
def shipped_thresholds() -> dict[str, Any]:
    """The calibration shipped with the package (see scripts/calibrate_alarms.py)."""
    text = resources.files("complexity_bench").joinpath(THRESHOLDS_FILE).read_text()
    return json.loads(text)


def thresholds_for(source: str | Mapping[str, float] | None) -> tuple[dict[str, float], str]:
    """(measure -> theta, where it came from) for ``Tracker(alarms=...)``.

    ``"pooled"`` (default): one threshold per measure over every reference task;
    a task name: that task's thresholds; a dict: the user's own; None: no alarms.
    """
    if source is None:
        return {}, "none"
    if isinstance(source, Mapping):
        return {str(k): float(v) for k, v in source.items()}, "user"
    data = shipped_thresholds()
    table = data["pooled"] if source == POOLED else data["by_task"].get(source)
    if table is None:
        raise UserError(f"alarms={source!r}: choose 'pooled', one of the reference tasks "
                        f"({', '.join(sorted(data['by_task']))}), a dict of thresholds, or None")
    origin = f"{source} thresholds of {data['source'].get('suite', '?')} suite at {data['source'].get('git_commit', '?')[:10]}"
    return {m: v["threshold"] for m, v in table.items() if v.get("threshold") is not None}, origin


def progress(steps: np.ndarray, s: np.ndarray, t_mem: float, eps: float) -> np.ndarray:
    """p(t) at every step (NaN at and before T_mem, or without a value at or before T_mem).

    ``steps`` ascending, ``s`` the signed values there (NaN = missing, skipped).
    """
    ok = np.isfinite(s)
    st, sv = steps[ok], s[ok]
    out = np.full(len(steps), np.nan)
    k = np.searchsorted(st, t_mem, side="right")
    if k == 0:
        return out
    s_mem, s_init = sv[k - 1], sv[0]
    after = ok & (steps > t_mem)
    out[after] = relative_fall(s_mem, s_init, s[after], eps)
    return out


def _signed_series(g: pd.DataFrame, direction: int) -> tuple[np.ndarray, np.ndarray]:
    """(steps, s) of one measure's rows, sorted by step; an erroring row counts as missing."""
    g = g.sort_values("step", kind="mergesort")
    value = pd.to_numeric(g["value"], errors="coerce").to_numpy(float, copy=True)
    value[g["error"].fillna("").astype(str).str.len().to_numpy() > 0] = np.nan
    return g["step"].to_numpy(float), direction * value


def progress_table(traces: pd.DataFrame, directions: Mapping[str, int], t_mem: float | None,
                   eps: float) -> pd.DataFrame:
    """Long format (measure, step, p): p(t) at every logged step after T_mem (NaN before)."""
    parts = []
    for name, g in traces.groupby("measure", sort=True):
        steps, s = _signed_series(g, directions[name.split("/")[0]])
        known = t_mem is not None and not math.isnan(t_mem) and not no_variance(s)
        p = progress(steps, s, t_mem, eps) if known else np.full(len(steps), np.nan)
        parts.append(pd.DataFrame({"measure": name, "step": steps, "p": p}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["measure", "step", "p"])


def warning_table(traces: pd.DataFrame, directions: Mapping[str, int], t_mem: float | None,
                  thresholds: Mapping[str, float], eps: float) -> pd.DataFrame:
    """One row per measure: the latest p, its maximum since T_mem, the threshold, and the alarm.

    ``traces`` are one run's rows (step, measure, value, error). Pure: the same
    traces give the same table.
    """
    rows = []
    for name, g in traces.groupby("measure", sort=True):
        steps, s = _signed_series(g, directions[name.split("/")[0]])
        theta = thresholds.get(name, thresholds.get(name.split("/")[0]))
        row = {"measure": name, "t_mem": t_mem, "step": float(steps[-1]), "p": math.nan, "p_max": math.nan,
               "threshold": math.nan if theta is None else float(theta), "alarm": False, "alarm_step": math.nan,
               "reason": ""}
        if t_mem is None or math.isnan(t_mem):
            row["reason"] = "not memorised yet"
        elif no_variance(s):  # p would be rounding noise over rounding noise
            row["reason"] = NO_VARIANCE
        else:
            p = progress(steps, s, t_mem, eps)
            seen = np.isfinite(p)
            if not seen.any():
                row["reason"] = "no value after T_mem yet" if np.isfinite(s[steps <= t_mem]).any() \
                    else "no value at or before T_mem"
            else:
                row["p"] = float(p[seen][-1])
                row["p_max"] = float(p[seen].max())
                if theta is None:
                    row["reason"] = "no calibrated threshold for this measure"
                else:
                    fired = seen & (p > theta)
                    row["alarm"] = bool(fired.any())
                    row["alarm_step"] = float(steps[fired][0]) if fired.any() else math.nan
        rows.append(row)
    return WarningTable(pd.DataFrame(rows, columns=COLUMNS))
