"""The README's generated blocks (findings.py, claims.py, instability_findings.py) read results through the checked
reader (pipeline/results_files.py): a broken file is one UserError naming it."""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from complexity_bench import claims, findings, instability_findings
from complexity_bench.errors import UserError

RESULTS = Path(__file__).resolve().parents[1] / "results"


@pytest.fixture
def broken_runs(tmp_path):
    for name in ("runs.csv", "leaderboard.csv", "leaderboard_by_task.csv", "traces.parquet", "measures.csv"):
        shutil.copy(RESULTS / name, tmp_path / name)
    pd.read_csv(tmp_path / "runs.csv").drop(columns="t_gen").to_csv(tmp_path / "runs.csv", index=False)
    return tmp_path


@pytest.mark.parametrize("render", [findings.render, claims.render, instability_findings.render],
                         ids=["findings", "claims", "instability"])
def test_a_broken_runs_file_is_a_user_error_naming_it(broken_runs, render):
    with pytest.raises(UserError, match=r"runs\.csv: column 't_gen' is missing"):
        render(broken_runs)


@pytest.mark.parametrize("name", ["leaderboard.csv", "leaderboard_by_task.csv"])
def test_a_leaderboard_without_its_measure_column_is_a_user_error(tmp_path, name):
    shutil.copy(RESULTS / name, tmp_path / name)
    pd.read_csv(tmp_path / name).drop(columns="measure").to_csv(tmp_path / name, index=False)
    from complexity_bench.pipeline.results_files import read_table

    with pytest.raises(UserError, match=rf"{name}: column 'measure' is missing"):
        read_table(tmp_path, name)
