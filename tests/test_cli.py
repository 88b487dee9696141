"""End to end through the command line, as a user runs it."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from complexity_bench.cli import main as cli_main

pytestmark = pytest.mark.smoke
SMOKE = ["--suite", "smoke", "--tasks", "modadd-mlp", "--no-progress", "--bootstrap", "50"]


def cli(*args, check=True, **kw):
    proc = subprocess.run([sys.executable, "-m", "complexity_bench", *map(str, args)],
                          capture_output=True, text=True, timeout=600, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def one_line_error(proc) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def smoke_out(tmp_path_factory, plugin_file):
    out = tmp_path_factory.mktemp("results")
    cli("run", *SMOKE, "--measures", "step,random,train-loss,oracle-test-loss,plugin-weight-count",
        "--plugin", plugin_file, "--out", out, "--workers", "2")
    return out


def test_run_writes_every_output(smoke_out):
    for name in ["leaderboard.csv", "leaderboard_by_task.csv", "runs.csv", "traces.parquet", "manifest.json",
                 "measures.csv", "curves.parquet"]:
        assert (smoke_out / name).exists(), name
    board = pd.read_csv(smoke_out / "leaderboard.csv")
    assert "plugin-weight-count" in set(board["measure"])  # a measure from a file outside the repo
    runs = pd.read_csv(smoke_out / "runs.csv")
    assert {"t_mem", "t_gen", "censored", "delay", "t_spike", "t_collapse", "seed", "weight_decay", "device"} <= set(
        runs.columns)
    assert set(runs["device"]) == {"cpu"}
    traces = pd.read_parquet(smoke_out / "traces.parquet")
    assert {"run_id", "step", "measure", "value", "seconds", "test_loss"} <= set(traces.columns)
    manifest = json.loads((smoke_out / "manifest.json").read_text())
    assert manifest["suite"] == "smoke" and manifest["measures"]["plugin-weight-count"] == "1"
    assert manifest["device"] == "cpu"


def test_second_run_reuses_the_store(smoke_out, plugin_file):
    before = (smoke_out / "traces.parquet").read_bytes()
    cli("run", *SMOKE, "--measures", "step,random,train-loss,oracle-test-loss,plugin-weight-count",
        "--plugin", plugin_file, "--out", smoke_out, "--workers", "1")
    manifest = json.loads((smoke_out / "manifest.json").read_text())
    assert manifest["trained_this_invocation"] == 0
    assert pd.read_parquet(smoke_out / "traces.parquet").equals(pd.read_parquet(__import__("io").BytesIO(before)))


def test_score_rescores_without_training(smoke_out):
    (smoke_out / "leaderboard.csv").unlink()
    proc = cli("score", smoke_out, "--bootstrap", "50", "--no-figures")
    assert "re-scored" in proc.stdout and (smoke_out / "leaderboard.csv").exists()


@pytest.mark.parametrize("args, expected", [
    (["run", "--measures", "trian-loss"], "did you mean 'train-loss'"),
    (["run", "--tasks", "modad-mlp"], "did you mean 'modadd-mlp'"),
    (["run", "--suite", "huge"], "--suite: invalid choice: 'huge'"),
    (["run", "--workers", "two"], "expected a whole number"),
    (["run", "--executor", "slurm", "--suite", "smoke"], "--executor: invalid choice: 'slurm'"),
    (["run", "--engine", "turbo", "--suite", "smoke"], "--engine: invalid choice: 'turbo'"),
    (["run", "--device", "tpu", "--suite", "smoke"], "unknown device 'tpu'"),
    (["score", "/nonexistent/results"], "is not a results folder"),
    (["check-measure", "nope"], "unknown measure 'nope'"),
])
def test_bad_input_is_one_line_and_nonzero(args, expected, tmp_path, capfd):
    """In this process (each case fails before any work; a new interpreter would cost seconds per
    case): the same main() as `python -m complexity_bench`, whose wiring the subprocess tests below
    check with the same one-line rule."""
    argv = [*map(str, args), *(["--out", str(tmp_path)] if args[0] == "run" else [])]
    try:
        code = cli_main(argv)
    except SystemExit as exc:  # as the interpreter would exit on it
        code = exc.code
    out, err = capfd.readouterr()
    assert expected in one_line_error(subprocess.CompletedProcess(argv, code, out, err))


def test_cuda_without_cuda_fails_before_any_work(tmp_path):
    """CI has no GPU; CUDA_VISIBLE_DEVICES="" hides one where there is, so this holds anywhere."""
    out = tmp_path / "never-written"
    proc = cli("run", *SMOKE, "--device", "cuda", "--out", out, check=False,
               env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert "sees no CUDA device" in one_line_error(proc)
    assert not out.exists()


def test_bad_plugin_files(tmp_path):
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('plugin exploded')\n")
    assert "defines no measure" in one_line_error(cli("run", *SMOKE, "--plugin", empty, "--out", tmp_path, check=False))
    assert "RuntimeError: plugin exploded" in one_line_error(
        cli("run", *SMOKE, "--plugin", broken, "--out", tmp_path, check=False))


def test_errors_leave_stored_results_alone(smoke_out):
    before = {p: p.stat().st_mtime_ns for p in smoke_out.rglob("*") if p.is_file()}
    one_line_error(cli("run", *SMOKE, "--measures", "nonsense", "--out", smoke_out, check=False))
    after = {p: p.stat().st_mtime_ns for p in smoke_out.rglob("*") if p.is_file()}
    assert before == after


def test_unwritable_out(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert "not writable" in one_line_error(cli("run", *SMOKE, "--measures", "step", "--out", blocker / "x", check=False))


def test_list_and_check_measure(plugin_file, capsys):
    """The listing and a registered measure's check through main() in this process (a new
    interpreter costs seconds each); a plugin file's check through `python -m complexity_bench`."""
    def stdout_of(*argv: str) -> str:
        assert cli_main(list(argv)) == 0
        return capsys.readouterr().out

    assert "oracle-test-loss" in stdout_of("list", "measures")
    assert "modadd-mlp" in stdout_of("list", "tasks")
    assert "OK" in stdout_of("check-measure", "step")
    assert "check_measure(plugin-weight-count): OK" in cli("check-measure", plugin_file).stdout


