"""The run store: trained runs and measure values on disk, safe to kill at any moment.

Layout under ``<out>/store/``::

    runs/<run_id>.pt                  metrics + checkpoints of one run (torch.save)
    values/<run_id>/<measure>@<version>.json   one measure's values on one run

- Content-addressed: a run id hashes (task, task version, params, seed), a
  values file is keyed by measure name and version, so a changed task or
  measure version is recomputed, never confused with the old one.
- Atomic: every file is written to a temporary name, fsynced, then renamed, so
  a SIGKILL leaves either the old state or the new one, never half a file.
- Checked: each file has a ``.sha256`` sidecar written after it; a file whose
  sidecar is missing or disagrees is treated as absent (recomputed), with a
  warning, never trusted and never fatal.
- Locked: :func:`lock_output` holds an exclusive lock on the output folder for
  the whole invocation, so two runs cannot interleave writes.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import torch

from .errors import UserError
from .task import Task, Variant
from .training import RunResult, compute_events


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_checked(path: Path, data: bytes) -> None:
    """Write ``data`` then its checksum sidecar (the sidecar marks the file complete)."""
    sidecar = path.with_name(path.name + ".sha256")
    if sidecar.exists():
        sidecar.unlink()  # a crash between the two writes must not pair new data with an old sum
    atomic_write(path, data)
    atomic_write(sidecar, _sha256(data).encode())


def read_checked(path: Path) -> bytes | None:
    """The file's bytes if present and intact, else None (with a warning when corrupt)."""
    sidecar = path.with_name(path.name + ".sha256")
    if not path.exists():
        return None
    if not sidecar.exists():
        warnings.warn(f"{path}: no checksum (interrupted write?); recomputing", stacklevel=2)
        return None
    data = path.read_bytes()
    if _sha256(data) != sidecar.read_text().strip():
        warnings.warn(f"{path}: checksum mismatch (corrupted or truncated); recomputing", stacklevel=2)
        return None
    return data


class RunStore:
    def __init__(self, root: Path | str):
        self.root = Path(root)

    # -- runs --------------------------------------------------------------
    def run_path(self, run_id: str) -> Path:
        return self.root / "runs" / f"{run_id}.pt"

    def save_run(self, result: RunResult) -> None:
        steps = sorted(result.checkpoints)
        names = list(result.checkpoints[steps[0]])
        payload = {
            "variant": {"task": result.variant.task, "params": list(result.variant.params),
                        "seed": result.variant.seed, "task_version": result.variant.task_version},
            "metrics": result.metrics,
            "checkpoint_steps": steps,
            # one stacked tensor per parameter: compact, and one torch.save call
            "states": {n: torch.stack([result.checkpoints[s][n] for s in steps]) for n in names},
            "seconds": result.seconds,
            "engine": result.engine,
            "device": result.device,
        }
        buf = io.BytesIO()
        torch.save(payload, buf)
        write_checked(self.run_path(result.variant.run_id), buf.getvalue())

    def load_run(self, variant: Variant, task: Task) -> RunResult | None:
        """The stored run of ``variant`` (of ``task``, whose threshold sets its events); None when absent or corrupt."""
        data = read_checked(self.run_path(variant.run_id))
        if data is None:
            return None
        payload = torch.load(io.BytesIO(data), weights_only=False)
        steps = payload["checkpoint_steps"]
        checkpoints = {s: {n: t[i] for n, t in payload["states"].items()} for i, s in enumerate(steps)}
        return RunResult(variant, payload["metrics"], checkpoints, payload["seconds"], payload["engine"],
                         events=compute_events(task, variant, payload["metrics"]),
                         device=payload.get("device", "cpu"))  # runs stored before devices existed trained on the CPU

    # -- measure values ----------------------------------------------------
    def values_path(self, run_id: str, measure: str, version: str) -> Path:
        return self.root / "values" / run_id / f"{measure}@{version}.json"

    def has_values(self, run_id: str, measure: str, version: str) -> bool:
        """True when an intact values file exists (small files: the checksum is verified)."""
        return self.load_values(run_id, measure, version) is not None

    def save_values(self, run_id: str, measure: str, version: str, rows: list[dict[str, Any]]) -> None:
        """rows: dicts with step, measure (name or name/key), value, seconds, error."""
        data = json.dumps({"measure": measure, "version": version, "rows": rows}, allow_nan=True).encode()
        write_checked(self.values_path(run_id, measure, version), data)

    def load_values(self, run_id: str, measure: str, version: str) -> list[dict[str, Any]] | None:
        data = read_checked(self.values_path(run_id, measure, version))
        return None if data is None else json.loads(data)["rows"]


@contextmanager
def lock_output(out: Path) -> Iterator[None]:
    """Exclusive lock on an output folder; a second invocation fails with one clear line."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"output folder {str(out)!r} is not writable ({exc.strerror}); choose another with --out") from exc
    fh = open(out / ".lock", "a+")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise UserError(f"another complexity_bench process is using {str(out)!r}; wait for it or use another --out") from None
    try:
        yield
    finally:
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()
