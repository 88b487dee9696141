"""Assemble the report page: header, view switch, one section per view, inline scripts.

The page is one file: report.css, plotly.js (once), the figure specs (JSON in
``<script type="application/json">``) and report.js are all inline, so it opens
from disk or an e-mail attachment without any network request.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

import pandas as pd

from complexity_bench.report import plots, tables
from complexity_bench.report.instability import instability_card_body
from complexity_bench.report.data import MAX_POINTS, Results, header_facts, of_task

HERE = Path(__file__).parent


def _json_script(element_id: str, obj) -> str:
    # "</" and "<!--" escaped (both still valid JSON) so no string in the data can end the script element.
    text = json.dumps(obj, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    text = text.replace("</", "<\\/").replace("<!--", "\\u003c!--")
    return f'<script type="application/json" id="{escape(element_id)}">{text}</script>'


def _card(title: str, body: str, note: str = "") -> str:
    note_html = f'<p class="note">{note}</p>' if note else ""
    return f'<div class="card"><h2>{escape(title)}</h2>{note_html}{body}</div>'


BOARD_NOTE = ("Bars: the score (dot) with its 95% bootstrap interval, on the score's full range; the grey tick "
              "is chance. Click a column to sort; hover or click a measure for its metadata. Column meanings: "
              "docs/scoring.md.")


def _board_note(board: pd.DataFrame) -> str:
    """How to read the rank column: the v2 rule when the file has its columns, else the file's own rule."""
    if "rank_lo" in board:
        rule = ("Rank: 1 + the number of measures better with ≥ 95% bootstrap probability, so statistically "
                "tied measures share a rank (marked =); beneath it, the rank's 95% interval: where the measure "
                "places when every measure is ordered by its score in each bootstrap replicate. The rank counts "
                "only wins that are 95% sure, so it can sit below that interval (several measures each probably, "
                "none surely, better). Every point estimate comes from all the data and every interval from the "
                "replicates: with few replicates (under 40) an interval is their range and need not contain "
                "the point.")
    else:
        rule = "Rank: as in the CSV (this folder predates rank intervals); = marks a shared rank."
    return f"{BOARD_NOTE} {rule}"


PAIRWISE_NOTE = ("Each cell: the share of bootstrap replicates in which the row's measure scores better than the "
                 "column's (ties count ½). Bold: at least 0.95 or at most 0.05.")


def _measure_order(res: Results, task: str) -> list[str]:
    """The task's measures in its leaderboard order (the cross-task one when it has no ranks), then the rest."""
    rows = of_task(res.by_task, task)
    board = rows if "rank" in rows or "rank" not in res.leaderboard else res.leaderboard
    names = list(tables.order_rows(board)["measure"].astype(str)) if "measure" in board else []
    if board is not rows and "measure" in rows:
        names = [m for m in names if m in set(rows["measure"].astype(str))]
    if "measure" in res.traces:
        names += sorted(set(of_task(res.traces, task)["measure"].astype(str)) - set(names))
    return names


def _direction_titles(res: Results, names: list[str]) -> dict[str, str]:
    """Scatter x titles: the measure and which way is "more complex"."""
    meta = res.measures.drop_duplicates("measure").set_index("measure") \
        if {"measure", "direction"} <= set(res.measures.columns) else pd.DataFrame()
    out = {}
    for m in names:
        d = pd.to_numeric(meta.at[m, "direction"], errors="coerce") if m in meta.index else float("nan")
        out[m] = m if pd.isna(d) else f"{m} ({'larger' if d > 0 else 'smaller'} = more complex)"
    return out


