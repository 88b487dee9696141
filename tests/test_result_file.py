"""Result files (complexity_bench/result_file/): export, validate, merge and every refusal.

The reference is the committed default-suite results (one task, three measures,
for speed); a submission is the same runs' l2 values under a new name, so merging
it must give it exactly l2's scores.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from complexity_bench.cli import main
from complexity_bench.result_file.document import seal
from complexity_bench.result_file.export import suite_version
from complexity_bench.scoring import SCORES
from complexity_bench.scoring.config import PROTOCOL_VERSION

RESULTS = Path(__file__).resolve().parents[1] / "results"
TASK = "modadd-mlp"
KEEP = ("l2", "step", "random")


def _subset(dst: Path, rename: dict[str, str] | None = None) -> Path:
    """RESULTS cut to one task and KEEP's measures, with measures renamed by ``rename``."""
    rename = rename or {}
    dst.mkdir()
    runs = pd.read_csv(RESULTS / "runs.csv")
    runs = runs[runs["task"] == TASK].dropna(axis=1, how="all")
    ids = set(runs["run_id"])
    traces = pd.read_parquet(RESULTS / "traces.parquet")
    traces = traces[traces["run_id"].isin(ids) & traces["measure"].isin(KEEP)].copy()
    traces["measure"] = traces["measure"].replace(rename)
    curves = pd.read_parquet(RESULTS / "curves.parquet")
    measures = pd.read_csv(RESULTS / "measures.csv")
    measures = measures[measures["measure"].isin(KEEP)].copy()
    for col in ("measure", "parent"):
        measures[col] = measures[col].replace(rename)
    runs.to_csv(dst / "runs.csv", index=False)
    traces.to_parquet(dst / "traces.parquet", index=False)
    curves[curves["run_id"].isin(ids)].to_parquet(dst / "curves.parquet", index=False)
    measures.to_csv(dst / "measures.csv", index=False)
    manifest = json.loads((RESULTS / "manifest.json").read_text())
    manifest["measures"] = {rename.get(m, m): manifest["measures"][m] for m in KEEP}
    (dst / "manifest.json").write_text(json.dumps(manifest))
    return dst


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("result_file")
    reference = _subset(root / "reference")
    submitted = _subset(root / "submitter", rename={"l2": "my-l2"})
    file = root / "my-l2.result.json"
    assert main(["export", str(submitted), "--measure", "my-l2", "--out", str(file)]) == 0
    return reference, submitted, file


def _task_version(doc, version: str) -> None:
    """The whole file, consistently, as if computed on another version of the task."""
    doc["suite"]["tasks"][TASK] = version
    for r in doc["runs"]:
        r["task_version"] = version


def _variant(tmp_path: Path, file: Path, change, reseal: bool = True, name: str = "changed.json") -> Path:
    doc = json.loads(file.read_text())
    change(doc)
    if reseal:  # as exported from a folder that differs so: fingerprint and seal consistent
        doc["suite"]["version"] = suite_version(doc["runs"])
    out = tmp_path / name
    out.write_text(json.dumps(seal(doc) if reseal else doc))
    return out


def _merge(files, reference, out, capsys) -> tuple[int, str]:
    rc = main(["merge", *map(str, files), "--reference", str(reference), "--out", str(out), "--bootstrap", "20",
               "--no-figures"])
    return rc, capsys.readouterr().err


def test_export_holds_the_folders_values_and_validates(folders, capsys):
    _, submitted, file = folders
    doc = json.loads(file.read_text())
    got = pd.DataFrame(doc["values"]).set_index(["run_id", "step"])["value"].sort_index()
    traces = pd.read_parquet(submitted / "traces.parquet")
    want = traces[traces["measure"] == "my-l2"].set_index(["run_id", "step"])["value"].sort_index()
    pd.testing.assert_series_equal(got, want, check_names=False)
    assert {r["run_id"] for r in doc["runs"]} == set(pd.read_csv(submitted / "runs.csv")["run_id"])
    assert doc["suite"]["tasks"] == {TASK: "3"} and doc["provenance"]["exported"]["torch_version"]
    assert set(doc["provenance"]["exported"]["blas"]) == {"torch_blas", "torch_lapack", "numpy_blas"}
    assert main(["validate", str(file)]) == 0
    assert capsys.readouterr().out.strip() == f"{file}: valid"


