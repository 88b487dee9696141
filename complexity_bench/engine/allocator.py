"""Keep freed memory in the process's heap while training (glibc's malloc only).

Why: a training step allocates and frees the same few activation-sized buffers
(0.3-1 MB each) every step. By default glibc hands the top of its heap back to the
OS whenever more than a few of those are free there, so the next step gets them
back as fresh, zeroed pages (page faults every step). glibc also raises its own
thresholds after large frees, so how often that happens depends on each process's
heap history; fixed thresholds take that chance out. Measured page faults and step
times, with their commands: docs/performance.md, "Freed memory".

The thresholds change where memory comes from, never a computed value. A process
that trains keeps up to TRIM_BYTES of freed heap instead of returning it. Where
``mallopt`` is absent (not glibc), this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's <malloc.h> parameter numbers
TRIM_BYTES = 256 << 20  # free heap kept before trimming (default: ~2x the largest recent free)
MMAP_BYTES = 32 << 20  # blocks from the heap up to this size (glibc's own dynamic upper limit)

_done = False


def keep_freed_memory() -> bool:
    """Raise glibc's trim and mmap thresholds once per process; True if applied."""
    global _done
    if _done:
        return True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    _done = bool(mallopt(M_TRIM_THRESHOLD, TRIM_BYTES)) and bool(mallopt(M_MMAP_THRESHOLD, MMAP_BYTES))
    return _done
