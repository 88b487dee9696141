"""manifest.json names the code a run started from, not whatever HEAD is when it ends."""

import json
import subprocess
from pathlib import Path

import pytest

from complexity_bench.pipeline import harness, outputs
from complexity_bench.pipeline.plan import RunConfig


def test_manifest_records_the_commit_at_the_start(tmp_path, monkeypatch):
    states = iter([{"git_commit": "a" * 40, "git_dirty": True}, {"git_commit": "b" * 40, "git_dirty": False}])
    monkeypatch.setattr(harness, "code_state", lambda: next(states))
    monkeypatch.setattr(outputs, "code_state", lambda: next(states))  # a call at the end would take "b"
    cfg = RunConfig(suite="smoke", tasks="teacher-student", measures="l2", out=str(tmp_path / "out"), workers=1,
                    bootstrap=0, figures=False, progress=False)
    harness.run(cfg)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["git_commit"] == "a" * 40 and manifest["git_dirty"] is True


def test_code_state_names_the_checkout_head():
    package = Path(outputs.__file__).parent
    head = subprocess.run(["git", "-C", str(package), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("the package is not in a git checkout here")
    state = outputs.code_state()
    assert state["git_commit"] == head.stdout.strip()
    assert isinstance(state["git_dirty"], bool)


def test_code_state_outside_a_checkout(monkeypatch):
    monkeypatch.setattr(outputs, "_git", lambda *args: None)  # no git, or not a checkout
    assert outputs.code_state() == {"git_commit": "unknown", "git_dirty": None}
