"""PNG figures of a scored suite: what a person would rather look at than read.

write_figures(runs, traces, tables, out_dir) writes, per task,

- ``<task>_curves.png``: train/test accuracy of a few runs (short to long
  delays, plus a never-generalising one) over log steps, and beneath it each
  measure's trajectory for the same runs (dashed line: T_mem, solid: T_gen),
  like Fig. 2 of Liu, Zhong & Tegmark (2023);
- ``<task>_vs_test_loss.png``: direction * measure against test loss at the
  checkpoints in [T_mem, T_gen] of grokking runs, one panel per measure, with
  the pooled rho and R^2 from the score table;

and ``leaderboard.png``: the headline (mean of the two prediction scores), its
two parts and the scores reported beside them, with 95% bootstrap intervals,
measures in leaderboard order with their rank (ties shared) and section.

Matplotlib's object API is used (no pyplot), so no global backend is switched
and nothing opens a window. Missing values are simply not drawn.

    >>> import tempfile
    >>> from complexity_bench.scoring import ScoreConfig, score
    >>> from complexity_bench.scoring.synthetic import make_synthetic
    >>> runs, traces, measures = make_synthetic(tasks=("toy",), n_seeds=1)
    >>> tables = score(runs, traces, measures, ScoreConfig(n_boot=10))
    >>> sorted(p.name for p in write_figures(runs, traces, tables, tempfile.mkdtemp()))
    ['leaderboard.png', 'toy_curves.png', 'toy_vs_test_loss.png']
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator

from complexity_bench.pipeline.store import atomic_write
from complexity_bench.scoring.config import BESIDE, HEADLINE, HIGHER_IS_BETTER, ScoreTables

_PANELS = ("headline", *HEADLINE, *BESIDE)
_LABELS = {
    "headline": "headline: within-configuration\nmean of AUROC and C",
    "cw_auroc": "early warning within\nconfiguration and step (AUROC)",
    "cf_cindex": "forecast within\nconfiguration (C)",
    "recipe_headline": "recipe level: mean of\nunconditional AUROC and C",
    "ctl_auroc": "controls: wd-0 runs vs\ngrokking runs (AUROC)",
    "trk_rho": "tracking ρ (pooled)",
    "ew_auroc": "early-warning AUROC",
    "fc_cindex": "forecast concordance C",
    "fc_sign_error_max": "worst-case sign-error",
}
_CHANCE = {"headline": 0.5, "trk_rho": 0.0, "ew_auroc": 0.5, "fc_cindex": 0.5, "fc_sign_error_max": 0.5,
           "cw_auroc": 0.5, "cf_cindex": 0.5, "recipe_headline": 0.5, "ctl_auroc": 0.5}
_DPI = 90


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _truthy(v: object) -> bool:
    return str(v).strip().lower() in ("true", "1", "1.0", "yes")


def _pick_runs(runs: pd.DataFrame, k: int = 6) -> pd.DataFrame:
    """Up to k runs: grokking ones spread over the delay range, plus one never-generalising run."""
    cens = runs["censored"].map(_truthy)
    grok = runs[~cens & runs["t_mem"].notna()].copy()
    grok["_d"] = np.log10(grok["t_gen"].astype(float).clip(lower=1) / grok["t_mem"].astype(float).clip(lower=1))
    grok = grok.sort_values(["_d", "run_id"])
    n_g = k - 1 if cens.any() else k
    if len(grok) > n_g:
        grok = grok.iloc[np.unique(np.linspace(0, len(grok) - 1, n_g).round().astype(int))]
    never = runs[cens].sort_values("run_id").head(1)
    return pd.concat([grok.drop(columns="_d"), never])


def _step_label(v: float, _pos: object = None) -> str:
    return f"{v / 1000:g}k" if v >= 1000 else f"{v:g}"


def _symlog_x(ax, max_step: float) -> None:
    # Plain decade labels: the default symlog labels are mathtext, whose parser
    # dominated the drawing time.
    ax.set_xscale("symlog", linthresh=1.0)
    top = max(float(max_step), 10.0)
    ax.xaxis.set_major_locator(FixedLocator([0] + [10.0**k for k in range(0, int(math.log10(top)) + 1)]))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(_step_label))
    ax.set_xlim(0, top * 1.05)


def _no_data(ax, text: str = "no data") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.5")
    ax.set_xticks([])
    ax.set_yticks([])


def _curves(task: str, runs: pd.DataFrame, traces: pd.DataFrame, measures: list[str], path: Path,
            curves: pd.DataFrame | None = None) -> Path:
    sel = _pick_runs(runs)
    colors = {rid: c for rid, c in zip(sel["run_id"], [f"C{i}" for i in range(10)])}
    ncol = 3 if len(measures) > 6 else 2
    nrow = math.ceil(len(measures) / ncol) if measures else 0
    height = 3.0 + 2.1 * nrow
    fig = Figure(figsize=(4.2 * ncol, height), dpi=_DPI)
    # Fixed margins in inches (constrained layout costs seconds per figure on a busy CPU).
    gs = fig.add_gridspec(1 + nrow, ncol, height_ratios=[1.5] + [1] * nrow, left=0.7 / (4.2 * ncol),
                          right=0.98, top=1 - 0.35 / height, bottom=0.55 / height, hspace=0.45, wspace=0.18)
    ax0 = fig.add_subplot(gs[0, :])
    tr = traces[traces["run_id"].isin(sel["run_id"])]
    # Accuracy: the dense evaluation curves when given, else the checkpoint rows of
    # the traces (one per (run, step); they repeat for every measure).
    if curves is not None and len(curves) and {"run_id", "step", "train_acc", "test_acc"} <= set(curves.columns):
        acc = curves[curves["run_id"].isin(sel["run_id"])].sort_values(["run_id", "step"])
    else:
        acc = tr.drop_duplicates(["run_id", "step"]).sort_values(["run_id", "step"])
    for _, run in sel.iterrows():
        a = acc[acc["run_id"] == run["run_id"]]
        c = colors[run["run_id"]]
        label = _run_label(run)
        ax0.plot(a["step"], a["train_acc"], color=c, ls="--", lw=1)
        ax0.plot(a["step"], a["test_acc"], color=c, lw=1.5, label=label)
    _symlog_x(ax0, acc["step"].max() if len(acc) else 10.0)
    ax0.set_ylabel("accuracy")
    ax0.set_title(f"{task}: train (dashed) and test (solid) accuracy; selected runs")
    if len(sel):
        ax0.legend(fontsize=7, ncol=2, loc="upper left", framealpha=0.8)  # early steps: empty corner
    else:
        _no_data(ax0)
    by_m = {m: g for m, g in tr.groupby("measure")}
    for k, m in enumerate(measures):
        ax = fig.add_subplot(gs[1 + k // ncol, k % ncol], sharex=ax0)
        g = by_m.get(m)
        if g is None or g["value"].notna().sum() == 0:
            _no_data(ax, "no values")
        else:
            for _, run in sel.iterrows():
                v = g[g["run_id"] == run["run_id"]].sort_values("step")
                ax.plot(v["step"], v["value"], color=colors[run["run_id"]], lw=1.2)
            # Event markers in two collections (one artist each: cheap to draw).
            ev = sel[["run_id", "t_mem", "t_gen"]]
            for col, ls, lw in (("t_mem", ":", 0.8), ("t_gen", "-", 0.6)):
                e = ev[ev[col].notna()]
                if len(e):
                    ax.vlines(e[col].astype(float), 0, 1, transform=ax.get_xaxis_transform(),
                              colors=[colors[r] for r in e["run_id"]], linestyles=ls, lw=lw, alpha=0.7)
        ax.set_title(m, fontsize=9)
        ax.yaxis.set_major_locator(MaxNLocator(3))
        ax.tick_params(labelsize=7)
        if k < len(measures) - ncol:  # x labels only on the bottom panel of each column
            ax.tick_params(labelbottom=False)
    fig.supxlabel("step (symlog scale)", fontsize=9, y=0.08 / height)
    _save(fig, path)
    return path


_ABBREV = {"weight_decay": "wd", "init_scale": "α", "train_frac": "frac", "n_train": "n", "lr": "lr"}


def _run_label(run: pd.Series) -> str:
    """Short legend label: the variant knobs (abbreviated), seed, and T_gen."""
    axes = [a for a in str(run.get("axes", "")).split("+") if a and a in run.index]

    def knob(a: str) -> str:
        v = run[a]
        name = _ABBREV.get(a, a)
        return f"{name}={v:g}" if isinstance(v, (int, float, np.integer, np.floating)) else f"{name}={v}"

    status = "never" if _truthy(run["censored"]) else f"T_gen={float(run['t_gen']):.0f}"
    return f"{' '.join(knob(a) for a in axes)} s{run.get('seed', '')} ({status})"


def _vs_loss(task: str, runs: pd.DataFrame, traces: pd.DataFrame, measures: list[str],
             by_task: pd.DataFrame, direction: dict[str, int], path: Path) -> Path:
    ncol = min(4, max(1, len(measures)))
    nrow = max(1, math.ceil(len(measures) / ncol))
    height = 0.9 + 2.8 * nrow
    fig = Figure(figsize=(3.3 * ncol, height), dpi=_DPI)
    fig.subplots_adjust(left=0.7 / (3.3 * ncol), right=0.98, top=1 - 0.85 / height, bottom=0.5 / height,
                        hspace=0.6, wspace=0.35)
    ev = runs.set_index("run_id")[["t_mem", "t_gen", "censored"]]
    grok = ev[~ev["censored"].map(_truthy) & ev["t_mem"].notna() & ev["t_gen"].notna()]
    tr = traces[traces["run_id"].isin(grok.index)].join(grok[["t_mem", "t_gen"]], on="run_id")
    tr = tr[(tr["step"] >= tr["t_mem"]) & (tr["step"] <= tr["t_gen"])]
    run_ids = sorted(grok.index)
    cmap = {r: f"C{i % 10}" for i, r in enumerate(run_ids)}
    rows = by_task.set_index("measure") if len(by_task) else None
    by_m = {m: g for m, g in tr.groupby("measure")}
    for k, m in enumerate(measures):
        ax = fig.add_subplot(nrow, ncol, k + 1)
        g = by_m.get(m)
        g = g[g["value"].notna() & g["test_loss"].notna()] if g is not None else None
        if g is None or len(g) == 0:
            _no_data(ax, "no values in [T_mem, T_gen]")
        else:
            d = direction.get(m, 1)
            ax.scatter(d * g["value"], g["test_loss"], s=6, c=g["run_id"].map(cmap), alpha=0.7, linewidths=0)
            ax.xaxis.set_major_locator(MaxNLocator(4))
            ax.yaxis.set_major_locator(MaxNLocator(4))
            ax.set_xlabel(f"{'−' if d < 0 else ''}{m}", fontsize=8)
        title = m
        if rows is not None and m in rows.index:
            r = rows.loc[m]
            title = f"{m}\nρ={r['trk_rho']:.2f}  R²={r['trk_r2']:.2f}"
        ax.set_title(title, fontsize=8)
        ax.set_ylabel("test loss", fontsize=8)
        ax.tick_params(labelsize=7)
    if not measures:
        _no_data(fig.add_subplot(1, 1, 1))
    fig.suptitle(f"{task}: direction·measure vs test loss in [T_mem, T_gen] (grokking runs, colour = run)",
                 fontsize=10, y=1 - 0.1 / height)
    _save(fig, path)
    return path


def _leaderboard(lb: pd.DataFrame, path: Path) -> Path:
    height = 1.3 + 0.32 * max(len(lb), 1)
    width = 3.0 * len(_PANELS) + 2.2
    fig = Figure(figsize=(width, height), dpi=_DPI)
    fig.subplots_adjust(left=2.5 / width, right=0.98, top=1 - 0.85 / height,
                        bottom=0.4 / height, wspace=0.12)
    if lb.empty:
        _no_data(fig.add_subplot(1, 1, 1), "no measures scored")
        _save(fig, path)
        return path
    lb = lb.reset_index(drop=True)
    y = np.arange(len(lb))[::-1]
    names = [_rank_label(row) for _, row in lb.iterrows()]
    causal = np.array([_truthy(c) for c in lb.get("causal", pd.Series(True, index=lb.index))])
    base = np.array([_truthy(c) for c in lb.get("baseline", pd.Series(False, index=lb.index))])
    colors = ["C3" if not c else ("0.6" if b else "C0") for c, b in zip(causal, base)]
    for k, col in enumerate(_PANELS):
        ax = fig.add_subplot(1, len(_PANELS), k + 1)
        v = lb[col].to_numpy(float)
        lo = lb[f"{col}_lo"].to_numpy(float) if f"{col}_lo" in lb else np.full(len(lb), np.nan)
        hi = lb[f"{col}_hi"].to_numpy(float) if f"{col}_hi" in lb else np.full(len(lb), np.nan)
        ok_iv = np.isfinite(lo) & np.isfinite(hi)
        ok = np.isfinite(v)
        ax.hlines(y[ok_iv], lo[ok_iv], hi[ok_iv], colors=np.array(colors, dtype=object)[ok_iv].tolist(),
                  lw=2, alpha=0.6)
        for filled in (True, False):  # hollow markers: non-causal
            m = ok & (causal == filled)
            if m.any():
                cs = np.array(colors, dtype=object)[m].tolist()
                ax.scatter(v[m], y[m], s=36, zorder=3, facecolors=cs if filled else "white", edgecolors=cs)
        for i in np.flatnonzero(~ok):
            ax.text(_CHANCE[col], y[i], "n/a", fontsize=7, va="center", ha="center", color="0.5")
        ax.axvline(_CHANCE[col], color="0.3", lw=0.8, ls=":")
        better = "→ better" if HIGHER_IS_BETTER.get(col, True) else "← better"
        ax.set_title(f"{_LABELS[col]}\n({better})", fontsize=9)
        ax.set_yticks(y)
        ax.set_yticklabels(names if k == 0 else [], fontsize=8)
        ax.set_ylim(-0.7, len(lb) - 0.3)
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(axis="x", labelsize=7)
    fig.suptitle("Leaderboard: ranked on the headline (ties share a rank; [rank interval]); mean over tasks, "
                 "95% bootstrap intervals (seeds crossed with configurations) (blue: measure, grey: baseline, red: non-causal oracle)",
                 fontsize=10, y=1 - 0.1 / height)
    _save(fig, path)
    return path


def _save(fig: Figure, path: Path) -> None:
    """The PNG through the package's one atomic write (a full disk: one line, no partial file)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    atomic_write(path, buf.getvalue())


