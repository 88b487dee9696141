import copy
import os

import pytest
import torch

from complexity_bench.contracts.measure import MEASURES
from complexity_bench.contracts.task import TASKS

# One thread per test process: the CI box has 2 cores, and oversubscribed
# torch threads spin-wait (measured 80x slower on a busy 2-core machine).
torch.set_num_threads(1)
os.environ.setdefault("OMP_NUM_THREADS", "1")
# MKL's CPU-independent path, as the command line and the workers set it (numerics.py), here
# before any test computes: runs in this process then equal runs in worker processes
os.environ.setdefault("MKL_CBWR", "COMPATIBLE")


PLUGIN_SOURCE = (
    "from complexity_bench import measure\n\n"
    "@measure(name='plugin-weight-count', version='1', direction=+1)\n"
    "def weight_count(model, ctx):\n"
    "    return float(sum(p.numel() for p in model.parameters()))\n"
)


@pytest.fixture(scope="session")
def plugin_file(tmp_path_factory):
    """A measure plugin living outside the repository."""
    path = tmp_path_factory.mktemp("elsewhere") / "my_measure.py"
    path.write_text(PLUGIN_SOURCE)
    return path


@pytest.fixture(autouse=True)
def isolated_registries():
    """What a test registers (a plugin file, a toy task or measure) is gone after it, so no test
    sees another's registrations, whatever the order (pytest -p randomly shuffles it)."""
    with MEASURES.scope(), TASKS.scope():
        yield


@pytest.fixture(scope="session")
def results_folder(tmp_path_factory):
    """A small results folder from a real smoke run (one task, three measures), for
    tests that read results files back; copy it before changing anything in it."""
    from complexity_bench.pipeline.harness import run
    from complexity_bench.pipeline.plan import RunConfig

    out = tmp_path_factory.mktemp("results")
    run(RunConfig(tasks="xor-mlp", measures="step,l2,random", suite="smoke", out=out, workers=1,
                  progress=False, figures=False, bootstrap=20))
    return out


@pytest.fixture(scope="session")
def _modadd_smoke_trained():
    from complexity_bench.contracts.task import get_task
    from complexity_bench.engine.training import train_run

    task = get_task("modadd-mlp")
    return train_run(task, task.variants("smoke")[0])


@pytest.fixture
def modadd_smoke_run(_modadd_smoke_trained):
    """modadd-mlp's smoke run (300 steps, seed 0), trained once per session (training is
    bitwise deterministic: tests/test_store.py); each test gets its own deep copy, so a
    test that changes its run changes no other test's."""
    return copy.deepcopy(_modadd_smoke_trained)
