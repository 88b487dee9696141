"""Faults around writing: a full disk, a read-only folder, two commands on one folder,
a Tracker save over another run, an absurd worker count. Each ends in one line and exit
status 2 (or a UserError), leaves no temporary file, and changes nothing stored.

A full disk and a read-only folder are simulated by injecting the OSError the kernel
gives (ENOSPC, EROFS) into the package's one file-writing function
(``store.atomic_write_files``, through the ``open`` it calls): tests run as root in
CI, where chmod does not stop a write, and no test may fill a real disk.
"""

import errno
import fcntl
import os
import shutil

import pytest

import complexity_bench.pipeline.store as store
from complexity_bench.cli import main
from complexity_bench.errors import UserError
from complexity_bench.pipeline.outputs import read_frames
from complexity_bench.tracker.save import save_run

pytestmark = pytest.mark.smoke


class _FailingFile:
    """A file being written whose ``write`` stores half the bytes, then fails with ``err``."""

    def __init__(self, fh, err):
        self.fh, self.err = fh, err

    def write(self, data):
        self.fh.write(data[: len(data) // 2])
        raise OSError(self.err, os.strerror(self.err))

    def __getattr__(self, name):
        return getattr(self.fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.fh.close()


def inject_write_failure(monkeypatch, err, when=lambda path: True, at_open=False):
    """Every file the package writes whose path satisfies ``when`` fails with ``err``:
    at ``open`` (a read-only folder) or part-way through the write (a full disk)."""
    real_open = open

    def fake_open(file, mode="r", *args, **kwargs):
        if "w" in mode and when(str(file)):
            if at_open:
                raise OSError(err, os.strerror(err), str(file))
            return _FailingFile(real_open(file, mode, *args, **kwargs), err)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(store, "open", fake_open, raising=False)


def snapshot(folder):
    """Every stored file's bytes (not ``.lock``, which ``run`` and ``score`` create to lock the folder)."""
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file() and p.name != ".lock"}


def call(argv, capsys):
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err.strip().splitlines()


@pytest.fixture
def results(results_folder, tmp_path):
    out = tmp_path / "results"
    shutil.copytree(results_folder, out, ignore=shutil.ignore_patterns("store", "report.html"))
    return out


def assert_one_line(code, err, *expected):
    assert code == 2 and len(err) == 1 and err[0].startswith("error: "), (code, err)
    for text in expected:
        assert text in err[0], err[0]


@pytest.mark.parametrize("failing, figures", [
    ("leaderboard.csv", False),  # the first file of the batch
    ("manifest.json", False),  # the last: the batch's earlier files are written, then removed
    (".png", True),  # a figure
])
def test_score_on_a_full_disk(results, monkeypatch, capsys, failing, figures):
    before = snapshot(results)
    inject_write_failure(monkeypatch, errno.ENOSPC, when=lambda path: failing in path)
    code, err = call(["score", results, "--bootstrap", "3", *([] if figures else ["--no-figures"])], capsys)
    assert_one_line(code, err, "No space left on device", "cannot write")
    assert not list(results.rglob("*.tmp"))  # nothing half-written keeps the disk full
    after = snapshot(results)
    if figures:  # the tables and the manifest are written only after every figure
        after = {p: b for p, b in after.items() if p.suffix != ".png"}
        before = {p: b for p, b in before.items() if p.suffix != ".png"}
    assert after == before


def test_report_on_a_read_only_folder(results, monkeypatch, capsys):
    before = snapshot(results)
    inject_write_failure(monkeypatch, errno.EROFS, at_open=True)
    code, err = call(["report", results], capsys)
    assert_one_line(code, err, "Read-only file system", "report.html")
    assert snapshot(results) == before and not list(results.rglob("*.tmp"))


def test_run_on_a_full_disk_while_training(tmp_path, monkeypatch, capsys):
    """The disk fills when the first trained run is stored (``--workers 1``: the job runs
    in this process, so the injected failure reaches it)."""
    out = tmp_path / "out"
    inject_write_failure(monkeypatch, errno.ENOSPC, when=lambda path: path.endswith(".pt.{}.tmp".format(os.getpid())))
    code, err = call(["run", "--suite", "smoke", "--tasks", "xor-mlp", "--measures", "step", "--workers", "1",
                      "--no-progress", "--no-figures", "--bootstrap", "3", "--out", out], capsys)
    assert_one_line(code, err, "No space left on device", ".pt")
    assert not list(out.rglob("*.tmp")) and not list(out.rglob("*.pt"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through chmod; the injected EROFS above covers it")
def test_score_on_a_really_read_only_folder(results, capsys):
    before = snapshot(results)
    results.chmod(0o555)
    try:
        code, err = call(["score", results, "--bootstrap", "3", "--no-figures"], capsys)
    finally:
        results.chmod(0o755)
    assert_one_line(code, err, "not writable")
    assert snapshot(results) == before


def test_score_waits_for_nobody_while_run_holds_the_folder(results, capsys):
    """``run`` holds ``<out>/.lock`` for its whole invocation; ``score`` on the same folder
    stops with one line instead of overwriting the run's files."""
    before = snapshot(results)
    with open(results / ".lock", "a+") as fh:  # what lock_output holds during a run
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        code, err = call(["score", results, "--bootstrap", "3", "--no-figures"], capsys)
    assert_one_line(code, err, "another complexity_bench process is using")
    assert snapshot(results) == before


def test_score_leaves_no_folder_where_there_was_none(tmp_path, capsys):
    code, err = call(["score", tmp_path / "absent", "--no-figures"], capsys)
    assert_one_line(code, err, "is not a results folder")
    assert not (tmp_path / "absent").exists()


def test_save_refuses_a_folder_that_holds_another_run(results, tmp_path):
    frames = read_frames(results)
    folder = tmp_path / "my_run"
    save_run(folder, frames, {"source": "Tracker"})
    save_run(folder, frames, {"source": "Tracker"})  # the same run again (more steps logged): replaced
    before = snapshot(folder)
    other = read_frames(results)
    for table in (other.runs, other.traces, other.curves):
        table["run_id"] = "another-run"
    with pytest.raises(UserError, match="already holds another run"):
        save_run(folder, other, {"source": "Tracker"})
    with pytest.raises(UserError, match="already holds"):  # a suite's results folder
        save_run(results, other, {"source": "Tracker"})
    assert snapshot(folder) == before


def test_absurd_worker_count_is_one_line(tmp_path, capsys):
    code, err = call(["run", "--suite", "smoke", "--tasks", "xor-mlp", "--measures", "step", "--workers", "9" * 21, "--out",
                      tmp_path / "out"], capsys)
    assert_one_line(code, err, "--workers")
    assert not (tmp_path / "out").exists()


def test_score_of_tracker_runs_with_a_broken_manifest_beside_them(results, tmp_path, capsys):
    """``score ROOT`` collects the Tracker runs below ROOT into ROOT's own files, updating
    ROOT/manifest.json: a broken one is one line naming it, and nothing is collected."""
    root = tmp_path / "my_runs"
    save_run(root / "a", read_frames(results), {"source": "Tracker"})
    (root / "manifest.json").write_text("{not json")
    before = snapshot(root)
    code, err = call(["score", root, "--bootstrap", "3", "--no-figures"], capsys)
    assert_one_line(code, err, "manifest.json: cannot be read")
    assert snapshot(root) == before
