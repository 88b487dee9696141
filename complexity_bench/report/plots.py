"""Plotly figure specs of one task: training curves with a measure beneath, measure vs test loss.

The page draws them with the inlined plotly.js (report.js): the base traces
(accuracy, events) once, and the traces of the measure picked in the task's
selector beneath and in the scatter. Traces are plain dicts in plotly's JSON
schema (tests/test_report.py validates them with ``plotly.graph_objects``);
every series is thinned to at most ``data.MAX_POINTS`` points for display.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from plotly.colors import qualitative

from complexity_bench.report.data import series, thin_indices
from complexity_bench.report.tables import config_knobs, config_label

PALETTE = qualitative.D3 + qualitative.Dark2 + qualitative.Set1
# Checkpoints outside the tracking window [T_mem, T_gen] of a grokking run are
# drawn faded (plotly's "unselected" style; the window is "selectedpoints"):
# the tracking score uses only the window (docs/scoring.md).
FADED = 0.25


def _r(values) -> list:
    """Four significant digits, as the hover shows them (shorter JSON); NaN/inf -> None (a gap in a line)."""
    a = np.asarray(values, dtype=float)
    return [float(t) if t not in ("nan", "inf", "-inf") else None for t in np.char.mod("%.4g", a).tolist()] \
        if a.size else []


def _steps(values) -> list:
    """Steps exactly (whole numbers stay whole, however large); NaN -> None."""
    return [None if not math.isfinite(v) else int(v) if v.is_integer() else v
            for v in np.asarray(values, dtype=float).tolist()]


def _axis(title: str, **kw) -> dict:
    return {"title": {"text": title, "font": {"size": 12}}, "zeroline": False, **kw}


def _type_buttons(axes: list[str], names: tuple[str, str], decades: bool = False) -> dict:
    """Plotly's own buttons switching the given axes between log and linear.

    decades: on log, tick every decade (dtick 1); back on linear, automatic ticks.
    """
    def args(kind: str) -> dict:
        out = {f"{a}.type": kind for a in axes}
        if decades:
            out.update({f"{a}.dtick": 1 if kind == "log" else None for a in axes})
        return out

    return {"type": "buttons", "direction": "right", "x": 1.0, "xanchor": "right", "y": 1.08, "yanchor": "bottom",
            "showactive": True, "pad": {"r": 2, "t": 2}, "font": {"size": 11},
            "buttons": [{"label": names[0], "method": "relayout", "args": [args("log")]},
                        {"label": names[1], "method": "relayout", "args": [args("linear")]}]}


def _run_styles(runs: pd.DataFrame) -> dict[str, dict]:
    """Per run, in configuration order: colour (seeds of a configuration share it), legend group, hover label."""
    knobs = config_knobs(runs)
    configs: dict[str, str] = {}
    styles = {}
    order = [*knobs, "seed"] if "seed" in runs else knobs
    for _, r in runs.sort_values(order or "run_id").iterrows():
        cfg = config_label(r, knobs)
        first = cfg not in configs
        configs.setdefault(cfg, PALETTE[len(configs) % len(PALETTE)])
        seed = "" if pd.isna(r.get("seed")) else f" · seed {r['seed']:g}"
        styles[str(r["run_id"])] = {"color": configs[cfg], "group": cfg, "first": first,
                                    "label": f"{str(r['run_id'])[-8:]} · {cfg}{seed}"}
    return styles


def _accuracy(runs: pd.DataFrame, traces: pd.DataFrame, curves: pd.DataFrame) -> dict:
    """Per run: dense train/test accuracy by step (curves.parquet, else the checkpoint rows of the traces)."""
    cols = ["train_acc", "test_acc"]
    src = curves if {"run_id", "step", *cols} <= set(curves.columns) else traces
    if not {"run_id", "step", *cols} <= set(src.columns):
        return {}
    src = src[src["run_id"].astype(str).isin(set(runs["run_id"].astype(str)))]
    return {k[0]: v for k, v in series(src.drop_duplicates(["run_id", "step"]), ["run_id"], ["step", *cols]).items()}


def _event_trace(name: str, symbol: str, points: list[tuple], styles: dict) -> dict:
    x, y, color, text = zip(*[(s, a, styles[r]["color"], f"{styles[r]['label']}<br>{name} = {s:,.0f}")
                              for r, s, a in points]) if points else ((), (), (), ())
    return {"type": "scatter", "mode": "markers", "name": name, "x": _steps(x), "y": _r(y), "text": list(text),
            "hovertemplate": "%{text}<extra></extra>", "xaxis": "x", "yaxis": "y", "legendgroup": name,
            "marker": {"symbol": symbol, "size": 9, "color": list(color), "line": {"width": 1.5, "color": list(color)}}}


# Instability events (docs/protocol.md, "Events") marked on the test accuracy curve: column -> (name, symbol).
AFTER_GEN = {"t_spike": ("T_spike", "x"), "t_collapse": ("T_collapse", "triangle-down")}


def _events(runs: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """run_id -> (T_mem, T_gen), NaN where absent."""
    def get(c: str) -> pd.Series:
        return pd.to_numeric(runs[c], errors="coerce") if c in runs else pd.Series(math.nan, runs.index)

    return {str(r): (float(m), float(g)) for r, m, g in zip(runs["run_id"], get("t_mem"), get("t_gen"))}


def curves_spec(runs: pd.DataFrame, traces: pd.DataFrame, curves: pd.DataFrame, measures: list[str]) -> dict:
    """Accuracy curves (top) and one measure's trajectory per run (bottom), shared log-step axis."""
    styles, events = _run_styles(runs), _events(runs)
    acc = _accuracy(runs, traces, curves)
    base, t_mem, t_gen = [], [], []
    after: dict[str, list] = {c: [] for c in AFTER_GEN if c in runs}
    after_steps = {c: dict(zip(runs["run_id"].astype(str), pd.to_numeric(runs[c], errors="coerce").astype(float)))
                   for c in after}
    for rid in [r for r in styles if r in acc]:  # configuration order, so the legend is sorted too
        st, a = styles[rid], acc[rid]
        keep = thin_indices(len(a["step"]))
        for col, dash, width, show in (("test_acc", "solid", 1.8, st["first"]), ("train_acc", "dot", 1.2, False)):
            base.append({"type": "scatter", "mode": "lines", "x": _steps(a["step"][keep]), "y": _r(a[col][keep]),
                         "name": st["group"], "legendgroup": st["group"], "showlegend": show,
                         "line": {"color": st["color"], "width": width, "dash": dash},
                         "hovertemplate": f"{st['label']}<br>step %{{x:,}}<br>{col.replace('_', ' ')} %{{y:.3f}}"
                                          "<extra></extra>", "xaxis": "x", "yaxis": "y"})
        # Event markers sit on the dense curve, at the last evaluation at or before the event.
        for step, col, sink in zip(events.get(rid, (math.nan, math.nan)), ("train_acc", "test_acc"), (t_mem, t_gen)):
            if not math.isnan(step):
                i = np.searchsorted(a["step"], step, side="right") - 1
                sink.append((rid, step, float(a[col][i]) if i >= 0 else math.nan))
        for column, sink in after.items():  # instability events, on the test accuracy curve
            step = after_steps[column].get(rid, math.nan)
            if not math.isnan(step):
                i = np.searchsorted(a["step"], step, side="right") - 1
                sink.append((rid, step, float(a["test_acc"][i]) if i >= 0 else math.nan))
    base += [_event_trace("T_mem", "diamond-open", t_mem, styles), _event_trace("T_gen", "circle", t_gen, styles)]
    base += [_event_trace(name, symbol, after[column], styles) for column, (name, symbol) in AFTER_GEN.items()
             if after.get(column)]

    values = series(traces, ["measure", "run_id"], ["step", "value"])
    by_measure = {}
    for m in measures:
        lines = []
        for rid in [r for r in styles if (m, r) in values]:
            st, v = styles[rid], values[(m, rid)]
            keep = thin_indices(len(v["step"]))
            lines.append({"type": "scatter", "mode": "lines+markers", "x": _steps(v["step"][keep]),
                          "y": _r(v["value"][keep]), "name": st["group"], "legendgroup": st["group"],
                          "showlegend": False, "line": {"color": st["color"], "width": 1.5}, "marker": {"size": 3},
                          "hovertemplate": f"{st['label']}<br>step %{{x:,}}<br>{m} %{{y:.4g}}<extra></extra>",
                          "xaxis": "x2", "yaxis": "y2"})
        by_measure[m] = lines
    threshold = pd.to_numeric(runs["threshold"], errors="coerce").dropna() if "threshold" in runs else []
    shapes = [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y", "y0": float(threshold.iloc[0]),
               "y1": float(threshold.iloc[0]), "line": {"color": "#888", "width": 1, "dash": "dash"}}] \
        if len(threshold) else []
    layout = {"height": 640, "margin": {"l": 64, "r": 16, "t": 40, "b": 48}, "hovermode": "closest",
              "legend": {"orientation": "h", "y": -0.1, "yanchor": "top", "font": {"size": 11}},
              "xaxis": _axis("", type="log", dtick=1, anchor="y", showticklabels=False),
              "yaxis": _axis("accuracy (train dotted, test solid)", domain=[0.54, 1], range=[-0.03, 1.05]),
              "xaxis2": _axis("step (log scale: step 0 is not drawn)", type="log", dtick=1, anchor="y2", matches="x"),
              "yaxis2": _axis("", domain=[0, 0.46]),
              "shapes": shapes,
              "updatemenus": [_type_buttons(["xaxis", "xaxis2"], ("log steps", "linear steps"), decades=True)]}
    return {"layout": layout, "base": base, "by_measure": by_measure}


