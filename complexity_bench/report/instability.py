"""The instability question in the report (docs/protocol.md, "The instability question").

``in_auroc`` per measure and task, with its bootstrap interval where the CSV has one,
beside the clock (``step``) and the recipe baselines on the same task: their rows come
first, the measures after them in name order. Never ranked and never sorted by value
by default: it is a second question, reported beside the leaderboard. When every value
is undefined the card says why in one sentence, from the folder's own files.
"""

from __future__ import annotations

import re
from collections import Counter
from html import escape

import numpy as np
import pandas as pd

from complexity_bench.report.tables import Score, score_bar, th

# The baselines a measure's in_auroc is read beside: the clock, then the recipe (scoring/scorer_baselines.py).
BASELINES = ("step", "recipe-wd", "recipe-oracle")
IN_AUROC = Score("in_auroc", "instability AUROC", "after T_gen, does the measure's fall since generalisation "
                 "tell the checkpoints whose next loss spike or collapse comes within 2× the steps so far? "
                 "0.5 = chance; read it beside the clock (step) and the recipe baselines", 0, 1, 0.5)
NOTE = ("Not ranked: a second question, read beside the clock (<code>step</code>) and the recipe baselines "
        "(<code>recipe-*</code>) of the same task, whose rows come first; the recipe baselines are constant within "
        "a run, so theirs is 0.5 or undefined by construction. Events: T_spike (training loss above 10× its running minimum) and "
        "T_collapse (test accuracy below the threshold for 3 evaluations), both after T_gen; "
        "docs/protocol.md, \"The instability question\".")


def _values(by_task: pd.DataFrame) -> np.ndarray:
    return pd.to_numeric(by_task["in_auroc"], errors="coerce").to_numpy(float) if "in_auroc" in by_task \
        else np.zeros(0)


def undefined_reason(by_task: pd.DataFrame, runs: pd.DataFrame) -> str | None:
    """Why every in_auroc of these rows is undefined (one sentence, code in backticks as in Markdown), or None
    when some value is defined. The report and the README block (instability_findings.py) both say it."""
    if "in_auroc" not in by_task:
        return ("undefined: this folder was scored before the instability question existed (no in_auroc column); "
                "re-score it with `python -m complexity_bench score DIR`.")
    if np.isfinite(_values(by_task)).any():
        return None
    why = []
    if not {"t_spike", "t_collapse"} <= set(runs.columns):
        why.append("runs.csv has no t_spike / t_collapse columns (its runs were written before the instability "
                   "events were recorded)")
    never = "t_gen" in runs and len(runs) > 0 and bool(runs["t_gen"].isna().all())
    if never:  # then the early stop is not what left it undefined
        why.append("no run generalised, and both events are looked for after T_gen only")
    stop = pd.to_numeric(runs["stop_factor"], errors="coerce") if "stop_factor" in runs else pd.Series(dtype=float)
    if len(stop) and stop.notna().all() and not never:
        factors = " / ".join(f"{f:g}" for f in sorted(stop.unique()))
        why.append(f"this suite stops each run early at {factors} x T_gen (runs.csv `stop_factor`), so "
                   "after T_gen there is no checkpoint with a known label unless an event came first; the question "
                   "needs runs that train past T_gen: the `long` suite (`run --suite long`)")
    if why:
        return "undefined: " + "; and ".join(why) + "."
    reason = most_common_reason(by_task)
    return f"undefined on every row; `nan_reasons` says why for each{f' (most often: {reason})' if reason else ''}."


def most_common_reason(by_task: pd.DataFrame) -> str | None:
    """The reason ``nan_reasons`` gives most often for an undefined in_auroc in these rows (None: none given)."""
    reasons = Counter(part.split(":", 1)[1].strip() for text in by_task.get("nan_reasons", pd.Series(dtype=str))
                      .fillna("").astype(str) for part in text.split("; ") if part.startswith("in_auroc:"))
    return reasons.most_common(1)[0][0] if reasons else None


def _code_html(text: str) -> str:
    """``text`` escaped, its `backtick` spans as <code>."""
    return re.sub(r"`([^`]*)`", r"<code>\1</code>", escape(text))


def baselines_first(names: list[str]) -> list[str]:
    """The baselines first (clock, then recipe), then the measures by name."""
    return [b for b in BASELINES if b in names] + sorted(n for n in set(names) if n not in BASELINES)


def _count(v) -> str:
    x = pd.to_numeric(v, errors="coerce")
    return "—" if pd.isna(x) else f"{int(x)}"


def instability_table(by_task: pd.DataFrame, tasks: list[str], table_id: str, task_view: bool) -> str:
    """Rows: the baselines, then the measures; one in_auroc column per task. A task's own view (one task)
    also shows the runs and checkpoints it was scored on (n_runs_in, n_ckpt_in)."""
    if by_task.empty or not {"measure", "task", "in_auroc"} <= set(by_task.columns):
        return ""
    cells = {(str(r["measure"]), str(r["task"])): r for _, r in by_task.iterrows()}
    one = task_view and len(tasks) == 1
    head = [th("measure", "text")] + [th(t if not one else IN_AUROC.label, title=IN_AUROC.help, first_desc=True,
                                        align="text") for t in tasks]
    if one:
        head += [th("runs", title="generalised runs with a checkpoint after T_gen whose label is known (n_runs_in)"),
                 th("checkpoints", title="checkpoints scored (n_ckpt_in)")]
    rows = []
    for name in baselines_first(list(by_task["measure"].astype(str).unique())):
        base = name in BASELINES
        tag = f'<span class="tag">{"clock" if name == "step" else "recipe"}</span>' if base else ""
        row = [f'<td class="text" data-sort="{escape(name)}"><code>{escape(name)}</code>{tag}</td>']
        for t in tasks:
            r = cells.get((name, t))
            row.append(score_bar(r, IN_AUROC) if r is not None else '<td class="num" data-sort="">—</td>')
        if one:
            r = cells.get((name, tasks[0]), {})
            row += [f'<td class="num">{_count(r.get("n_runs_in"))}</td>',
                    f'<td class="num">{_count(r.get("n_ckpt_in"))}</td>']
        rows.append(f'<tr class="{"base" if base else ""}" data-measure="{escape(name)}">{"".join(row)}</tr>')
    return (f'<table class="sortable instability" id="{escape(table_id)}"><thead><tr>{"".join(head)}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def instability_card_body(by_task: pd.DataFrame, runs: pd.DataFrame, tasks: list[str], table_id: str,
                          task_view: bool) -> tuple[str, str]:
    """(body, note) of the card: the table, or only the sentence saying why when every value is undefined."""
    why = undefined_reason(by_task, runs)
    table = "" if why else instability_table(by_task, tasks, table_id, task_view)  # a table of n/a only would add bulk
    body = f'<p class="undefined">{_code_html(why)}</p>' if why else ""
    body += f'<div class="scroll">{table}</div>' if table else ""
    return body, NOTE
