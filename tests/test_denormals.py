"""Training flushes denormals but gives the caller's process its IEEE subnormals back."""

import sys

from complexity_bench.pipeline.harness import run
from complexity_bench.pipeline.plan import RunConfig
from complexity_bench.contracts.task import get_task
from complexity_bench.engine.training import train_run


def subnormals_work() -> bool:
    return sys.float_info.min / 2 > 0.0  # 0.0 when flush-to-zero / denormals-are-zero is on


def test_train_run_restores_subnormals():
    assert subnormals_work()
    task = get_task("teacher-student")
    train_run(task, task.variant({"steps": 20}))
    assert subnormals_work()


def test_in_process_harness_restores_subnormals(tmp_path):
    run(RunConfig(tasks="teacher-student", measures="step", suite="smoke", out=tmp_path, workers=1,
                  progress=False, figures=False, bootstrap=0))
    assert subnormals_work()
