import os

import pytest
import torch

from complexity_bench.measure import MEASURES
from complexity_bench.task import TASKS

# One thread per test process: the CI box has 2 cores, and oversubscribed
# torch threads spin-wait (measured 80x slower on a busy 2-core machine).
torch.set_num_threads(1)
os.environ.setdefault("OMP_NUM_THREADS", "1")


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
