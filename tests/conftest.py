import os

import pytest
import torch

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
