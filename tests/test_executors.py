"""Every executor gives the same results: jobs are independent and seeded."""

import pandas as pd
import pytest

from complexity_bench.pipeline.harness import run
from complexity_bench.pipeline.plan import RunConfig


def _traces(out):
    t = pd.read_parquet(out / "traces.parquet").drop(columns=["seconds"])
    return t.sort_values(["run_id", "measure", "step"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial")
    run(RunConfig(tasks="modadd-mlp,sparse-parity", measures="step,random,train-loss", suite="smoke", out=out,
                  workers=1, progress=False, figures=False, bootstrap=20))
    return _traces(out)


def test_process_pool_matches_serial(serial, tmp_path):
    run(RunConfig(tasks="modadd-mlp,sparse-parity", measures="step,random,train-loss", suite="smoke", out=tmp_path,
                  workers=2, progress=False, figures=False, bootstrap=20))
    pd.testing.assert_frame_equal(serial, _traces(tmp_path), check_exact=True)


def test_local_ray_matches_serial(serial, tmp_path):
    ray = pytest.importorskip("ray")
    try:
        run(RunConfig(tasks="modadd-mlp,sparse-parity", measures="step,random,train-loss", suite="smoke",
                      out=tmp_path, executor="ray", progress=False, figures=False, bootstrap=20))
    finally:
        ray.shutdown()
    pd.testing.assert_frame_equal(serial, _traces(tmp_path), check_exact=True)