def _comparable(out: Path) -> dict:
    runs = pd.read_csv(out / "runs.csv").drop(columns=["train_seconds"])
    traces = pd.read_parquet(out / "traces.parquet").drop(columns=["seconds"])
    board = pd.read_csv(out / "leaderboard.csv")
    return {"runs": runs, "traces": traces.sort_values(["run_id", "measure", "step"]).reset_index(drop=True),
            "board": board}


HELPERS = Path(__file__).parent / "helpers"
KILL_ARGS = ["run", "--suite", "smoke", "--tasks", "xor-mlp,teacher-student",
             "--measures", "step,train-loss,random,test-gate", "--plugin", str(HELPERS / "gate_measure.py"),
             "--no-progress", "--bootstrap", "50", "--no-figures", "--workers", "1"]
N_KILL_RUNS = 2  # one smoke run per task


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("uninterrupted")
    cli(*KILL_ARGS, "--out", out)
    return out


def _store_files(out: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in (out / "store").rglob("*") if p.is_file()}


@pytest.mark.parametrize("phase", ["training", "measurement", "scoring"])
def test_sigkill_then_resume_matches_uninterrupted(uninterrupted, tmp_path, phase):
    """SIGKILL a run at a known point (it signals readiness through a file and blocks:
    tests/helpers/cli_driver.py for training and scoring, tests/helpers/gate_measure.py
    inside a measure's call), re-run: what was stored is reused untouched, the rest is
    redone, and the CSVs equal an uninterrupted run's."""
    killed, ready = tmp_path / "killed", tmp_path / "ready"
    env = {**os.environ, "CB_TEST_GATE_READY": str(ready)}
    if phase == "measurement":
        env["CB_TEST_GATE_STORE"] = str(killed / "store" / "values")
    else:
        env["CB_TEST_GATE_PHASE"] = phase
    proc = subprocess.Popen([sys.executable, str(HELPERS / "cli_driver.py"), *KILL_ARGS, "--out", str(killed)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, start_new_session=True)
    deadline = time.time() + 300
    while not ready.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert ready.exists() and proc.poll() is None, f"never reached the {phase} gate: {proc.stderr.read()[-2000:]}"
    stored = _store_files(killed)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole group: the CLI and its measure process
    assert proc.wait() == -signal.SIGKILL  # it died by the signal, not by finishing first
    proc.stderr.close()

    cli(*KILL_ARGS, "--out", killed)  # resume, no gate
    after = _store_files(killed)
    assert {p: after.get(p) for p in stored} == stored  # everything stored before the kill was reused as is
    trained_now = json.loads((killed / "manifest.json").read_text())["trained_this_invocation"]
    runs_before = {p.stem for p in stored if p.suffix == ".pt"}
    measured_before = {p.parent.name for p in stored if p.suffix == ".json"}
    assert len(runs_before) >= 1 and trained_now == N_KILL_RUNS - len(runs_before)  # stored runs not retrained
    if phase == "training":  # killed while training the second run
        assert trained_now > 0
    elif phase == "measurement":  # killed inside a measure's call: that run is reused, its values redone
        assert measured_before and runs_before - measured_before
        assert {p.parent.name for p in after if p.suffix == ".json"} > measured_before
    else:  # everything was stored: only the scoring is redone
        assert trained_now == 0 and set(after) == set(stored)
    a, b = _comparable(uninterrupted), _comparable(killed)
    for key in a:
        pd.testing.assert_frame_equal(a[key], b[key], check_exact=True)
