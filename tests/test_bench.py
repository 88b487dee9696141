"""Smoke test of ``python -m complexity_bench bench --quick --json`` (docs/performance.md).

No timing assertions (machines are noisy): the bench must run, report every
documented key, and each figure must be a measured, finite, positive number.
"""

from __future__ import annotations

import json
import math

import pytest

from complexity_bench import bench

KEYS = ("cohort_speedup", "cohort_speedup_paper_net", "worker_scaling", "training_gflops", "matmul_gflops",
        "lmn_seconds_n961", "denormal_slowdown", "vmap_speedup", "mkl_cbwr_slowdown")

# The quick bench's sizes shrunk further: every figure is still measured by the same code, and
# what the test asserts (each key, finite positive ratios of the times beside them) holds at any size.
TINY = dict(steps=10, job_steps=10, gf_steps=5, den_warm=10, den_steps=3, vmap_steps=3, cbwr_steps=10,
            mm_seconds=0.05)
TINY_LMN_POINTS = 100  # the key still says n961: only the number of points the LMN is timed on shrinks


@pytest.fixture(params=["tiny", pytest.param("quick", marks=pytest.mark.slow)])
def quick_sizes(request, monkeypatch):
    """'tiny' in the default run (seconds); the documented --quick sizes behind slow."""
    if request.param == "tiny":
        for key, value in TINY.items():
            monkeypatch.setitem(bench.QUICK, key, value)
        lmn_seconds = bench.lmn_seconds
        monkeypatch.setattr(bench, "lmn_seconds", lambda n=961: lmn_seconds(TINY_LMN_POINTS))
    return request.param


def test_quick_bench_reports_every_figure(capsys, quick_sizes):
    assert bench.main(["--quick", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    for key in KEYS:
        assert key in res, key
    m = res["machine"]
    assert m["cores"] >= 1 and m["cpu"] and m["torch"]
    for key in KEYS:
        value = res[key]
        if key == "lmn_seconds_n961" and value is None:  # measures/lmn.py absent: said so, not invented
            assert res["lmn"]["note"]
            continue
        assert isinstance(value, float) and math.isfinite(value) and value > 0, (key, value)
    # the speedups are ratios of the two times reported beside them
    for fam in res["families"] + [res["vmap"]]:
        if fam["speedup"] is not None:
            assert fam["speedup"] == pytest.approx(fam["loop_seconds"] / fam["cohort_seconds"])
    # the MKL cost compares two code paths that really differ, as the ratio of its two times
    for r in res["mkl_cbwr"]:
        assert r["mkl_paths"]["compatible"] == "COMPATIBLE" and r["mkl_paths"]["cpu_own_path"] != "COMPATIBLE"
        assert r["slowdown"] == pytest.approx(r["seconds_compatible"] / r["seconds_cpu_own_path"])
    assert res["cohort_speedup_task"] == min(
        (f for f in res["families"] if f["speedup"] is not None), key=lambda f: f["parameters"])["task"]

def test_table_output(capsys):
    res = {"machine": {"cpu": "X", "cores": 2, "torch": "t"}, "quick": True, "families": [
        {"task": "a", "parameters": 10, "runs": 2, "steps": 5, "loop_seconds": 2.0, "cohort_seconds": 1.0, "speedup": 2.0}],
        "cohort_speedup": 2.0, "cohort_speedup_task": "a", "cohort_runs": 2, "cohort_speedup_by_runs": {2: 2.0}, "cohort_speedup_paper_net": None, "matmul_gflops": 1.0,
        "matmul_gflops_one_core": 0.6, "training_gflops": None, "worker_scaling": 1.9, "denormal_slowdown": None,
        "lmn_seconds_n961": None, "lmn": {"note": "absent"}}
    text = bench.table(res)
    assert "2x" in text and "absent" in text and "X, 2 logical cores" in text

def test_truncated_task_keeps_the_average_evaluation_spacing():
    from complexity_bench.contracts.task import TASKS

    TASKS.discover()
    if "modadd-mlp" not in TASKS.names():
        pytest.skip("modadd-mlp not registered")
    task = TASKS.get("modadd-mlp")
    full = task.resolve({})["steps"]
    spacing = full / (len(task.eval_steps(full)) - 1)
    short = bench.truncated(task, 500)
    evals = short.eval_steps(500)
    assert evals[0] == 0 and evals[-1] == 500
    assert abs((500 / (len(evals) - 1)) - spacing) <= spacing * 0.5
    assert short.recipe(task.resolve({})).steps == 500 and short.recipe(task.resolve({})).stop_factor is None


def test_bench_variants_never_repeat_a_run():
    """More runs than the grid has: each copy of the grid gets new seeds (before, copies
    past the second repeated seeds, so 8 'runs' held 4 distinct ones)."""
    from complexity_bench.bench import bench_variants
    from complexity_bench.contracts.task import get_task

    for n in (1, 3, 4, 8, 16):
        runs = bench_variants(get_task("teacher-student"), n)
        assert len(runs) == n and len({v.run_id for v in runs}) == n
