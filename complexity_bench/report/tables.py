"""HTML tables of the report: leaderboard, runs, task summary, pairwise probabilities.

Every sortable cell carries ``data-sort`` (a number, or text; empty = missing,
sorted last either way) for report.js. Column meanings: docs/scoring.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

import numpy as np
import pandas as pd

from complexity_bench.report.data import of_task


@dataclass(frozen=True)
class Score:
    """A score column drawn as a point with its 95% interval on a fixed scale."""

    key: str
    label: str
    help: str
    lo: float
    hi: float
    chance: float
    higher_is_better: bool = True


# Ranges and chance levels: docs/scoring.md, "Scores".
SCORES = (
    Score("headline", "headline", "mean of the within-configuration early-warning AUROC and forecast C-index "
          "(what the measure tells beyond the recipe and the clock), averaged over tasks", 0, 1, 0.5),
    Score("headline_spread", "per-task headline", "the median over tasks; the bar spans the worst and the "
          "best task", 0, 1, 0.5),
    Score("cw_auroc", "early warning within config", "at one step of one configuration, is the checkpoint "
          "that generalises within 2× the steps the one with the smaller value? 0.5 = chance", 0, 1, 0.5),
    Score("cf_cindex", "forecast within config", "of two seeds of one configuration, compared at a common step "
          "before memorisation, does the smaller value generalise first? 0.5 = chance", 0, 1, 0.5),
    Score("recipe_headline", "recipe level", "protocol 2's unconditional headline (mean of the two scores "
          "below): read it beside recipe-wd and recipe-oracle", 0, 1, 0.5),
    Score("ctl_auroc", "controls", "does the value at memorisation tell a weight-decay-0 control (never "
          "generalises) from a run that groks? 0.5 = chance", 0, 1, 0.5),
    Score("ew_auroc", "early-warning AUROC (recipe level)", "does progress since memorisation tell which "
          "checkpoints generalise within 2× the steps so far, across all runs? 0.5 = chance", 0, 1, 0.5),
    Score("fc_cindex", "forecast C-index (recipe level)", "does the value at memorisation order the delays of "
          "all runs (censored runs included)? 0.5 = chance", 0, 1, 0.5),
    Score("trk_rho", "tracking ρ", "Spearman ρ of direction × measure with test loss over [T_mem, T_gen] "
          "of grokking runs", -1, 1, 0),
    Score("fc_sign_error_max", "worst sign-error", "the worst one-knob comparison the measure gets wrong; "
          "lower is better, 0.5 = chance", 0, 1, 0.5, higher_is_better=False),
)
SECTION_ORDER = {"ranked": 0, "unranked": 1, "not causal": 2}
# Measure metadata shown on hover / focus of the measure's name.
META_FIELDS = ("description", "reference", "direction", "direction_source", "cost", "needs", "applies_to",
               "stochastic", "measure_version", "tasks", "n_runs", "n_ckpt", "n_missing", "nan_reasons")


def _num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _sort_attr(v) -> str:
    x = _num(v)
    return "" if math.isnan(x) else f"{x:.6g}"


def _fmt(v, digits: int = 2) -> str:
    x = _num(v)
    return "n/a" if math.isnan(x) else f"{x:.{digits}f}"


def _truthy(v) -> bool:
    return str(v).strip().lower() in ("true", "1", "1.0", "yes")


def th(label: str, kind: str = "num", title: str = "", first_desc: bool = False, align: str = "") -> str:
    """A sortable header cell (kind "num" or "text"); ``first_desc``: the first click sorts largest first."""
    attrs = f' class="{align or kind}" data-kind="{kind}"'
    attrs += ' data-first="desc"' if first_desc else ""
    attrs += f' title="{escape(title)}"' if title else ""
    return f"<th{attrs}>{escape(label)}<span class=\"arrow\"></span></th>"


def score_bar(row: pd.Series, s: Score) -> str:
    """The score, its interval as a bar on the score's scale, and the chance level as a tick."""
    v, lo, hi = _num(row.get(s.key)), _num(row.get(f"{s.key}_lo")), _num(row.get(f"{s.key}_hi"))
    pos = lambda x: 100 * (min(max(x, s.lo), s.hi) - s.lo) / (s.hi - s.lo)  # noqa: E731
    parts = [f'<span class="chance" style="left:{pos(s.chance):.1f}%"></span>']
    if not (math.isnan(lo) or math.isnan(hi)):
        parts.append(f'<span class="iv" style="left:{pos(lo):.1f}%;width:{max(pos(hi) - pos(lo), 0.6):.1f}%"></span>')
    if not math.isnan(v):
        parts.append(f'<span class="pt" style="left:{pos(v):.1f}%"></span>')
    interval = "" if math.isnan(lo) else f"[{_fmt(lo)}, {_fmt(hi)}]"
    title = f"{s.label}: {_fmt(v, 3)} {interval}".strip()
    extra = " headline" if s.key == "headline" else ""
    return (f'<td class="num score{extra}" data-sort="{_sort_attr(v)}" title="{escape(title)}">'
            f'<span class="track">{"".join(parts)}</span>'
            f'<span class="nums"><span class="val{" na" if math.isnan(v) else ""}">{_fmt(v)}</span><span class="lohi">{escape(interval)}</span>'
            "</span></td>")