def test_merged_submission_scores_exactly_like_the_same_values_in_the_reference(folders, tmp_path, capsys):
    reference, _, file = folders
    rc, err = _merge([file], reference, tmp_path / "merged", capsys)
    assert rc == 0, err
    board = pd.read_csv(tmp_path / "merged" / "leaderboard_by_task.csv").set_index("measure")
    cols = [c for c in board.columns if any(c.startswith(s) for s in SCORES) and "rank" not in c]
    assert cols
    pd.testing.assert_series_equal(board.loc["my-l2", cols], board.loc["l2", cols], check_names=False)
    manifest = json.loads((tmp_path / "merged" / "manifest.json").read_text())
    assert [m["measure"] for m in manifest["merged_files"]] == ["my-l2"]


def test_validate_prints_one_line_per_problem(folders, tmp_path, capsys):
    def break_two(doc):
        doc["values"][0]["value"] = "high"
        doc["runs"][1]["censored"] = "yes"
    bad = _variant(tmp_path, folders[2], break_two)
    assert main(["validate", str(bad), str(folders[2]), str(tmp_path / "absent.json")]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[2:] == [f"{folders[2]}: valid", f"{tmp_path / 'absent.json'}: cannot be read (No such file or directory)"]
    lines = lines[:2]
    assert len(lines) == 2 and all(line.startswith(f"{bad}: ") for line in lines), lines
    assert "runs/1/censored" in lines[0] and "values/0/value" in lines[1]


@pytest.mark.parametrize("change, reseal, reason", [
    (lambda d: d.update(format_version=2), True, "format_version: 2 is not readable"),
    (lambda d: d["values"][3].update(value=d["values"][3]["value"] * 1.001), False, "sha256: does not match"),
    (lambda d: d["suite"].update(protocol_version="1"), True, f"refused: protocol version 1, the reference's is {PROTOCOL_VERSION}"),
    (lambda d: _task_version(d, "2"), True, "refused: task modadd-mlp version 2"),
    (lambda d: d.update(runs=d["runs"][1:], values=[v for v in d["values"] if v["run_id"] != d["runs"][0]["run_id"]]),
     True, "of the reference is missing (1 runs missing)"),
    (lambda d: d["runs"][2].update(t_mem=d["runs"][2]["t_mem"] + 1), True, "has t_mem = "),
    (lambda d: d["values"][0].update(step=d["values"][0]["step"] + 1), True, "is not a checkpoint of the reference"),
], ids=["format-version", "edited-value", "protocol-version", "task-version", "missing-run", "events",
        "off-checkpoint"])
def test_merge_refuses_with_the_reason(folders, tmp_path, capsys, change, reseal, reason):
    reference, _, file = folders
    bad = _variant(tmp_path, file, change, reseal)
    rc, err = _merge([bad], reference, tmp_path / "merged", capsys)
    assert rc == 2 and reason in err and str(bad) in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "merged").exists()  # refused before anything is written


def test_merge_refuses_a_duplicated_measure(folders, tmp_path, capsys, monkeypatch):
    reference, _, file = folders
    monkeypatch.chdir(tmp_path)
    assert main(["export", str(reference), "--measure", "l2"]) == 0
    rc, err = _merge([tmp_path / "l2.result.json"], reference, tmp_path / "m1", capsys)
    assert rc == 2 and "measure 'l2' is already in the reference" in err
    copy = shutil.copy(file, tmp_path / "again.json")
    rc, err = _merge([file, copy], reference, tmp_path / "m2", capsys)
    assert rc == 2 and f"measure 'my-l2' is also in {file}" in err


def test_merge_keeps_an_unrelated_folder_and_export_keeps_a_file(folders, tmp_path, capsys):
    reference, submitted, file = folders
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    rc, err = _merge([file], reference, tmp_path / "mine", capsys)
    assert rc == 2 and "not the output of an earlier merge" in err
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["notes.txt"]
    before = file.read_bytes()
    assert main(["export", str(submitted), "--measure", "my-l2", "--out", str(file)]) == 2
    assert "exists" in capsys.readouterr().err and file.read_bytes() == before


def test_the_documented_workflow_a_new_run_of_the_suite_merges_into_the_reference(results_folder, tmp_path, capsys):
    """run --measures NEW on the reference's suite, export, validate, merge: accepted (same events)."""
    mine, file = tmp_path / "mine", tmp_path / "l2-dist-init.result.json"
    assert main(["run", "--suite", "smoke", "--tasks", "xor-mlp", "--measures", "l2-dist-init", "--out", str(mine),
                 "--workers", "1", "--no-figures", "--no-progress", "--bootstrap", "10"]) == 0
    assert main(["export", str(mine), "--measure", "l2-dist-init", "--out", str(file)]) == 0
    assert main(["validate", str(file)]) == 0
    rc, err = _merge([file], results_folder, tmp_path / "merged", capsys)
    assert rc == 0, err
    board = pd.read_csv(tmp_path / "merged" / "leaderboard.csv")
    assert {"l2-dist-init", "l2", "step", "random"} <= set(board["measure"])
