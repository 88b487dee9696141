"""`run`'s progress: steps move while a job trains; warnings never share a line with the progress output."""

from __future__ import annotations

import io

from complexity_bench.contracts.measure import MEASURES
from complexity_bench.pipeline import progress
from complexity_bench.pipeline.executors import make_executor
from complexity_bench.pipeline.harness import RunConfig, make_jobs, make_plan
from complexity_bench.pipeline.progress import execute_with_progress

PLUGIN = '''
import warnings
from complexity_bench import measure

@measure(name="warning-measure", version="1", direction=+1, direction_source="a test", needs=("weights",))
def warning_measure(model, ctx):
    warnings.warn("a plugin's warning")
    return 1.0
'''


def test_a_log_file_gets_step_progress_within_a_job_and_warnings_on_their_own_lines(tmp_path, capfd, monkeypatch):
    plugin = tmp_path / "warning_plugin.py"
    plugin.write_text(PLUGIN)
    monkeypatch.setattr(progress, "LINE_EVERY_S", 0.0)  # a line at every report
    monkeypatch.setattr(progress, "SEND_EVERY_S", 0.0)
    cfg = RunConfig(suite="smoke", tasks="modadd-mlp", measures="warning-measure", plugins=(str(plugin),))
    with MEASURES.scope():  # what `run` does up to scoring, with its progress shown
        plan = make_plan(cfg)
        jobs = make_jobs(plan, tmp_path / "store", workers=1, engine="auto")
        list(execute_with_progress(make_executor("local", 1, cfg.plugins), jobs, plan.n_runs, enabled=True))
    lines = capfd.readouterr().err.splitlines()
    shown = [line for line in lines if "progress:" in line]
    assert all(line.startswith("progress: ") for line in shown)  # whole lines: no carriage returns, no bar
    within = [line for line in shown if "0/1 runs done" in line and not line.startswith("progress: 0/")]
    assert within, shown  # steps counted while the one job is still running
    assert shown[-1].startswith("progress: 300/300 train steps (100%)") and "1/1 runs done" in shown[-1]
    warned = [line for line in lines if "UserWarning: a plugin's warning" in line]
    assert warned and all(line.startswith(f"{plugin}:") for line in warned), warned


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_workers_warning_on_a_terminal_first_clears_the_bars_line():
    out = _Terminal()
    progress.show_warning_on_own_line(UserWarning("careful"), UserWarning, "plugin.py", 3, file=out)
    assert out.getvalue() == "\r\x1b[Kplugin.py:3: UserWarning: careful\n"
    plain = io.StringIO()
    progress.show_warning_on_own_line(UserWarning("careful"), UserWarning, "plugin.py", 3, file=plain)
    assert plain.getvalue() == "plugin.py:3: UserWarning: careful\n"
