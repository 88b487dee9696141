"""Where `run` writes by default, and that it never silently replaces another selection's results."""

import shutil
import subprocess
from pathlib import Path

import pytest

from complexity_bench.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ["run", "--suite", "smoke", "--tasks", "xor-mlp", "--no-progress", "--no-figures", "--bootstrap", "0",
         "--workers", "1"]


def test_default_out_is_an_untracked_folder_not_the_committed_results():
    out = build_parser().parse_args(["run"]).out
    assert out != Path("results") and not (ROOT / out).is_relative_to(ROOT / "results")
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(["git", "check-ignore", "-q", str(out / "leaderboard.csv")], cwd=ROOT)
    assert ignored.returncode == 0, f"{out}/ is not ignored by git"


@pytest.fixture
def copied_results(results_folder, tmp_path):
    """The smoke results (xor-mlp; step, l2, random) with their store, in a folder of this test's own."""
    out = tmp_path / "results"
    shutil.copytree(results_folder, out)
    return out


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".lock"}


@pytest.mark.parametrize("change", [["--measures", "step,l2"], ["--measures", "step,l2,random", "--tasks", "modadd-mlp"]])
def test_a_run_of_another_selection_is_refused_and_changes_nothing(copied_results, capsys, change):
    before = _files(copied_results)
    args = SMOKE + ["--measures", "step,l2,random", "--out", str(copied_results)]
    assert main(args + change) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "--replace" in err[0], err
    assert _files(copied_results) == before


def test_replace_lets_it_through(copied_results, capsys):
    import json

    assert main(SMOKE + ["--measures", "step", "--out", str(copied_results), "--replace"]) == 0
    manifest = json.loads((copied_results / "manifest.json").read_text())
    assert list(manifest["measures"]) == ["step"] and manifest["trained_this_invocation"] == 0
