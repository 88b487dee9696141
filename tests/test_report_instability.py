"""The report's instability question (complexity_bench/report/instability.py): in_auroc per measure and
task beside the clock and the recipe baselines, never ranked; why it is undefined when every value is;
T_spike and T_collapse per run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_report import Tables, write_results

from complexity_bench.cli import main

# measure -> (in_auroc, lo, hi) on every task; m-c's value is the largest, yet it is listed by name, not value
IN_AUROC = {"m-a": (0.61, 0.52, 0.70), "m-b": (np.nan, np.nan, np.nan), "m-c": (0.93, 0.85, 0.99),
            "oracle": (0.55, np.nan, np.nan), "step": (0.71, 0.60, 0.80), "recipe-wd": (0.50, 0.45, 0.56),
            "recipe-oracle": (0.66, 0.58, 0.74)}


def _with_instability(root, values=IN_AUROC, events=True, stop_factor=np.nan, only=None):
    write_results(root)
    by_task = pd.read_csv(root / "leaderboard_by_task.csv")
    extra = by_task[by_task["measure"] == "m-a"].copy()
    by_task = pd.concat([by_task] + [extra.assign(measure=b) for b in ("step", "recipe-wd", "recipe-oracle")])
    for col, k in (("in_auroc", 0), ("in_auroc_lo", 1), ("in_auroc_hi", 2)):
        by_task[col] = by_task["measure"].map(lambda m: values[m][k])
    by_task["n_runs_in"], by_task["n_ckpt_in"] = 3, 17
    by_task["nan_reasons"] = np.where(by_task["in_auroc"].isna(), "in_auroc: only one label class (x)", "")
    if only:
        by_task = by_task[by_task["task"] == only]
    by_task.to_csv(root / "leaderboard_by_task.csv", index=False)
    runs = pd.read_csv(root / "runs.csv")
    runs["stop_factor"] = stop_factor
    if events:
        runs["t_spike"] = [np.nan, 1800.0, np.nan, np.nan, 700.0]  # toy's second run and the long run spiked
        runs["t_collapse"] = [1500.0, np.nan, np.nan, np.nan, np.nan]
    (runs[runs["task"] == only] if only else runs).to_csv(root / "runs.csv", index=False)
    assert main(["report", str(root)]) == 0
    return (root / "report.html").read_text()


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> str:
    return _with_instability(tmp_path_factory.mktemp("instab"))


def test_in_auroc_beside_the_clock_and_the_recipe_per_task(page):
    rows = Tables(page).tables["instab-all"]
    names = [r[0][0] for r in rows]
    assert names == ["stepclock", "recipe-wdrecipe", "recipe-oraclerecipe", "m-a", "m-b", "m-c", "oracle"]
    by_name = {r[0][0]: [c[0] for c in r[1:]] for r in rows}
    assert by_name["m-a"] == ["0.61[0.52, 0.70]"] * 2  # tasks long, toy
    assert by_name["stepclock"] == ["0.71[0.60, 0.80]"] * 2
    assert by_name["m-b"] == ["n/a"] * 2 and by_name["oracle"] == ["0.55"] * 2  # no interval in the CSV: none shown
    task_rows = Tables(page).tables["instab-t1"]  # tasks sorted: long = t0, toy = t1
    assert [c[0] for c in task_rows[0]] == ["stepclock", "0.71[0.60, 0.80]", "3", "17"]
    assert 'class="undefined"' not in page.split('id="instab-all"')[0].rsplit("<h2>", 1)[1]


def test_one_task_folder_names_its_task_in_the_all_tasks_view(tmp_path):
    page = _with_instability(tmp_path, only="toy")
    table = page.split('id="instab-all"')[1].split("</table>")[0]
    assert ">toy<" in table and ">runs<" not in table  # the task's column; counts only in the task's view


def test_the_instability_table_has_no_rank(page):
    table = page.split('id="instab-all"')[1].split("</table>")[0]
    assert ">rank<" not in table and "rankiv" not in table


def test_runs_list_their_spike_and_collapse(page):
    rows = Tables(page).tables["runs-t1"]  # toy, sorted by weight decay then seed
    header = page.split('id="runs-t1"')[1].split("</thead>")[0]
    assert ">T_spike<" in header and ">T_collapse<" in header
    assert [(r[8][0], r[9][0]) for r in rows] == [("—", "1,500"), ("1,800", "—"), ("—", "—"), ("—", "—")]
    summary = page.split('class="sortable tasks"')[1].split("</table>")[0]
    assert ">with T_spike<" in summary and ">with T_collapse<" in summary


@pytest.mark.parametrize("kw, why", [
    (dict(stop_factor=1.5), "undefined: this suite stops each run early at 1.5 x T_gen"),
    (dict(events=False), "undefined: runs.csv has no t_spike / t_collapse columns"),
    (dict(events=False, stop_factor=1.5), "were recorded); and this suite stops each run early at 1.5 x T_gen"),
    (dict(), "undefined on every row; <code>nan_reasons</code> says why for each (most often: only one label "
             "class (x))"),
])
def test_every_value_undefined_says_why(tmp_path, kw, why):
    page = _with_instability(tmp_path, {m: (np.nan,) * 3 for m in IN_AUROC}, **kw)
    assert page.count(why) == 3  # the all-tasks card and each of the two tasks'
    assert 'id="instab-' not in page  # no table of n/a cells


def test_a_folder_scored_before_the_question_says_so(tmp_path):
    write_results(tmp_path)
    assert main(["report", str(tmp_path)]) == 0
    assert "scored before the instability question existed" in (tmp_path / "report.html").read_text()


def test_spike_and_collapse_are_marked_on_the_test_accuracy_curve(tmp_path):
    from complexity_bench.report.data import read_results, of_task
    from complexity_bench.report.plots import curves_spec

    _with_instability(tmp_path)
    res = read_results(tmp_path)
    spec = curves_spec(of_task(res.runs, "toy"), of_task(res.traces, "toy"), res.curves, ["m-a"])
    marks = {t["name"]: t for t in spec["base"] if t["name"] in ("T_spike", "T_collapse")}
    # toy's curves are evaluated every 10 steps with test accuracy 1 - exp(-step / 900) (test_report._series)
    assert marks["T_spike"]["x"] == [1800] and marks["T_collapse"]["x"] == [1500]
    assert marks["T_spike"]["y"][0] == pytest.approx(1 - np.exp(-2), abs=1e-4)
    assert marks["T_collapse"]["y"][0] == pytest.approx(1 - np.exp(-1500 / 900), abs=1e-4)
    no_events = curves_spec(of_task(res.runs, "toy").drop(columns=["t_spike", "t_collapse"]),
                            of_task(res.traces, "toy"), res.curves, ["m-a"])
    assert not {"T_spike", "T_collapse"} & {t["name"] for t in no_events["base"]}
