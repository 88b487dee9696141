"""scripts/transformer_grokking.py, the pilots' script (docs/tasks.md): a short run writes
its report, into a folder that does not exist yet, with the settings that made it, and
shows its progress while it trains."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_short_pilot_writes_its_report_into_a_new_folder(tmp_path):
    out = tmp_path / "not" / "yet" / "pilot.json"
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "transformer_grokking.py"), "--task", "modsub-mlp",
                           "--engine", "loop", "--steps", "30", "--seeds", "1", "--control-seeds", "0",
                           "--threads", "1", "--progress-every-s", "0", "--out", str(out)],
                          check=True, capture_output=True, text=True, cwd=ROOT)
    report = json.loads(out.read_text())
    assert (report["task"], report["budget"], report["threads"]) == ("modsub-mlp", 30, 1)
    runs = [(r["seed"], r["weight_decay"], r["last_step"], r["engine"]) for r in report["runs"]]
    assert runs == [(1, 0.2, 30, "loop"), (0, 0.0, 30, "loop")]
    progress = [line for line in done.stderr.splitlines() if line.startswith("progress: ")]
    assert progress[0].startswith("progress: 1 of at most 60 steps")
    assert progress[-1].startswith("progress: 60 of at most 60 steps")
