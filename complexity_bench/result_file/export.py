"""``export DIR --measure NAME``: one measure's values on a results folder's runs, as one result file."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from complexity_bench.errors import UserError
from complexity_bench.result_file.document import FORMAT, FORMAT_VERSION, json_number, seal
from complexity_bench.result_file.provenance import computed, this_machine

# runs.csv columns that are not a run's hyperparameters (events, bookkeeping)
RUN_COLUMNS = ("run_id", "task", "task_version", "seed", "t_mem", "t_gen", "censored", "delay", "budget",
               "last_step", "threshold", "axes", "train_seconds", "engine", "device")


def plain(x: Any) -> Any:
    """A JSON value for a table cell: numpy scalars as Python ones, NaN as None, whole floats as ints."""
    if hasattr(x, "item"):
        x = x.item()
    if isinstance(x, float):
        return None if not math.isfinite(x) else (int(x) if x.is_integer() else x)
    return x


def version_text(x: Any) -> str:
    """A version as text, however the CSV reader typed it (3, 3.0 and "3" are "3")."""
    return str(plain(x))


def suite_version(runs: list[dict[str, Any]]) -> str:
    """The suite's fingerprint: sha256 over its sorted run ids with their task and task version
    (two folders with the same fingerprint trained the same runs of the same task versions)."""
    keys = sorted(f"{r['run_id']} {r['task']} {r['task_version']}" for r in runs)
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]


def run_entries(runs: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for r in runs.to_dict("records"):
        params = {k: plain(v) for k, v in r.items() if k not in RUN_COLUMNS and plain(v) is not None}
        out.append({"run_id": str(r["run_id"]), "task": str(r["task"]), "task_version": version_text(r.get("task_version")),
                    "seed": int(r.get("seed", 0)), "params": params, "t_mem": json_number(r["t_mem"]),
                    "t_gen": json_number(r["t_gen"]), "censored": bool(r["censored"]), "budget": float(r["budget"]),
                    "device": None if plain(r.get("device")) is None else str(r["device"])})
    return out


def measure_rows(measures: pd.DataFrame, name: str) -> pd.DataFrame:
    """The measures.csv rows of measure ``name`` (itself or its sub-measures)."""
    parent = measures["parent"].astype(str) if "parent" in measures else measures["measure"].astype(str)
    rows = measures[parent == name]
    if rows.empty:
        known = sorted(set(parent))
        raise UserError(f"measure {name!r} is not in this results folder (it has: {', '.join(known)})")
    return rows


def build_document(results_dir: Path, name: str) -> dict[str, Any]:
    from complexity_bench.pipeline.outputs import read_frames
    from complexity_bench.pipeline.results_files import read_manifest
    from complexity_bench.scoring import PROTOCOL_VERSION

    frames = read_frames(results_dir)
    manifest = read_manifest(results_dir)
    rows = measure_rows(frames.measures, name)
    table = [{k: plain(v) for k, v in r.items()} for r in rows.to_dict("records")]
    for r in table:
        r.setdefault("parent", name)
        r["measure_version"] = version_text(r.get("measure_version", manifest.get("measures", {}).get(name, "1")))
    values = frames.traces[frames.traces["measure"].astype(str).isin(set(rows["measure"].astype(str)))]
    if values.empty:
        raise UserError(f"measure {name!r} has no values in {results_dir / 'traces.parquet'}")
    runs = run_entries(frames.runs)
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "measure": {"name": name, "version": table[0]["measure_version"], "direction": int(table[0]["direction"]),
                    "table": table},
        "suite": {"name": str(manifest.get("suite") or manifest.get("source") or "unknown"),
                  "version": suite_version(runs),
                  "protocol_version": str(manifest.get("protocol_version") or PROTOCOL_VERSION),
                  "tasks": {r["task"]: r["task_version"] for r in runs}},
        "runs": runs,
        "values": [{"run_id": str(v.run_id), "step": int(v.step), "measure": str(v.measure),
                    "value": json_number(v.value), "seconds": json_number(getattr(v, "seconds", None)),
                    "error": str(v.error) if isinstance(getattr(v, "error", None), str) and v.error else None}
                   for v in values.itertuples(index=False)],
        "provenance": {"computed": computed(manifest), "exported": this_machine()},
    }
    return seal(doc)


def export_measure(results_dir: str | Path, name: str, out: str | Path | None = None) -> Path:
    """Write measure ``name``'s result file from ``results_dir``; returns its path.

    ``out`` defaults to ``<name>.result.json`` in the current folder; an existing
    file is never overwritten."""
    results_dir = Path(results_dir)
    if not (results_dir / "runs.csv").exists():
        raise UserError(f"{results_dir} is not a results folder (no runs.csv)")
    out = Path(out) if out is not None else Path(f"{name.replace('/', '_')}.result.json")
    if out.exists():
        raise UserError(f"{out} exists; remove it or pass another --out")
    doc = build_document(results_dir, name)
    from complexity_bench.pipeline.store import atomic_write

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(out, json.dumps(doc, indent=1, allow_nan=False).encode())
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror}") from exc
    return out