def _meta_tip(row: pd.Series) -> str:
    items = []
    for f in META_FIELDS:
        v = row.get(f)
        if v is None or (isinstance(v, float) and math.isnan(v)) or str(v) == "":
            continue
        text = str(v)
        if f == "direction":
            text = {"1": "+1 (larger = more complex)", "-1": "−1 (smaller = more complex)"}.get(
                f"{_num(v):g}", text)
        if f == "tasks":
            text = text.replace("+", ", ")
        if len(text) > 360:
            text = text[:360] + " …"
        items.append(f"<dt>{escape(f.replace('_', ' '))}</dt><dd>{escape(text)}</dd>")
    return f'<span class="tip"><dl>{"".join(items)}</dl></span>' if items else ""


def _rank_text(rank: float, ranks: pd.Series, names: pd.Series) -> tuple[str, str]:
    """"3" or "3=" when another measure shares the rank; title names the tied measures."""
    if math.isnan(rank):
        return "—", "not ranked"
    tied = [str(n) for n, r in zip(names, ranks) if _num(r) == rank]
    if len(tied) > 1:
        return f"{rank:g}=", "tied with " + ", ".join(tied)
    return f"{rank:g}", ""


def order_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Leaderboard order: section, then rank, then headline (best first), then name."""
    key = pd.DataFrame({
        "section": df["section"].map(SECTION_ORDER).fillna(3) if "section" in df else 0,
        "rank": pd.to_numeric(df["rank"], errors="coerce") if "rank" in df else 0,
        "headline": -pd.to_numeric(df["headline"], errors="coerce") if "headline" in df else 0,
        "measure": df["measure"].astype(str) if "measure" in df else "",
    }, index=df.index)
    return df.loc[key.sort_values(list(key.columns), na_position="last").index]


def leaderboard_table(df: pd.DataFrame, table_id: str, count_col: str = "n_tasks") -> str:
    """One row per measure; columns present in ``df`` only (old results lack some)."""
    if df.empty or "measure" not in df:
        return '<p class="empty">No leaderboard rows in this results folder.</p>'
    df = order_rows(df)
    if "headline_task_median" in df:
        df = df.copy().assign(headline_spread=df["headline_task_median"], headline_spread_lo=df["headline_task_min"],
                       headline_spread_hi=df["headline_task_max"])
    scores = [s for s in SCORES if s.key in df]
    has = lambda c: c in df  # noqa: E731
    head = []
    rank_iv = has("rank_lo") and has("rank_hi")
    if has("rank"):
        head.append(th("rank", title="1 + number of measures that beat it (Holm's rule over all pairs, 5% "
                                     "familywise); '=' marks a tie" + ("; beneath: the rank's 95% interval over "
                                                                    "bootstrap replicates" if rank_iv else "")
                                     + ("; hover: the ranks leaving one task out" if has("rank_loto_min") else "")))
    head.append(th("measure", "text", "hover or click a name for its metadata"))
    if has("section"):
        head.append(th("section", "text", "ranked; unranked = not defined on every task; "
                                          "not causal = the oracle"))
    head += [th(s.label + (" ↓" if not s.higher_is_better else ""), title=s.help,
                first_desc=s.higher_is_better, align="text") for s in scores]
    if has(count_col):
        head.append(th({"n_tasks": "tasks", "n_runs": "runs"}.get(count_col, count_col),
                       title="tasks the measure is scored on" if count_col == "n_tasks" else "runs of the task"))
    rows = []
    ranks = pd.to_numeric(df["rank"], errors="coerce") if has("rank") else None
    for _, r in df.iterrows():
        cells = []
        if ranks is not None:
            text, title = _rank_text(_num(r["rank"]), ranks, df["measure"])
            if has("rank_loto_min") and not math.isnan(_num(r["rank_loto_min"])):
                title = (title + "; " if title else "") + \
                    f"leaving one task out: ranks {_num(r['rank_loto_min']):g}–{_num(r['rank_loto_max']):g}"
            lo, hi = (_num(r["rank_lo"]), _num(r["rank_hi"])) if rank_iv else (math.nan, math.nan)
            iv = "" if math.isnan(lo) or math.isnan(hi) else (f"{lo:g}" if lo == hi else f"{lo:g}–{hi:g}")
            iv_html = f'<span class="rankiv" title="95% interval of the rank">{iv}</span>' if iv else ""
            cells.append(f'<td class="num rank" data-sort="{_sort_attr(r["rank"])}" title="{escape(title)}">'
                         f'<span class="rk">{escape(text)}</span>{iv_html}</td>')
        name = escape(str(r["measure"]))
        tag = '<span class="tag">baseline</span>' if _truthy(r.get("baseline")) else ""
        cells.append(f'<td class="text mcell" data-sort="{name}"><span class="mname" tabindex="0">'
                     f"<code>{name}</code>{_meta_tip(r)}</span>{tag}</td>")
        if has("section"):
            sec = "" if pd.isna(r["section"]) else str(r["section"])
            cells.append(f'<td class="text" data-sort="{SECTION_ORDER.get(sec, 3)}{escape(sec)}">'
                         f'<span class="sec sec-{sec.replace(" ", "-")}">{escape(sec)}</span></td>')
        cells += [score_bar(r, s) for s in scores]
        if has(count_col):
            cells.append(f'<td class="num" data-sort="{_sort_attr(r[count_col])}">{_fmt(r[count_col], 0)}</td>')
        rows.append(f'<tr data-measure="{name}">{"".join(cells)}</tr>')
    return (f'<table class="sortable board" id="{escape(table_id)}"><thead><tr>{"".join(head)}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def run_outcome(r: pd.Series) -> str:
    if pd.isna(r.get("t_mem")):
        return "never memorised"
    return "never generalised" if _truthy(r.get("censored")) else "grokked"


def config_knobs(runs: pd.DataFrame) -> list[str]:
    """The variant axes of a task's runs (column ``axes``) that vary; all axes when none varies."""
    axes = []
    for a in runs["axes"].dropna().astype(str) if "axes" in runs else []:
        axes += [x for x in a.split("+") if x and x in runs and x not in axes]
    varying = [a for a in axes if runs[a].nunique(dropna=False) > 1]
    return varying or axes


