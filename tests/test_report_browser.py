"""report.html in a real browser: Debian's chromium, headless, driven by Playwright.

Checks that the page renders with no console error and no network request, that
clicking a column header reorders the rows, and that the task switch shows the
task's runs and figures, against the CSV and Parquet files the page was made
from. Without chromium the browser tests skip and say why, except under CI=true
(.ci/run installs chromium), where a missing browser fails them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_report import write_results

from complexity_bench.report import write_report
from complexity_bench.report.browser import find_chromium, open_report

pytestmark = pytest.mark.smoke
SMOKE_MEASURES = "l2,random,step,train-loss"
# Two tasks of the smoke suite: the page draws a task's figures only when its tab is opened
# (report.js), so further tasks add rows to the cross-task board and nothing else the browser runs;
# each task's smoke training is tests/tasks/test_training_smoke.py's, the whole suite's run the slow test below.
SMOKE_TASKS = "modadd-mlp,xor-mlp"


def need_browser() -> None:
    missing = [] if find_chromium() else ["chromium (apt-get install -y chromium)"]
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("playwright (pip install -e '.[test]')")
    if missing:
        why = "the report's browser test needs " + " and ".join(missing)
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(why + "; .ci/run installs chromium, so CI must not skip this test")
        pytest.skip(why)


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "complexity_bench", *map(str, args)], capture_output=True,
                          text=True, check=True)


@pytest.fixture(scope="module")
def smoke_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("smoke")
    cli("run", "--suite", "smoke", "--tasks", SMOKE_TASKS, "--measures", SMOKE_MEASURES, "--workers", "1",
        "--bootstrap", "50", "--no-figures", "--no-progress", "--out", out)
    return out


@pytest.mark.slow
def test_the_whole_smoke_suite_runs_and_writes_the_report(tmp_path):
    """Every task's smoke run through `run`, scored and in the report (minutes on 2 cores)."""
    from complexity_bench.contracts.task import TASKS

    TASKS.discover()
    smoke_tasks = {name for name in TASKS.names() if TASKS.get(name).grid("smoke")}
    cli("run", "--suite", "smoke", "--measures", SMOKE_MEASURES, "--workers", "1", "--bootstrap", "50",
        "--no-figures", "--no-progress", "--out", tmp_path)
    assert set(pd.read_csv(tmp_path / "runs.csv")["task"]) == smoke_tasks
    assert set(pd.read_csv(tmp_path / "leaderboard_by_task.csv")["task"]) == smoke_tasks
    page = (tmp_path / "report.html").read_text()
    assert all(f'data-view="{task}"' in page for task in smoke_tasks)


def column(page, table: str, attr: str) -> list[str]:
    """``attr`` of each row of table ``table``, in the order shown."""
    return page.eval_on_selector_all(f"#{table} tbody tr", f"rows => rows.map(r => r.getAttribute('{attr}'))")


def click_header(page, table: str, label: str) -> None:
    page.locator(f"#{table} thead th").filter(has_text=label).first.click()


def assert_clean(log) -> None:
    assert log.requests == [], f"network requests: {log.requests}"
    assert log.console_errors == [] and log.page_errors == [], log.console_errors + log.page_errors


def test_run_and_score_write_the_report(smoke_dir):
    report = smoke_dir / "report.html"
    assert report.stat().st_size > 0  # written by `run`
    report.unlink()
    cli("score", smoke_dir, "--bootstrap", "50", "--no-figures")
    assert report.stat().st_size > 0  # and by `score`


def test_smoke_report_in_chromium(smoke_dir, tmp_path):
    need_browser()
    board = pd.read_csv(smoke_dir / "leaderboard.csv")
    runs = pd.read_csv(smoke_dir / "runs.csv")
    traces = pd.read_parquet(smoke_dir / "traces.parquet")
    with open_report(smoke_dir / "report.html") as (page, log):
        assert sorted(column(page, "board-all", "data-measure")) == sorted(board["measure"])
        click_header(page, "board-all", "measure")
        assert column(page, "board-all", "data-measure") == sorted(board["measure"])
        click_header(page, "board-all", "measure")
        assert column(page, "board-all", "data-measure") == sorted(board["measure"], reverse=True)

        page.hover("#board-all .mname >> nth=0")
        assert page.is_visible("#board-all tbody tr >> nth=0 >> .tip")  # metadata on hover

        task = "modadd-mlp"
        page.click(f'nav .tab[data-view="{task}"]')
        view = f'section.view[data-view="{task}"]'
        page.wait_for_selector(f"{view} .plot .main-svg")
        assert page.is_visible(view) and not page.is_visible('section.view[data-view="all"]')
        assert page.evaluate("location.hash") == f"#task={task}"
        k = page.get_attribute(f"{view} select.measure", "id")[len("sel-"):]
        assert sorted(column(page, f"runs-{k}", "data-run")) == sorted(runs.loc[runs.task == task, "run_id"])

        # The measure selector redraws the trajectories beneath with that measure's stored values.
        page.select_option(f"#sel-{k}", "random")
        drawn = page.evaluate(f"""() => document.getElementById('plot-{k}-curves').data
            .filter(t => t.yaxis === 'y2').map(t => [t.x, t.y])""")
        want = traces[(traces.task == task) & (traces.measure == "random")].sort_values("step")
        assert len(drawn) == want["run_id"].nunique() == 1
        x, y = drawn[0]
        assert x == want["step"].tolist()  # under 200 checkpoints: nothing thinned
        np.testing.assert_allclose(y, want["value"], rtol=5e-4)  # 4 significant digits on the page
        assert page.evaluate(f"document.getElementById('plot-{k}-curves').layout.yaxis2.title.text") == "random"
        page.screenshot(path=str(tmp_path / "smoke_task.png"), full_page=True)
        assert_clean(log)
    assert (tmp_path / "smoke_task.png").stat().st_size > 10_000


def test_v2_report_sorting_and_pairwise_in_chromium(tmp_path):
    need_browser()
    root = write_results(tmp_path / "v2")
    board = pd.read_csv(root / "leaderboard.csv")
    with open_report(write_report(root)) as (page, log):
        shown = column(page, "board-all", "data-measure")
        assert shown == ["m-a", "m-b", "m-c", "oracle"]
        # Each click, brute force: a stable sort of the rows as shown; missing values last either way.
        for label, col, ascending in (("headline", "headline", False), ("headline", "headline", True),
                                      ("rank", "rank", True), ("rank", "rank", False)):
            click_header(page, "board-all", label)
            want = board.set_index("measure").loc[shown, col].sort_values(
                ascending=ascending, na_position="last", kind="stable")
            shown = column(page, "board-all", "data-measure")
            assert shown == list(want.index), (label, ascending)

        def visible_score():
            return page.eval_on_selector_all("#all-pairwise .pwblock",
                                             "bs => bs.filter(b => !b.hidden).map(b => b.dataset.score)")
        assert visible_score() == ["headline"]
        page.select_option("#all-pairwise select", "ew_auroc")
        assert visible_score() == ["ew_auroc"]
        assert page.is_visible('#all-pairwise td[title="P(m-a beats m-b) = 0.970 on ew_auroc"]')

        page.click('nav .tab[data-view="toy"]')
        page.wait_for_selector('section.view[data-view="toy"] .plot .main-svg')
        assert page.locator('section.view[data-view="toy"] .plot .main-svg').count() >= 2  # curves, scatter
        assert_clean(log)
