"""complexity_bench.engine.allocator: the thresholds are applied, once. (How many page faults they
save is machine behaviour, measured in tests/benchmarks/test_allocator_faults.py.)"""

from __future__ import annotations

import platform
import sys

import pytest

from complexity_bench.engine.allocator import keep_freed_memory


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                    reason="glibc's mallopt only")
def test_glibc_accepts_both_thresholds():
    assert keep_freed_memory() is True  # mallopt returns 0 for an unknown parameter or value


def test_idempotent():
    first = keep_freed_memory()
    assert keep_freed_memory() == first