def config_label(r: pd.Series, knobs: list[str]) -> str:
    parts = []
    for k in knobs:
        v = r.get(k)
        parts.append(f"{k}={v:g}" if isinstance(v, (int, float, np.integer, np.floating)) else f"{k}={v}")
    return " · ".join(parts) or "default"


def _step_cell(v) -> str:
    return f'<td class="num" data-sort="{_sort_attr(v)}">{"—" if pd.isna(v) else f"{_num(v):,.0f}"}</td>'


# runs.csv's instability events (docs/protocol.md, "Events"): column -> (header, what it is).
INSTABILITY_EVENTS = {
    "t_spike": ("T_spike", "first step after T_gen with the training loss above 10× its running minimum; — = none"),
    "t_collapse": ("T_collapse", "first step after T_gen from which test accuracy stays below the threshold for "
                                 "3 evaluations; — = none"),
}


def runs_table(runs: pd.DataFrame, table_id: str) -> str:
    """One row per run of a task: configuration, seed, events, outcome."""
    if runs.empty:
        return '<p class="empty">No runs of this task in runs.csv.</p>'
    knobs = config_knobs(runs)
    head = [th("run", "text"), th("configuration", "text", "the task's variant axes"), th("seed"),
            th("T_mem", title="first step from which train accuracy stays above the threshold"),
            th("T_gen", title="the same for test accuracy; — = not within the budget"),
            th("T_gen / T_mem", title="the delay (10^delay); for a censored run a lower bound"),
            th("censored", "text", "never generalised within the budget"), th("outcome", "text")]
    events = [c for c in INSTABILITY_EVENTS if c in runs]
    head += [th(INSTABILITY_EVENTS[c][0], title=INSTABILITY_EVENTS[c][1]) for c in events]
    if "train_seconds" in runs:
        head.append(th("train s", title="training seconds of this run"))
    rows = []
    for _, r in runs.sort_values([*knobs, "seed"] if "seed" in runs else knobs).iterrows():
        rid = str(r["run_id"])
        delay = _num(r.get("delay"))
        ratio = "" if math.isnan(delay) else 10 ** delay
        cens = _truthy(r.get("censored"))
        cells = [f'<td class="text" data-sort="{escape(rid)}" title="{escape(rid)}">'
                 f"<code>{escape(rid[-8:])}</code></td>",
                 f'<td class="text">{escape(config_label(r, knobs))}</td>',
                 f'<td class="num" data-sort="{_sort_attr(r.get("seed"))}">{_fmt(r.get("seed"), 0)}</td>',
                 _step_cell(r.get("t_mem")), _step_cell(r.get("t_gen")),
                 f'<td class="num" data-sort="{_sort_attr(ratio)}">'
                 f'{"—" if ratio == "" else ("≥ " if cens else "") + f"{ratio:.3g}×"}</td>',
                 f'<td class="text" data-sort="{int(cens)}">{"yes" if cens else "no"}</td>',
                 f'<td class="text"><span class="out out-{run_outcome(r).replace(" ", "-")}">'
                 f"{run_outcome(r)}</span></td>"]
        cells += [_step_cell(r.get(c)) for c in events]
        if "train_seconds" in runs:
            cells.append(f'<td class="num" data-sort="{_sort_attr(r["train_seconds"])}">'
                         f'{_fmt(r["train_seconds"], 1)}</td>')
        rows.append(f'<tr data-run="{escape(rid)}">{"".join(cells)}</tr>')
    return (f'<table class="sortable runs" id="{escape(table_id)}"><thead><tr>{"".join(head)}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def task_summary_table(runs: pd.DataFrame, tasks: list[str]) -> str:
    """One row per task: how many runs memorised, grokked, never generalised; median delay."""
    if runs.empty or "task" not in runs:
        return '<p class="empty">No runs.csv in this results folder.</p>'
    head = [th("task", "text"), th("runs"), th("grokked"), th("never generalised"), th("never memorised"),
            th("median T_gen / T_mem", title="over grokked runs")]
    events = [c for c in INSTABILITY_EVENTS if c in runs]
    head += [th(f"with {INSTABILITY_EVENTS[c][0]}", title=INSTABILITY_EVENTS[c][1]) for c in events]
    rows = []
    for t in tasks:
        r = of_task(runs, t)
        outcome = r.apply(run_outcome, axis=1) if len(r) else pd.Series(dtype=str)
        grok = r[outcome == "grokked"]
        med = 10 ** pd.to_numeric(grok["delay"], errors="coerce").median() if len(grok) and "delay" in r else math.nan
        counts = [len(r), int((outcome == "grokked").sum()), int((outcome == "never generalised").sum()),
                  int((outcome == "never memorised").sum())]
        cells = [f'<td class="text" data-sort="{escape(t)}"><a href="#task={escape(t)}" data-goto="{escape(t)}">'
                 f"{escape(t)}</a></td>"]
        cells += [f'<td class="num" data-sort="{c}">{c}</td>' for c in counts]
        med_text = "—" if math.isnan(med) else f"{med:.3g}×"
        cells.append(f'<td class="num" data-sort="{_sort_attr(med)}">{med_text}</td>')
        for c in events:
            n = int(pd.to_numeric(r[c], errors="coerce").notna().sum())
            cells.append(f'<td class="num" data-sort="{n}">{n}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (f'<table class="sortable tasks"><thead><tr>{"".join(head)}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _p_color(p: float) -> str:
    """Diverging colour: red (A rarely better) – white (0.5) – blue (A usually better)."""
    lo, mid, hi = np.array([214, 96, 77]), np.array([247, 247, 247]), np.array([67, 147, 195])
    c = mid + (hi - mid) * (2 * p - 1) if p >= 0.5 else mid + (lo - mid) * (1 - 2 * p)
    return "rgb({},{},{})".format(*c.round().astype(int))


def pairwise_tables(pw: pd.DataFrame, scope: str, order: list[str], prefix: str) -> str:
    """P(row measure beats column measure) for each score of ``scope``, one matrix shown at a time."""
    need = {"scope", "score", "measure_a", "measure_b", "p_a_beats_b"}
    if pw.empty or not need <= set(pw.columns):
        return ""
    pw = pw[pw["scope"].astype(str) == scope]
    if pw.empty:
        return ""
    blocks, options = [], []
    for k, (score, g) in enumerate(sorted(pw.groupby("score"), key=lambda x: (x[0] != "headline", x[0]))):
        names = [m for m in order if m in set(g["measure_a"]) | set(g["measure_b"])]
        names += sorted((set(g["measure_a"]) | set(g["measure_b"])) - set(names))
        p = {(a, b): _num(v) for a, b, v in zip(g["measure_a"], g["measure_b"], g["p_a_beats_b"])}
        head = "".join(f'<th class="colhead"><span>{escape(b)}</span></th>' for b in names)
        rows = []
        for a in names:
            cells = []
            for b in names:
                v = p.get((a, b), 1 - p[(b, a)] if (b, a) in p else math.nan)
                if a == b or math.isnan(v):
                    cells.append('<td class="pw none"></td>')
                    continue
                strong = " strong" if v >= 0.95 or v <= 0.05 else ""
                cells.append(f'<td class="pw{strong}" style="background:{_p_color(v)}" '
                             f'title="P({escape(a)} beats {escape(b)}) = {v:.3f} on {escape(str(score))}">'
                             f"{v:.2f}</td>")
            rows.append(f'<tr><th class="rowhead"><code>{escape(a)}</code></th>{"".join(cells)}</tr>')
        hidden = "" if k == 0 else " hidden"
        blocks.append(f'<div class="pwblock" data-score="{escape(str(score))}"{hidden}>'
                      f'<table class="pairwise"><thead><tr><th></th>{head}</tr></thead>'
                      f'<tbody>{"".join(rows)}</tbody></table></div>')
        options.append(f'<option value="{escape(str(score))}">{escape(str(score))}</option>')
    return (f'<div class="pwwrap" id="{escape(prefix)}-pairwise"><label>score <select class="pwselect">'
            f'{"".join(options)}</select></label>{"".join(blocks)}</div>')