def _rho_title(m: str, row: pd.Series | None) -> str:
    if row is not None and pd.notna(row.get("trk_rho")):
        lo, hi = row.get("trk_rho_lo"), row.get("trk_rho_hi")
        iv = f" [{lo:.2f}, {hi:.2f}]" if pd.notna(lo) and pd.notna(hi) else ""
        return f"{m} vs test loss: pooled tracking ρ {row['trk_rho']:.2f}{iv} over the bold points"
    return f"{m} vs test loss"


def scatter_spec(runs: pd.DataFrame, traces: pd.DataFrame, by_task: pd.DataFrame, measures: list[str]) -> dict:
    """Measure value vs test loss at every checkpoint, one colour per configuration; hover: run, step, value."""
    if not {"measure", "value", "test_loss"} <= set(traces.columns):
        return {}
    styles, events = _run_styles(runs), _events(runs)
    values = series(traces, ["measure", "run_id"], ["step", "value", "test_loss"])
    rows = by_task.drop_duplicates("measure").set_index("measure") if "measure" in by_task else pd.DataFrame()
    by_measure, titles = {}, {}
    for m in measures:
        points = []
        for rid in [r for r in styles if (m, r) in values]:
            st, v = styles[rid], values[(m, rid)]
            keep = thin_indices(len(v["step"]))
            step = v["step"][keep]
            t_mem, t_gen = events.get(rid, (math.nan, math.nan))
            inside = (step >= t_mem) & (step <= t_gen)  # False when either event is missing (NaN)
            points.append({"type": "scatter", "mode": "markers", "x": _r(v["value"][keep]),
                           "y": _r(v["test_loss"][keep]), "customdata": _steps(step), "name": st["group"],
                           "legendgroup": st["group"], "showlegend": st["first"],
                           "marker": {"color": st["color"], "size": 7},
                           "selectedpoints": np.flatnonzero(inside).tolist(),
                           "unselected": {"marker": {"opacity": FADED}},
                           "hovertemplate": f"{st['label']}<br>step %{{customdata:,}}<br>{m} %{{x:.4g}}"
                                            "<br>test loss %{y:.4g}<extra></extra>"})
        by_measure[m] = points
        titles[m] = _rho_title(m, rows.loc[m] if m in rows.index else None)
    layout = {"height": 460, "margin": {"l": 64, "r": 16, "t": 56, "b": 48}, "hovermode": "closest",
              "legend": {"font": {"size": 11}}, "xaxis": _axis("measure value"),
              "yaxis": _axis("test loss", type="log"),
              "updatemenus": [_type_buttons(["yaxis"], ("log loss", "linear loss"))]}
    return {"layout": layout, "by_measure": by_measure, "titles": titles}
