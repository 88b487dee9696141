"""``score DIR`` on broken results files: one line naming the file and what is wrong,
exit status 2, no traceback, and nothing in the folder changed."""

import shutil

import pandas as pd
import pytest

from complexity_bench.cli import main

pytestmark = pytest.mark.smoke


def _copy(results_folder, tmp_path):
    out = tmp_path / "results"
    shutil.copytree(results_folder, out, ignore=shutil.ignore_patterns("store", "report.html"))  # 5 MB, not read
    return out


def _truncate(path):
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


def _drop_column(path, column):
    pd.read_csv(path).drop(columns=[column]).to_csv(path, index=False)


def _swap_header(path, a, b):
    df = pd.read_csv(path)
    df.rename(columns={a: b, b: a}).to_csv(path, index=False)  # the values stay where they were


BREAKAGES = {
    "truncated traces.parquet": (lambda out: _truncate(out / "traces.parquet"), "traces.parquet: cannot be read"),
    "empty traces.parquet": (lambda out: (out / "traces.parquet").write_bytes(b""), "traces.parquet: cannot be read"),
    "truncated curves.parquet": (lambda out: _truncate(out / "curves.parquet"), "curves.parquet: cannot be read"),
    "runs.csv without t_mem": (lambda out: _drop_column(out / "runs.csv", "t_mem"),
                               "runs.csv: column 't_mem' is missing"),
    "runs.csv task/t_mem headers swapped": (lambda out: _swap_header(out / "runs.csv", "task", "t_mem"),
                                            "runs.csv: column 't_mem' holds 'xor-mlp' where a number belongs"),
    "empty runs.csv": (lambda out: (out / "runs.csv").write_bytes(b""), "runs.csv: cannot be read"),
    "runs.csv with a header only": (lambda out: (out / "runs.csv").write_text(
        (out / "runs.csv").read_text().splitlines()[0] + "\n"), "runs.csv: no runs"),
    "measures.csv direction 0": (lambda out: pd.read_csv(out / "measures.csv").assign(direction=0).to_csv(
        out / "measures.csv", index=False), "measures.csv: column 'direction' holds 0 where +1 or -1 belongs"),
    "measures.csv without l2": (lambda out: (lambda df: df[df["measure"] != "l2"].to_csv(
        out / "measures.csv", index=False))(pd.read_csv(out / "measures.csv")),
        "traces.parquet: measure 'l2' has no row in measures.csv"),
    "manifest.json truncated": (lambda out: _truncate(out / "manifest.json"), "manifest.json: cannot be read"),
    # rows no run can have produced (results_files.rows_problem), named by row and run
    "runs.csv t_mem 'nan'": (lambda out: _set_cell(out / "runs.csv", "t_mem", "nan"),
                             "runs.csv: row 1 (run 'xor-mlp-"),
    "runs.csv t_mem negative": (lambda out: _set_cell(out / "runs.csv", "t_mem", -5),
                                "t_mem is '-5'; an event is a step from 0 to the budget"),
    "runs.csv t_mem fractional": (lambda out: _set_cell(out / "runs.csv", "t_mem", 2.5), "t_mem is '2.5'"),
    "runs.csv t_gen past the budget": (lambda out: _set_cell(out / "runs.csv", "t_gen", 10 ** 9), "t_gen is '1000000000'"),
    "runs.csv not censored, without a t_gen": (lambda out: _set_cell(out / "runs.csv", "censored", False),
                                               "censored is False but t_gen is empty"),
    "runs.csv budget 0": (lambda out: _set_cell(out / "runs.csv", "budget", 0), "budget is 0"),
    "runs.csv a run twice": (lambda out: (lambda df: pd.concat([df, df.iloc[:1]]).to_csv(
        out / "runs.csv", index=False))(pd.read_csv(out / "runs.csv")), "has more than one row (rows 1 and 2)"),
    "traces.parquet of a run runs.csv lacks": (lambda out: _set_cell(out / "traces.parquet", "run_id", "ghost"),
                                               "traces.parquet: row 1 belongs to run 'ghost', which runs.csv"),
    "curves.parquet of a run runs.csv lacks": (lambda out: _set_cell(out / "curves.parquet", "run_id", "ghost"),
                                               "curves.parquet: row 1 belongs to run 'ghost'"),
    "traces.parquet a row twice": (lambda out: (lambda df: pd.concat([df, df.iloc[:1]]).to_parquet(
        out / "traces.parquet", index=False))(pd.read_parquet(out / "traces.parquet")), "both hold"),
}


def _set_cell(path, column, value, row=0):
    """``path`` with one cell replaced (a hand edit, or another program's file)."""
    read, write = (pd.read_csv, "to_csv") if path.suffix == ".csv" else (pd.read_parquet, "to_parquet")
    df = read(path).astype({column: object})
    df.loc[row, column] = value
    getattr(df, write)(path, index=False)


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_broken_results_file_is_one_line_and_exit_2(results_folder, tmp_path, capsys, breakage):
    out = _copy(results_folder, tmp_path)
    damage, expected = BREAKAGES[breakage]
    damage(out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert main(["score", str(out), "--bootstrap", "5", "--no-figures"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    assert expected in err[0] and str(out) in err[0], err[0]
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before  # nothing rewritten


def test_intact_folder_scores(results_folder, tmp_path, capsys):
    out = _copy(results_folder, tmp_path)
    assert main(["score", str(out), "--bootstrap", "5", "--no-figures"]) == 0
    assert "re-scored" in capsys.readouterr().out


def test_numbers_stored_as_text_are_scored_and_drawn(results_folder, tmp_path, capsys):
    """A traces.parquet whose every column holds strings ("0", "0.53"), as a hand-made or
    foreign file may: the checked columns are read as numbers, so scoring and the figures
    (which compare steps with T_mem) work. Found by tests/test_fuzz_cli.py."""
    out = _copy(results_folder, tmp_path)
    path = out / "traces.parquet"
    pd.read_parquet(path).astype(str).to_parquet(path, index=False)
    assert main(["score", str(out), "--bootstrap", "5"]) == 0, capsys.readouterr().err
    assert list((out / "figures").glob("*.png"))


def test_t_gen_before_t_mem_is_scored(results_folder, tmp_path, capsys):
    """Test accuracy may reach the threshold before train accuracy (the committed full suite
    has such a teacher-student run): a possible row, so it is scored, not refused."""
    out = _copy(results_folder, tmp_path)
    runs = pd.read_csv(out / "runs.csv")
    runs.loc[0, ["t_mem", "t_gen", "censored"]] = [int(runs.loc[0, "budget"]), 0, False]
    runs.to_csv(out / "runs.csv", index=False)
    assert main(["score", str(out), "--bootstrap", "5", "--no-figures"]) == 0, capsys.readouterr().err
