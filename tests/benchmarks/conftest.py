"""The benchmark suite runs only when asked for:

    python -m pytest tests/benchmarks --benchmark-enable            # time and print a table
    python -m pytest tests/benchmarks --benchmark-enable --benchmark-autosave   # store as a run
    python -m pytest tests/benchmarks --benchmark-enable --benchmark-compare    # against the last stored run

The project's default options include ``--benchmark-disable``; then these tests
are skipped. Most time things without checking them; the few that check
machine behaviour (cost tiers in test_cost_tiers.py, page faults in
test_allocator_faults.py) live here because a busy or different machine could
fail them for no fault of the code.
"""

from __future__ import annotations

import pytest
import torch


def pytest_collection_modifyitems(config, items):
    if config.getoption("benchmark_enable", False):
        return
    skip = pytest.mark.skip(reason="benchmarks run with --benchmark-enable (tests/benchmarks/conftest.py)")
    for item in items:
        if "benchmarks" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread, flushed denormals: the conditions the suite trains under."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    yield
    torch.set_num_threads(threads)
