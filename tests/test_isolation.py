"""A measure that kills or wedges the process evaluating it costs its own values on that
run, nothing else (complexity_bench/pipeline/isolation.py).

The runs go through the command line in a subprocess with a timeout, so on code
without the isolation a crash fails the test (exit status, traceback) and a hang
fails it by the timeout, instead of taking pytest down.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.smoke
HELPERS = Path(__file__).parent / "helpers"
CRASHING = HELPERS / "crashing_measures.py"
ARGS = ["--suite", "smoke", "--no-progress", "--no-figures", "--bootstrap", "20", "--plugin", str(CRASHING)]


def run_cli(*args, env=None, timeout=240):
    cmd = [sys.executable, str(HELPERS / "cli_driver.py"), "run", *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-3000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc


def stored_values(out: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in (out / "store" / "values").rglob("*.json")}


def by_measure(out: Path) -> dict[str, pd.DataFrame]:
    traces = pd.read_parquet(out / "traces.parquet")
    return {m: g for m, g in traces.groupby("measure")}


def test_dying_measures_cost_their_own_values_only(tmp_path):
    """os._exit(1), SIGSEGV and SIGKILL (the OOM killer's signal) inside compute(), with a
    pool of 2 workers: the run finishes, each dying measure is missing on every checkpoint it
    was due on, with the reason; the measures beside it are complete; a re-run reuses all."""
    out = tmp_path / "out"
    dying = {"test-exit-one": "worker died: exit code 1",
             "test-segfault": "worker died: killed by signal 11 (SIGSEGV)",
             "test-oom-killed": "worker died: killed by signal 9 (SIGKILL)"}
    run_cli(*ARGS, "--tasks", "xor-mlp", "--measures", ",".join(["step", "l2", *dying]),
            "--out", out, "--workers", "2")
    traces = by_measure(out)
    n_ckpt = len(traces["step"])  # step is cheap: due on every checkpoint of both runs
    assert n_ckpt > 4 and not traces["step"]["value"].isna().any() and not traces["l2"]["value"].isna().any()
    for name, reason in dying.items():
        rows = traces[name]
        assert len(rows) == n_ckpt, name  # every checkpoint it was due on is accounted for
        assert rows["value"].isna().all() and set(rows["error"]) == {reason}, (name, set(rows["error"]))
    board = pd.read_csv(out / "leaderboard.csv").set_index("measure")
    for name in dying:
        assert board.at[name, "n_missing"] == n_ckpt  # the leaderboard counts the missing values

    before = stored_values(out)
    run_cli(*ARGS, "--tasks", "xor-mlp", "--measures", ",".join(["step", "l2", *dying]),
            "--out", out, "--workers", "1")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["trained_this_invocation"] == 0
    assert stored_values(out) == before  # the failures were stored: nothing tried (or crashed) again


def test_watchdog_ends_a_call_that_sigalrm_cannot_interrupt(tmp_path):
    """A measure that blocks SIGALRM and sleeps (as a long C call would ignore it) is
    ended by the watchdog at its tier's limit (1 s here) plus the grace; the other
    measures of the run are complete."""
    out = tmp_path / "out"
    env = {**os.environ, "CB_TEST_CALL_LIMIT_S": "1"}
    run_cli(*ARGS, "--tasks", "xor-mlp", "--measures", "step,test-stuck-in-c,l2", "--out", out, "--workers", "1",
            env=env, timeout=120)
    traces = by_measure(out)
    stuck = traces["test-stuck-in-c"]
    assert len(stuck) == len(traces["step"]) and stuck["value"].isna().all()
    assert set(stuck["error"]) == {"exceeded its 1 s time limit (ended by the watchdog: stuck where SIGALRM "
                                   "cannot interrupt)"}
    assert not traces["l2"]["value"].isna().any() and not traces["step"]["value"].isna().any()


def test_ctrl_c_reaching_the_measure_process_is_not_stored_as_a_death(tmp_path):
    """Ctrl-C sends SIGINT to the whole process group, the evaluation child included;
    the job decides what an interrupt means, so the child ignores it rather than dying
    and having its measure stored as failed."""
    from complexity_bench.pipeline.isolation import IsolatedEvaluator
    from complexity_bench.contracts.measure import get_measure
    from complexity_bench.contracts.plugins import load_plugins
    from complexity_bench.contracts.task import get_task
    from complexity_bench.engine.training import train_run

    plugin = tmp_path / "sigint_measure.py"
    plugin.write_text(
        "import os, signal\n"
        "from complexity_bench import measure\n"
        "@measure(name='test-sigint-self', version='1', direction=1)\n"
        "def sigint_self(model, ctx):\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    return 1.0\n")
    load_plugins([str(plugin)])  # registered for this test only (conftest: isolated_registries)
    task = get_task("xor-mlp")
    result = train_run(task, task.variants("smoke")[0])
    with IsolatedEvaluator(task) as evaluator:
        rows = evaluator.evaluate(result, [get_measure("test-sigint-self")])["test-sigint-self"]
    assert len(rows) == len(result.checkpoints)
    assert all(r["error"] == "" and r["value"] == 1.0 for r in rows), rows[0]


def _dead(pid: int) -> bool:
    """Gone, or a zombie: terminated, waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads process states from /proc (Linux)")
def test_killing_the_job_alone_ends_its_stuck_measure_process(tmp_path):
    """SIGKILL to the job's process only (not its group, as an OOM kill or `kill -9 PID`
    does): the evaluation child, stuck in a call, must not live on."""
    pid_file = tmp_path / "stuck.pid"
    env = {**os.environ, "CB_TEST_STUCK_PID_FILE": str(pid_file)}
    cmd = [sys.executable, str(HELPERS / "cli_driver.py"), "run", *ARGS, "--tasks", "xor-mlp",
           "--measures", "test-stuck-in-c", "--out", str(tmp_path / "out"), "--workers", "1"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.time() + 180
        while not pid_file.exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        assert pid_file.exists(), "the measure never got stuck"
        child = int(pid_file.read_text())
        assert child != proc.pid and not _dead(child)
        proc.kill()
        assert proc.wait() == -signal.SIGKILL
        deadline = time.time() + 30
        while not _dead(child) and time.time() < deadline:
            time.sleep(0.05)
        assert _dead(child), "the stuck evaluation process outlived its job"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of the group
        except ProcessLookupError:
            pass
