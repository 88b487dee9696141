"""report.html from a results folder built here (protocol-v2 columns, and the older ones), no browser.

The browser checks (rendering, sorting, the task switch, no network) are in
tests/test_report_browser.py; they reuse ``write_results`` below.
"""

from __future__ import annotations

import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from complexity_bench.report import write_report
from complexity_bench.report.data import MAX_POINTS, header_facts, read_results, thin_indices
from complexity_bench.report.page import _json_script
from complexity_bench.report.plots import _r, _steps, curves_spec, scatter_spec

MEASURES = ("m-a", "m-b", "m-c", "oracle")
# (section, rank, rank_lo, rank_hi, headline, causal, baseline): m-a and m-b tied at rank 1.
BOARD = {"m-a": ("ranked", 1, 1, 2, 0.80, True, False), "m-b": ("ranked", 1, 1, 2, 0.75, True, False),
         "m-c": ("unranked", np.nan, np.nan, np.nan, np.nan, True, False),
         "oracle": ("not causal", np.nan, np.nan, np.nan, 0.95, False, True)}
HOSTILE = "</script><script>window.PWNED=1</script>"  # must stay text, never markup


def _runs() -> pd.DataFrame:
    rows = []
    for wd, seed, t_gen in ((0.1, 0, 1000), (0.1, 1, 2000), (1.0, 0, np.nan), (1.0, 1, np.nan)):
        rows.append({"run_id": f"toy-{wd}-{seed}", "task": "toy", "seed": seed, "weight_decay": wd, "lr": 1e-3,
                     "t_mem": 100.0, "t_gen": t_gen, "censored": bool(np.isnan(t_gen)),
                     "delay": np.log10((t_gen if t_gen == t_gen else 5000) / 100), "budget": 5000,
                     "threshold": 0.99, "axes": "weight_decay", "train_seconds": 1.5})
    rows.append({"run_id": "long-0", "task": "long", "seed": 0, "weight_decay": 0.5, "lr": 1e-3, "t_mem": 10.0,
                 "t_gen": 500.0, "censored": False, "delay": np.log10(50), "budget": 1000, "threshold": 0.99,
                 "axes": "weight_decay", "train_seconds": 3.0})
    return pd.DataFrame(rows)