def _task_view(res: Results, task: str, k: int, scripts: list[str]) -> str:
    runs, traces, by_task = of_task(res.runs, task), of_task(res.traces, task), of_task(res.by_task, task)
    parts = [_card(f"{task}: leaderboard", tables.leaderboard_table(by_task, f"board-t{k}", "n_runs"),
                   _board_note(by_task) + " Scores and ranks within this task.")]
    parts.append(_card(f"{task}: runs ({len(runs)})", '<div class="scroll">' + tables.runs_table(runs, f"runs-t{k}")
                       + "</div>", "One row per run; hover a run id for the full id."))
    names = _measure_order(res, task)
    if len(runs) and names:
        options = "".join(f'<option value="{escape(m)}">{escape(m)}</option>' for m in names)
        select = (f'<div class="controls"><label>measure <select class="measure" id="sel-t{k}">{options}'
                  "</select></label><span>shared by both figures below</span></div>")
        curves = plots.curves_spec(runs, traces, res.curves, names)
        scripts.append(_json_script(f"spec-t{k}-curves", curves))
        body = (select + f'<div class="plot" id="plot-t{k}-curves" data-kind="curves" data-spec="spec-t{k}-curves" '
                f'data-select="sel-t{k}"></div>')
        parts.append(_card("Training curves and the measure beneath", body,
                           "Top: train (dotted) and test (solid) accuracy, one colour per configuration (seeds "
                           "share it); ◇ T_mem, ● T_gen (× T_spike, ▼ T_collapse where runs.csv has them); "
                           "dashed line: the accuracy threshold. Bottom: the "
                           "selected measure at each checkpoint. Click a legend entry to hide a configuration. "
                           f"Curves are thinned to at most {MAX_POINTS} points per run for "
                           "display; the data files are not."))
        scatter = plots.scatter_spec(runs, traces, by_task, names)
        if scatter:
            scatter["xtitles"] = _direction_titles(res, names)
            scripts.append(_json_script(f"spec-t{k}-scatter", scatter))
            parts.append(_card("Measure vs test loss", f'<div class="plot" id="plot-t{k}-scatter" data-kind="scatter" '
                               f'data-spec="spec-t{k}-scatter" data-select="sel-t{k}"></div>',
                               "Every checkpoint of every run; hover for run, step and value."))
    body, note = instability_card_body(by_task, runs, [task], f"instab-t{k}", task_view=True)
    if body:
        parts.append(_card(f"{task}: after generalisation (the instability question)", body, note))
    pw = tables.pairwise_tables(res.pairwise, task, names, f"t{k}")
    if pw:
        parts.append(_card(f"{task}: which measure beats which", '<div class="scroll">' + pw + "</div>", PAIRWISE_NOTE))
    return f'<section class="view" data-view="{escape(task)}" hidden>{"".join(parts)}</section>'


def _all_view(res: Results) -> str:
    order = list(tables.order_rows(res.leaderboard)["measure"].astype(str)) if "measure" in res.leaderboard else []
    parts = [_card("Leaderboard: all tasks", tables.leaderboard_table(res.leaderboard, "board-all"),
                   _board_note(res.leaderboard))]
    parts.append(_card("Tasks", tables.task_summary_table(res.runs, res.tasks),
                       "Click a task (or use the switch above) for its runs, curves and scatter."))
    tasks = sorted(set(res.by_task["task"].astype(str))) if "task" in res.by_task else []
    body, note = instability_card_body(res.by_task, res.runs, tasks, "instab-all", task_view=False)
    if body:
        parts.append(_card("After generalisation: the instability question, per task", body, note))
    pw = tables.pairwise_tables(res.pairwise, "all", order, "all")
    if pw:
        parts.append(_card("Which measure beats which (all tasks)", '<div class="scroll">' + pw + "</div>",
                           PAIRWISE_NOTE))
    return f'<section class="view" data-view="all">{"".join(parts)}</section>'


def _header(res: Results) -> str:
    facts = header_facts(res.manifest)
    cells = "".join(f'<div><dt>{escape(k)}</dt><dd class="{"unknown" if v == "unknown" else ""}">{escape(v)}</dd></div>'
                    for k, v in facts)
    if res.manifest.get("rescored"):
        cells += "<div><dt>scores</dt><dd>re-scored</dd></div>"
    return (f'<header><h1>complexity_bench <span>· which complexity measure sees delayed generalisation '
            f'coming?</span></h1><dl class="facts">{cells}</dl></header>')


def _nav(res: Results) -> str:
    counts = res.runs["task"].astype(str).value_counts() if "task" in res.runs else pd.Series(dtype=int)
    tabs = ['<button class="tab" data-view="all">All tasks</button>']
    tabs += [f'<button class="tab" data-view="{escape(t)}">{escape(t)} <small>{counts.get(t, 0)}</small></button>'
             for t in res.tasks]
    return f'<nav><span class="label">View</span>{"".join(tabs)}</nav>'


def render(res: Results) -> str:
    """The whole page as one string."""
    from plotly.io import templates
    from plotly.offline import get_plotlyjs

    scripts: list[str] = [_json_script("plotly-template", templates["plotly_white"].to_plotly_json())]
    views = [_all_view(res)] + [_task_view(res, t, k, scripts) for k, t in enumerate(res.tasks)]
    suite = escape(str(res.manifest.get("suite", "")))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>complexity_bench report{': ' + suite + ' suite' if suite else ''}</title>"
        f"<style>{(HERE / 'report.css').read_text()}</style></head><body>"
        f"{_header(res)}{_nav(res)}<main>{''.join(views)}</main>"
        f"<footer>Written by <code>python -m complexity_bench report {escape(res.root.name or str(res.root))}</code> "
        "from the CSV, Parquet and JSON files beside it; it needs no network.</footer>"
        + "".join(scripts)
        + f"<script>{get_plotlyjs()}</script><script>{(HERE / 'report.js').read_text()}</script></body></html>\n"
    )
