"""The same floating-point results on every x86-64 CPU (README, "Reproducibility").

torch's CPU matrix products run in Intel MKL, which picks a code path for the
CPU it finds: on an AVX-512 Intel Xeon it sums in a different order than on an
AMD EPYC, and SGD amplifies the last-bit differences until a run's events move
(docs/performance.md, "Reproducibility across CPUs", has the measurements). MKL's
conditional numerical reproducibility mode ``MKL_CBWR=COMPATIBLE`` runs one code
path on every x86-64 CPU. MKL reads the variable once, at its first call (not when
torch is imported), so the command line sets it first thing (``cli.main``), and every
worker process before its first computation (``executors.init_worker``); spawned
workers also inherit it. A value already in the environment is kept: ``MKL_CBWR=AUTO``
(or an empty value) opts out, for speed, of the reproducibility.

Library use (the Tracker, ``compute``) leaves MKL as torch sets it: the user's own
training would pay the cost too, up to several times the time of a matrix-heavy net on
an AVX-512 CPU (``bench``'s ``mkl_cbwr_slowdown``). ``mkl_cbwr()`` says what MKL
actually runs with; ``run`` records it in ``manifest.json`` and says when it is not
the compatible path.

This module imports nothing heavy at import time.
"""

from __future__ import annotations

import os

ENV = "MKL_CBWR"
MODE = "COMPATIBLE"
# MKL's branch codes (mkl_cbwr.h); MKL_CBWR_BRANCH_OFF means "no CNR: the CPU's own path"
_BRANCHES = {1: "OFF", 2: "AUTO", 3: "COMPATIBLE", 4: "SSE2", 6: "SSSE3", 7: "SSE4_1", 8: "SSE4_2", 9: "AVX",
             10: "AVX2", 11: "AVX512_MIC", 12: "AVX512", 13: "AVX512_MIC_E1", 14: "AVX512_E1"}
_STRICT = 0x10000
_ALL = 0xFFFFFFFF  # MKL_CBWR_ALL: the branch and the STRICT flag together


def pin_mkl() -> None:
    """Ask MKL for its CPU-independent code path, unless the environment already names one."""
    os.environ.setdefault(ENV, MODE)


def mkl_cbwr() -> str | None:
    """The code path MKL runs in this process ("COMPATIBLE", "OFF", "AVX2", ...; ",STRICT"
    appended when set), or None when this torch has no MKL (not x86-64, or another BLAS).
    Asking initialises MKL's setting: call it after :func:`pin_mkl`."""
    import ctypes

    import torch

    try:
        lib = ctypes.CDLL(os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so"))
        get = lib.mkl_serv_cbwr_get
    except (OSError, AttributeError):
        return None
    get.restype, get.argtypes = ctypes.c_int, [ctypes.c_int]
    code = get(ctypes.c_int(_ALL).value) & _ALL
    name = _BRANCHES.get(code & 0xFFFF, f"code {code & 0xFFFF}")
    return name + (",STRICT" if code & _STRICT else "")


def cpu_model() -> str:
    """The CPU's model name as /proc/cpuinfo gives it (the platform's name elsewhere)."""
    import platform

    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def numerics_state() -> dict[str, str | None]:
    """What decides this process's float results on the CPU: the CPU, MKL's code path and
    ATen's vector instruction set (``ATEN_CPU_CAPABILITY``)."""
    import torch

    return {"cpu": cpu_model(), "mkl_cbwr": mkl_cbwr(), "aten_cpu_capability": torch.backends.cpu.get_cpu_capability()}


# "No variance" means no variance beyond numerical noise. Measures are float32 (machine
# epsilon 1.2e-7), and a value computed through sums, means and decompositions over
# hundreds of terms carries rounding of up to ~100 epsilon relative to its size; a real
# change over training is orders of magnitude larger. One relative tolerance, used by
# every score and by the Tracker's warning (docs/scoring.md, "Undefined scores").
NOISE_RTOL = 1e-5


def within_noise(spread, scale):
    """True (elementwise) where ``spread`` (a range or a standard deviation of some values)
    is within numerical noise of ``scale`` (the values' largest magnitude)."""
    return spread <= NOISE_RTOL * scale


def no_variance(*arrays) -> bool:
    """True when the finite values, taken together, are constant up to numerical noise (or
    there are none): a score or an early-warning progress computed from them would only
    measure rounding."""
    import numpy as np

    v = np.concatenate([np.ravel(np.asarray(a, float)) for a in arrays]) if arrays else np.zeros(0)
    v = v[np.isfinite(v)]
    return v.size == 0 or bool(within_noise(np.ptp(v), np.abs(v).max()))


def reproducibility_note() -> str | None:
    """A one-line note when MKL does not run its CPU-independent path in this process (the
    user set ``MKL_CBWR`` otherwise, or MKL ran before the package was imported), else None."""
    path = mkl_cbwr()
    if path is None or path.split(",")[0] == MODE:
        return None
    why = (f"MKL computed in this process before {ENV} was set" if os.environ.get(ENV) == MODE
           else f"{ENV}={os.environ.get(ENV, '')!r}")
    return (f"note: MKL runs its {path} code path here, not {MODE} ({why}): float results, and so events, may "
            f"differ from the committed results, from other CPUs and between --workers 1 and more")