def _rank_label(row: pd.Series) -> str:
    """'3 [2-5]. name' for a ranked measure; the section otherwise."""
    if pd.notna(row.get("rank")):
        span = f" [{int(row['rank_lo'])}-{int(row['rank_hi'])}]" if pd.notna(row.get("rank_lo")) else ""
        return f"{int(row['rank'])}{span}. {row['measure']}"
    return f"{row['measure']} ({row.get('section', 'not ranked')})"


def write_figures(runs: pd.DataFrame, traces: pd.DataFrame, tables: ScoreTables,
                  out_dir: str | Path, curves: pd.DataFrame | None = None) -> list[Path]:
    """Write the PNGs described in the module docstring into out_dir; returns their paths.

    curves (optional): the dense evaluation curves (run_id, step, train_acc,
    test_acc, ...) drawn in the accuracy panels instead of the checkpoint rows.
    """
    out = Path(out_dir)
    written = []
    by_task = tables.by_task
    measures = list(dict.fromkeys(by_task["measure"])) if len(by_task) else \
        sorted(traces["measure"].astype(str).unique())
    direction = dict(zip(by_task["measure"], by_task["direction"].astype(int))) if len(by_task) else {}
    for task in sorted(set(runs["task"].astype(str))):
        r = runs[runs["task"].astype(str) == task]
        t = traces[traces["task"].astype(str) == task] if "task" in traces else \
            traces[traces["run_id"].isin(r["run_id"])]
        present = [m for m in measures if (t["measure"] == m).any()]
        bt = by_task[by_task["task"] == task] if len(by_task) else by_task
        written.append(_curves(task, r, t, present, out / f"{_safe(task)}_curves.png", curves))
        written.append(_vs_loss(task, r, t, present, bt, direction, out / f"{_safe(task)}_vs_test_loss.png"))
    written.append(_leaderboard(tables.leaderboard, out / "leaderboard.png"))
    return written
