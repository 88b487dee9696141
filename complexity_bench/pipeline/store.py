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
  warning, never trusted and never fatal. The checksum guards against accidents,
  not against anyone who can write the folder.
- Data, never code: run files are read with ``torch.load(weights_only=True)``
  (tensors and plain containers only; a pickle that would call anything is
  refused) and values files are JSON. A file that does not load into the
  expected structure is corrupt: warned about and recomputed, like a bad checksum.
- Confined: file names are built only from names checked by
  ``registry.check_path_name`` (task and measure names, measure versions, run
  ids), so nothing is written outside the store's folder.
- Locked: :func:`lock_output` holds an exclusive lock on the output folder for
  the whole invocation (``run`` and ``score``), so two cannot interleave writes.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import math
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

import torch

from complexity_bench.errors import UserError
from complexity_bench.contracts.registry import check_path_name
from complexity_bench.contracts.task import Task, Variant
from complexity_bench.engine.training import METRIC_COLUMNS, RunResult, compute_events


class WriteFailed(UserError):
    """A file could not be written (disk full, read-only folder, no permission)."""

    @classmethod
    def of(cls, path: Path, exc: OSError) -> "WriteFailed":
        return cls(f"cannot write {str(path)!r}: {exc.strerror or type(exc).__name__}; nothing half-written is "
                   "left behind (free some space, or write to another folder), then re-run: finished work is kept")


class CorruptFile(ValueError):
    """A stored file that does not hold the expected structure."""


