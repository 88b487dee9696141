"""A Tracker's run as the files a suite run writes, and a folder of such runs as one results folder.

``save_run`` writes ``runs.csv``, ``traces.parquet``, ``curves.parquet``,
``measures.csv`` and ``manifest.json`` for one run (docs/scoring.md gives the
columns; curves are the logged metrics). ``collect_run_folders`` is what
``python -m complexity_bench score my_runs/`` does first when ``my_runs/``
holds run folders: it concatenates their tables into ``my_runs/`` itself,
re-collected on every ``score``, and the suite's scoring takes it from there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from complexity_bench.errors import UserError
from complexity_bench.pipeline.outputs import Frames, frame_files, read_frames
from complexity_bench.pipeline.results_files import read_manifest
from complexity_bench.pipeline.store import atomic_write_files

RUN_FILES = ("runs.csv", "traces.parquet", "curves.parquet", "measures.csv")


def save_run(out: str | Path, frames: Frames, manifest: dict[str, Any]) -> Path:
    """Write one run's frames and manifest into ``out`` (created if needed); returns the folder."""
    out = Path(out)
    _refuse_another_run(out, set(frames.runs["run_id"].astype(str)))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {str(out)!r}: {exc.strerror}") from exc
    atomic_write_files({**frame_files(out, frames),  # all or nothing
                        out / "manifest.json": json.dumps(manifest, indent=2, default=str).encode()})
    return out


def _refuse_another_run(out: Path, run_ids: set[str]) -> None:
    """A UserError when ``out`` holds runs other than ``run_ids`` (another Tracker's save, a
    suite's results): saving would replace them. Saving the same run again (more steps
    logged) replaces its own files."""
    path = out / "runs.csv"
    if not path.exists():
        return
    try:
        held = set(pd.read_csv(path, usecols=["run_id"], dtype=str)["run_id"])
    except Exception:  # unreadable or foreign: not this run's, so not ours to replace
        held = {"(unreadable runs.csv)"}
    if held != run_ids:
        shown = ", ".join(repr(r) for r in sorted(held)[:3]) + (" ..." if len(held) > 3 else "")
        raise UserError(f"{str(out)!r} already holds {'another run' if len(held) == 1 else 'other runs'} ({shown}); "
                        f"save run {', '.join(sorted(run_ids))} into a folder of its own (e.g. one per run under "
                        "a common folder, which `score` collects)")


def run_folders(root: Path) -> list[Path]:
    """Sub-folders of ``root`` (any depth) that hold a run saved by a Tracker, sorted.

    Only a Tracker's saves count (their manifest says so): a suite's results folder
    below ``root`` (``score .`` next to ``results/``) is not a run to merge."""
    return sorted(p.parent for p in Path(root).glob("*/**/runs.csv")
                  if all((p.parent / f).exists() for f in RUN_FILES) and _saved_by_tracker(p.parent))


def _saved_by_tracker(folder: Path) -> bool:
    try:
        return json.loads((folder / "manifest.json").read_text()).get("source") == "Tracker"
    except (OSError, ValueError, AttributeError):
        return False


def collect_run_folders(root: str | Path) -> int:
    """Concatenate the saved runs under ``root`` into ``root``'s own tables; returns how many runs.

    Returns 0 and writes nothing when ``root`` holds no run folders (a suite
    results folder). Run ids must be unique across folders, and a measure must
    have the same version and direction in every run.
    """
    root = Path(root)
    folders = run_folders(root) if root.is_dir() else []
    if not folders:
        return 0
    parts = [read_frames(f) for f in folders]
    runs = pd.concat([p.runs for p in parts], ignore_index=True)
    dup = runs["run_id"][runs["run_id"].duplicated()]
    if len(dup):
        where = [str(f) for f, p in zip(folders, parts) if dup.iloc[0] in set(p.runs["run_id"])]
        raise UserError(f"run id {dup.iloc[0]!r} is in {' and '.join(where)}; give each Tracker its own run_id")
    measures = pd.concat([p.measures.assign(_folder=str(f)) for f, p in zip(folders, parts)], ignore_index=True)
    _check_same_metadata(measures)
    merged = Frames(
        runs=runs,
        traces=pd.concat([p.traces for p in parts], ignore_index=True),
        curves=pd.concat([p.curves for p in parts], ignore_index=True),
        measures=measures.drop_duplicates("measure").drop(columns="_folder").reset_index(drop=True),
    )
    manifest_path = root / "manifest.json"
    manifest = read_manifest(root)  # checked: a broken one is a UserError naming it
    manifest.update(collected_from=[str(f.relative_to(root)) for f in folders], runs=len(runs))
    atomic_write_files({**frame_files(root, merged), manifest_path: json.dumps(manifest, indent=2).encode()})
    return len(runs)


def _check_same_metadata(measures: pd.DataFrame) -> None:
    for name, g in measures.groupby("measure"):
        for col in ("measure_version", "direction"):
            if col in g and g[col].astype(str).nunique() > 1:
                first, other = g.drop_duplicates(col).iloc[:2]["_folder"]
                raise UserError(f"measure {name!r} has a different {col} in {first} and {other}; "
                                "score runs of one measure version together")
