"""Where a result file's values were computed and who wrote it: code, versions, machine, date."""

from __future__ import annotations

import platform
import re
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

COMPUTED_KEYS = ("package_version", "git_commit", "git_dirty", "torch_version", "python_version", "platform",
                 "date", "device", "engine", "suite", "cpu", "blas")


def cpu_name() -> str:
    """The CPU model as the kernel names it (``/proc/cpuinfo``), else what Python knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def blas() -> dict[str, str]:
    """The BLAS torch and numpy were built with (their results differ with it)."""
    config = torch.__config__.show()  # "... Build settings: BLAS_INFO=mkl, ..., LAPACK_INFO=mkl, ..."
    out = {f"torch_{key.lower()}": value for key, value in re.findall(r"\b(BLAS|LAPACK)_INFO=([^,\s]+)", config)}
    try:
        import numpy

        info = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
        out["numpy_blas"] = f"{info.get('name')} {info.get('version', '')}".strip()
    except Exception:  # numpy < 1.26 has no mode="dicts": the BLAS is then unknown, not an error
        out["numpy_blas"] = "unknown"
    return out


def this_machine() -> dict[str, Any]:
    """The code and machine writing a file now."""
    from complexity_bench import __version__
    from complexity_bench.pipeline.outputs import code_state

    return {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "package_version": __version__,
            **code_state(), "torch_version": torch.__version__, "blas": blas(), "cpu": cpu_name(),
            "python_version": sys.version.split()[0], "platform": platform.platform()}


def computed(manifest: dict[str, Any]) -> dict[str, Any]:
    """What a results folder's manifest recorded about the code and machine that computed it
    (null where it recorded nothing)."""
    return {k: manifest.get(k) for k in COMPUTED_KEYS}