def _series(runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Traces (measures at checkpoints) and dense curves; the "long" run has 1,000 of each."""
    traces, curves = [], []
    for _, r in runs.iterrows():
        steps = np.arange(1000) if r["task"] == "long" else np.unique(np.geomspace(1, 5000, 30).astype(int))
        dense = np.arange(1000) if r["task"] == "long" else np.arange(0, 5001, 10)
        for frame, s in ((curves, dense), (traces, steps)):
            d = pd.DataFrame({"run_id": r["run_id"], "step": s, "train_loss": np.exp(-s / 50),
                              "test_loss": np.exp(-s / 900) + 1e-3, "train_acc": 1 - np.exp(-s / 50),
                              "test_acc": 1 - np.exp(-s / 900)})
            if frame is traces:
                d = pd.concat([d.assign(task=r["task"], measure=m, value=np.log1p(s) * (k + 1), seconds=0.01,
                                        error="") for k, m in enumerate(MEASURES)])
            frame.append(d)
    return pd.concat(traces, ignore_index=True), pd.concat(curves, ignore_index=True)


def _board(task: str | None) -> pd.DataFrame:
    rows = []
    for m, (section, rank, lo, hi, headline, causal, baseline) in BOARD.items():
        row = {"measure": m, "section": section, "rank": rank, "rank_lo": lo, "rank_hi": hi, "headline": headline,
               "headline_lo": headline - 0.1, "headline_hi": headline + 0.05, "ew_auroc": headline,
               "ew_auroc_lo": headline - 0.1, "ew_auroc_hi": headline + 0.1, "fc_cindex": 0.6, "fc_cindex_lo": 0.5,
               "fc_cindex_hi": 0.7, "trk_rho": -0.2, "trk_rho_lo": -0.4, "trk_rho_hi": 0.1,
               "fc_sign_error_max": 0.3, "fc_sign_error_max_lo": 0.1, "fc_sign_error_max_hi": 0.5,
               "direction": 1, "cost": "cheap", "reference": "Doe 2024", "causal": causal, "baseline": baseline,
               "description": HOSTILE if m == "m-b" else f"the measure {m}", "n_tasks": 2, "tasks": "long+toy",
               "n_runs": 5}
        if task:
            row = {"task": task, **row}
        rows.append(row)
    return pd.DataFrame(rows)


def write_results(root: Path, v2: bool = True) -> Path:
    """A small results folder: 2 tasks, 5 runs, 4 measures; v2=False drops the protocol-v2 columns and files."""
    root.mkdir(parents=True, exist_ok=True)
    runs = _runs()
    traces, curves = _series(runs)
    board = _board(None)
    by_task = pd.concat([_board("toy"), _board("long")], ignore_index=True)
    if not v2:
        new = ["section", "rank_lo", "rank_hi", "headline", "headline_lo", "headline_hi"]
        board, by_task = board.drop(columns=new), by_task.drop(columns=new + ["rank"])
    runs.to_csv(root / "runs.csv", index=False)
    traces.to_parquet(root / "traces.parquet")
    curves.to_parquet(root / "curves.parquet")
    board.to_csv(root / "leaderboard.csv", index=False)
    by_task.to_csv(root / "leaderboard_by_task.csv", index=False)
    board[["measure", "direction", "cost", "reference", "description"]].to_csv(root / "measures.csv", index=False)
    manifest = {"suite": "toy-suite", "git_commit": "0123456789abcdef", "runs": 5,
                "wall_seconds_this_invocation": 125.0}
    if v2:
        manifest["protocol_version"] = 2
        pw = [("all", "headline", "m-a", "m-b", 0.62), ("all", "ew_auroc", "m-a", "m-b", 0.97),
              ("all", "ew_auroc", "m-b", "m-a", 0.03), ("toy", "headline", "m-b", "m-a", 0.5)]
        pd.DataFrame(pw, columns=["scope", "score", "measure_a", "measure_b", "p_a_beats_b"]).to_csv(
            root / "pairwise.csv", index=False)
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


class Tables(HTMLParser):
    """Rows of every <table id=...>: a list of cells, each (text, attributes); and every src/href seen."""

    def __init__(self, html: str):
        super().__init__()
        self.tables: dict[str, list[list[tuple[str, dict]]]] = {}
        self.links: list[str] = []
        self._table, self._cell, self._in_body, self._skip = None, None, False, 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.links += [a[k] for k in ("src", "href") if k in a]
        if tag == "table" and a.get("id"):
            self._table = self.tables.setdefault(a["id"], [])
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._table is not None and self._in_body:
            self._table.append([])
        elif tag == "td" and self._table is not None and self._in_body:
            self._cell = ["", a]
        elif tag == "span" and "tip" in (a.get("class") or "").split() and self._cell is not None:
            self._skip += 1  # the metadata tooltip is not the cell's text
        elif self._skip and tag == "span":
            self._skip += 1

    def handle_endtag(self, tag):
        if self._skip and tag == "span":
            self._skip -= 1
        elif tag == "td" and self._cell is not None:
            self._table[-1].append((self._cell[0].strip(), self._cell[1]))
            self._cell = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None and not self._skip:
            self._cell[0] += data


@pytest.fixture(scope="module")
def v2_dir(tmp_path_factory) -> Path:
    return write_results(tmp_path_factory.mktemp("v2"))


@pytest.fixture(scope="module")
def v2_page(v2_dir) -> str:
    return write_report(v2_dir).read_text()


def test_page_is_one_file_with_nothing_external(v2_page):
    links = Tables(v2_page).links
    assert links and all(link.startswith("#") for link in links), [x for x in links if not x.startswith("#")]
    assert "<link" not in v2_page and "@import" not in v2_page


def test_leaderboard_rows_ranks_ties_and_sections(v2_page):
    rows = Tables(v2_page).tables["board-all"]
    # Sections in order (ranked, unranked, not causal); within ranked, rank then headline.
    assert [r[1][1]["data-sort"] for r in rows] == ["m-a", "m-b", "m-c", "oracle"]
    assert rows[3][1][0] == "oraclebaseline"  # the name, then its "baseline" tag
    assert [r[0][0] for r in rows] == ["1=1–2", "1=1–2", "—", "—"]  # rank, then its interval beneath
    assert [r[2][0] for r in rows] == ["ranked", "ranked", "unranked", "not causal"]
    assert rows[0][0][1]["title"] == "tied with m-a, m-b"
    headline = rows[0][3]
    assert headline[1]["data-sort"] == "0.8" and "[0.70, 0.85]" in headline[0]
    assert '>headline<span class="arrow">' in v2_page and 'class="pwwrap"' in v2_page
    assert rows[2][3][1]["data-sort"] == "" and rows[2][3][0].startswith("n/a")  # NaN: sorts last, says n/a


def test_hostile_metadata_stays_text(v2_page):
    assert HOSTILE not in v2_page and "&lt;/script&gt;&lt;script&gt;window.PWNED=1" in v2_page


def test_header_says_unknown_for_missing_manifest_keys(v2_page):
    facts = dict(header_facts({"suite": "smoke", "git_commit": "abc", "wall_seconds": 4000}))
    assert facts == {"suite": "smoke", "commit": "abc", "device": "unknown", "date": "unknown",
                     "wall time": "66.7 min", "runs": "unknown", "protocol": "unknown"}
    assert dict(header_facts({}))["suite"] == "unknown"
    assert "<dt>protocol</dt><dd class=\"\">2</dd>" in v2_page and "<dt>device</dt><dd class=\"unknown\">" in v2_page


def test_runs_table_per_task(v2_page):
    rows = Tables(v2_page).tables["runs-t1"]  # tasks sorted: long = t0, toy = t1
    assert len(rows) == 4
    assert [r[1][0] for r in rows] == ["weight_decay=0.1"] * 2 + ["weight_decay=1"] * 2
    assert [r[6][0] for r in rows] == ["no", "no", "yes", "yes"]  # censored
    assert [r[5][0] for r in rows] == ["10×", "20×", "≥ 50×", "≥ 50×"]  # T_gen / T_mem


def test_pairwise_matrix_fills_the_complement(v2_page):
    assert 'title="P(m-a beats m-b) = 0.620 on headline"' in v2_page
    assert 'title="P(m-b beats m-a) = 0.380 on headline"' in v2_page  # 1 − P(A beats B): ties count ½
    assert 'title="P(m-b beats m-a) = 0.030 on ew_auroc"' in v2_page


def test_old_columns_render_without_the_new_parts(tmp_path):
    page = write_report(write_results(tmp_path, v2=False)).read_text()
    rows = Tables(page).tables["board-all"]
    assert [r[0][0] for r in rows] == ["1=", "1=", "—", "—"]  # no rank interval, no section column
    for part in ('>section<span class="arrow">', '>headline<span class="arrow">', 'class="pwwrap"'):
        assert part not in page


@pytest.mark.parametrize("n, k", [(n, k) for n in (0, 1, 2, 3, 7, 199, 200, 201, 1000, 4321) for k in (2, 5, 200)])
def test_thin_indices_keeps_ends_and_caps_the_count(n, k):
    idx = thin_indices(n, k).tolist()
    if n <= k:
        assert idx == list(range(n))
    else:  # exactly k strictly increasing indices (spacing (n-1)/(k-1) > 1), both ends kept
        assert len(idx) == k and idx[0] == 0 and idx[-1] == n - 1
        assert all(a < b for a, b in zip(idx, idx[1:]))


def test_figures_are_thinned_for_display_only_and_valid_plotly(v2_dir):
    before = (v2_dir / "traces.parquet").read_bytes(), (v2_dir / "curves.parquet").read_bytes()
    res = read_results(v2_dir)
    runs, traces = res.runs[res.runs.task == "long"], res.traces[res.traces.task == "long"]
    curves = curves_spec(runs, traces, res.curves, list(MEASURES))
    scatter = scatter_spec(runs, traces, res.by_task[res.by_task.task == "long"], list(MEASURES))
    lines = [t for t in curves["base"] if t["mode"] == "lines"] + curves["by_measure"]["m-a"] \
        + scatter["by_measure"]["m-a"]
    for t in lines:  # 1,000 points each in the files
        assert len(t["x"]) == MAX_POINTS
    assert curves["by_measure"]["m-a"][0]["x"][0] == 0 and curves["by_measure"]["m-a"][0]["x"][-1] == 999
    t_gen = next(t for t in curves["base"] if t["name"] == "T_gen")
    assert t_gen["x"] == [500] and t_gen["y"] == [pytest.approx(1 - np.exp(-500 / 900), rel=5e-4)]
    steps = np.array(scatter["by_measure"]["m-a"][0]["customdata"])
    bold = scatter["by_measure"]["m-a"][0]["selectedpoints"]
    assert bold == np.flatnonzero((steps >= 10) & (steps <= 500)).tolist()  # exactly [T_mem, T_gen]
    for m in MEASURES:  # plotly's own validator accepts every figure
        go.Figure(data=curves["base"] + curves["by_measure"][m], layout=curves["layout"])
        go.Figure(data=scatter["by_measure"][m], layout=scatter["layout"])
    assert ((v2_dir / "traces.parquet").read_bytes(), (v2_dir / "curves.parquet").read_bytes()) == before


def test_steps_stay_exact_and_values_keep_four_digits():
    assert _steps([0, 99_999, 123_457, 2_500_001, np.nan]) == [0, 99_999, 123_457, 2_500_001, None]
    assert _r([123_457, 0.000123456, -2.5, np.inf]) == [123_500, 0.0001235, -2.5, None]


def test_json_in_a_script_element_cannot_end_it():
    obj = {"name": HOSTILE + "<!-- x", "n": [1.5, None]}
    element = _json_script("spec", obj)
    assert element.count("</script>") == 1 and "<!--" not in element
    body = element[len('<script type="application/json" id="spec">'):-len("</script>")]
    assert json.loads(body) == obj


def test_cli_report(v2_dir, tmp_path):
    ok = subprocess.run([sys.executable, "-m", "complexity_bench", "report", str(v2_dir)],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and "report.html" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "complexity_bench", "report", str(tmp_path)],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "not a results folder" in bad.stderr
    assert not (tmp_path / "report.html").exists()