def _expect(ok: bool, what: str) -> None:
    if not ok:
        raise CorruptFile(what)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` all or nothing (:func:`atomic_write_files` of one file)."""
    atomic_write_files({Path(path): data})


def atomic_write_files(files: Mapping[Path, bytes]) -> None:
    """Write every ``{path: data}`` all or nothing: each to a temporary file beside it,
    fsynced; only when all are written are they renamed over their paths. The one way
    this package writes a file.

    Whatever goes wrong (a full disk, a read-only or vanished folder, an interrupt), the
    temporary files are removed and no path changes, unless the failure falls among the
    renames (which need no space); a failing write is a :class:`WriteFailed` (a UserError:
    one line naming the file), not a traceback."""
    written: list[tuple[Path, Path]] = []
    path = Path()
    try:
        for path, data in files.items():
            path = Path(path)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            path.parent.mkdir(parents=True, exist_ok=True)
            written.append((tmp, path))
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        for tmp, path in written:
            os.replace(tmp, path)
    except BaseException as exc:
        for tmp, _ in written:
            try:
                tmp.unlink()
            except OSError:  # never created, already renamed, or the folder is gone
                pass
        if isinstance(exc, OSError):
            raise WriteFailed.of(path, exc) from exc
        raise


def write_checked(path: Path, data: bytes) -> None:
    """Write ``data`` then its checksum sidecar (the sidecar marks the file complete)."""
    sidecar = path.with_name(path.name + ".sha256")
    if sidecar.exists():
        try:
            sidecar.unlink()  # a crash between the two writes must not pair new data with an old sum
        except OSError as exc:
            raise WriteFailed.of(sidecar, exc) from exc
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
        return self.root / "runs" / f"{check_path_name('run id', run_id)}.pt"

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
        try:
            # weights_only: tensors and plain containers; a pickle that calls anything is refused
            payload = torch.load(io.BytesIO(data), weights_only=True)
            return _run_from_payload(payload, variant, task)
        except Exception as exc:  # whatever the bytes are, a bad file means "recompute", never a crash
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
            warnings.warn(f"{self.run_path(variant.run_id)}: not a valid run file ({type(exc).__name__}: {first}); "
                          "recomputing", stacklevel=2)
            return None

    # -- measure values ----------------------------------------------------
    def values_path(self, run_id: str, measure: str, version: str) -> Path:
        return (self.root / "values" / check_path_name("run id", run_id)
                / f"{check_path_name('measure name', measure)}@{check_path_name('measure version', version)}.json")

    def has_values(self, run_id: str, measure: str, version: str) -> bool:
        """True when an intact values file exists (small files: the checksum is verified)."""
        return self.load_values(run_id, measure, version) is not None

    def save_values(self, run_id: str, measure: str, version: str, rows: list[dict[str, Any]]) -> None:
        """rows: dicts with step, measure (name or name/key), value, seconds, error."""
        data = json.dumps({"measure": measure, "version": version, "rows": rows}, allow_nan=True).encode()
        write_checked(self.values_path(run_id, measure, version), data)

    def load_values(self, run_id: str, measure: str, version: str) -> list[dict[str, Any]] | None:
        path = self.values_path(run_id, measure, version)
        data = read_checked(path)
        if data is None:
            return None
        try:
            return _rows_from_payload(json.loads(data), measure, version)
        except (ValueError, RecursionError) as exc:  # JSON errors and CorruptFile are ValueErrors
            warnings.warn(f"{path}: not a valid values file ({type(exc).__name__}: {exc}); recomputing", stacklevel=2)
            return None


def _run_from_payload(payload: Any, variant: Variant, task: Task) -> RunResult:
    """The RunResult a run file holds, checked field by field against ``variant`` and its model."""
    _expect(isinstance(payload, dict), "not a dict")
    _expect(set(payload) >= {"variant", "metrics", "checkpoint_steps", "states", "seconds", "engine"},
            "fields missing")
    stored = payload["variant"]
    expected = {"task": variant.task, "params": list(variant.params), "seed": variant.seed,
                "task_version": variant.task_version}
    _expect(isinstance(stored, dict) and {k: stored.get(k) for k in expected} == expected, "holds another run")
    metrics = payload["metrics"]
    _expect(isinstance(metrics, dict) and set(metrics) >= {"step", *METRIC_COLUMNS}, "metrics missing")
    n = len(metrics["step"]) if isinstance(metrics["step"], list) else 0
    _expect(n > 0 and all(isinstance(metrics[c], list) and len(metrics[c]) == n for c in ("step", *METRIC_COLUMNS)),
            "metrics of unequal length")
    _expect(all(isinstance(v, int) and not isinstance(v, bool) for v in metrics["step"]), "steps not integers")
    _expect(all(isinstance(v, (int, float)) for c in METRIC_COLUMNS for v in metrics[c]), "metrics not numbers")
    steps = payload["checkpoint_steps"]
    _expect(isinstance(steps, list) and len(steps) > 0 and all(isinstance(s, int) for s in steps)
            and steps == sorted(set(steps)), "checkpoint steps not increasing integers")
    shapes = {k: tuple(v.shape) for k, v in
              task.make_model(variant.param_dict, variant.seed).state_dict().items()}
    states = payload["states"]
    _expect(isinstance(states, dict) and set(states) == set(shapes), "weights of another model")
    for name, t in states.items():
        _expect(isinstance(t, torch.Tensor) and tuple(t.shape) == (len(steps), *shapes[name])
                and t.dtype.is_floating_point, f"weights {name!r} of the wrong shape or type")
    _expect(isinstance(payload["seconds"], (int, float)) and isinstance(payload["engine"], str), "bad timing fields")
    checkpoints = {s: {k: t[i] for k, t in states.items()} for i, s in enumerate(steps)}
    device = payload.get("device", "cpu")  # runs stored before devices existed trained on the CPU
    _expect(isinstance(device, str), "bad device field")
    return RunResult(variant, metrics, checkpoints, float(payload["seconds"]), payload["engine"],
                     events=compute_events(task, variant, metrics), device=device)


def _rows_from_payload(payload: Any, measure: str, version: str) -> list[dict[str, Any]]:
    """The rows a values file holds, checked: one dict per value, of the right measure."""
    _expect(isinstance(payload, dict) and payload.get("measure") == measure and payload.get("version") == version,
            "holds another measure")
    rows = payload.get("rows")
    _expect(isinstance(rows, list), "no rows")
    for r in rows:
        _expect(isinstance(r, dict) and set(r) == {"step", "measure", "value", "seconds", "error"}, "bad row")
        _expect(isinstance(r["step"], int) and isinstance(r["error"], str)
                and isinstance(r["measure"], str) and r["measure"].split("/")[0] == measure, "bad row fields")
        _expect(isinstance(r["value"], (int, float)) and isinstance(r["seconds"], (int, float)), "values not numbers")
        _expect(math.isnan(r["value"]) or not r["error"], "a value beside an error")
    return rows


@contextmanager
def lock_output(out: Path, create: bool = True) -> Iterator[None]:
    """Exclusive lock on an output folder (``<out>/.lock``) for ``run`` and ``score``, so
    neither overwrites the other's files; a second invocation fails with one clear line.
    ``create``: make the folder when absent (``run``); else an absent folder is a UserError
    (``score`` reads a folder, and must not leave an empty one behind)."""
    out = Path(out)
    if not create and not out.is_dir():
        raise UserError(f"{str(out)!r} is not a results folder (not a folder); run `run --out {out}` first")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
        fh = open(out / ".lock", "a+")
    except OSError as exc:
        raise UserError(f"folder {str(out)!r} is not writable ({exc.strerror}); choose another "
                        f"{'with --out' if create else 'folder'}") from exc
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise UserError(f"another complexity_bench process is using {str(out)!r}; wait for it"
                        f"{' or use another --out' if create else ''}") from None
    try:
        yield
    finally:
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()
