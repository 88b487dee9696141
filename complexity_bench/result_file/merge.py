"""``merge FILE... --out DIR``: result files scored together with a reference results folder.

A result file joins the reference only when it was computed on the same
benchmark: the same protocol version, suite (name and fingerprint), task
versions, runs and run events (T_mem, T_gen, censoring, budget), with values at
the reference's checkpoints, for a measure neither the reference nor another
file already has. Otherwise it is refused with the reason. The merged folder
holds the reference's runs and curves, the reference's and the files' values,
and is scored by the same path as ``score DIR``, so every measure is scored on
the same bootstrap replicates.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from complexity_bench.errors import UserError
from complexity_bench.engine.training import METRIC_COLUMNS
from complexity_bench.result_file.export import run_entries, suite_version, version_text
from complexity_bench.result_file.validate import read_valid
from complexity_bench.scoring.config import DEFAULT_N_BOOT

EVENTS = ("t_mem", "t_gen", "censored", "budget")


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b)
    return math.isclose(float(a), float(b), rel_tol=0, abs_tol=0)


class Reference:
    """The reference results folder, read and checked once, in the terms a result file uses."""

    def __init__(self, folder: Path):
        from complexity_bench.pipeline.outputs import read_frames
        from complexity_bench.pipeline.results_files import read_manifest
        from complexity_bench.scoring import PROTOCOL_VERSION

        self.folder = folder
        self.frames = read_frames(folder)
        self.manifest = read_manifest(folder)
        self.runs = {r["run_id"]: r for r in run_entries(self.frames.runs)}
        self.suite = str(self.manifest.get("suite") or self.manifest.get("source") or "unknown")
        self.suite_version = suite_version(list(self.runs.values()))
        self.protocol_version = str(self.manifest.get("protocol_version") or PROTOCOL_VERSION)
        self.tasks = {r["task"]: r["task_version"] for r in self.runs.values()}
        m = self.frames.measures
        self.measures = set(m["parent"].astype(str) if "parent" in m else m["measure"].astype(str))
        t = self.frames.traces
        self.at_checkpoints = t.drop_duplicates(["run_id", "step"])[["run_id", "step", *METRIC_COLUMNS]]

    def refusal(self, doc: dict[str, Any], taken: dict[str, str]) -> str | None:
        """Why ``doc`` cannot be scored with this reference (None: it can); ``taken``: measure -> file
        of the files accepted so far."""
        suite, name = doc["suite"], doc["measure"]["name"]
        if suite["protocol_version"] != self.protocol_version:
            return (f"protocol version {suite['protocol_version']}, the reference's is {self.protocol_version}: "
                    "its events and scores follow another protocol")
        if suite["name"] != self.suite:
            return f"suite {suite['name']!r}, the reference is suite {self.suite!r}"
        for task, version in sorted(suite["tasks"].items()):
            if task not in self.tasks:
                return f"task {task!r} is not in the reference"
            if version != self.tasks[task]:
                return f"task {task} version {version}, the reference has version {self.tasks[task]}"
        if name in self.measures:
            return f"measure {name!r} is already in the reference (scores come from one source per measure)"
        if name in taken:
            return f"measure {name!r} is also in {taken[name]}"
        runs = {r["run_id"]: r for r in doc["runs"]}
        missing = sorted(set(self.runs) - set(runs))
        if missing:
            return f"run {missing[0]} of the reference is missing ({len(missing)} runs missing)"
        extra = sorted(set(runs) - set(self.runs))
        if extra:
            return f"run {extra[0]} is not in the reference"
        for run_id, ref in self.runs.items():
            for event in EVENTS:
                if not _same(runs[run_id][event], ref[event]):
                    return (f"run {run_id} has {event} = {runs[run_id][event]}, the reference has {ref[event]}: "
                            "the run trained differently (another machine, library or code)")
        if suite["version"] != self.suite_version:
            return f"suite fingerprint {suite['version']}, the reference's is {self.suite_version}"
        return None

    def traces_of(self, doc: dict[str, Any]) -> pd.DataFrame:
        """The file's values as trace rows with the reference's metrics at each checkpoint."""
        values = pd.DataFrame(doc["values"])
        values["value"] = pd.to_numeric(values["value"]).astype("float64")
        values["seconds"] = pd.to_numeric(values["seconds"]).astype("float64")
        values["error"] = values["error"].fillna("").astype(str)
        rows = values.merge(self.at_checkpoints, on=["run_id", "step"], how="left", indicator=True)
        off = rows[rows["_merge"] == "left_only"]
        if len(off):
            r = off.iloc[0]
            raise UserError(f"run {r.run_id} step {int(r.step)} is not a checkpoint of the reference")
        task = self.frames.runs.set_index("run_id")["task"].astype(str)
        rows.insert(1, "task", rows["run_id"].map(task))
        return rows.drop(columns="_merge")


def _prepare_out(out: Path, reference: Path) -> None:
    if out.resolve() == reference.resolve():
        raise UserError(f"--out {out} is the reference folder; merge writes a new folder")
    if out.exists() and any(out.iterdir()):
        try:
            previous = json.loads((out / "manifest.json").read_text()).get("merged_files")
        except (OSError, ValueError, AttributeError):
            previous = None
        if previous is None:
            raise UserError(f"{out} exists and is not the output of an earlier merge; choose an empty folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {out}: {exc.strerror}") from exc


def merge_files(files: list[str | Path], reference: str | Path, out: str | Path, bootstrap: int = DEFAULT_N_BOOT,
                figures: bool = True) -> dict[str, Any]:
    """Score the result ``files`` together with the ``reference`` folder into ``out``; returns its manifest.

    Every file is checked before anything is written; the first refusal is a
    UserError naming the file and the reason."""
    from complexity_bench.pipeline.outputs import Frames, rescore, write_frames
    from complexity_bench.pipeline.store import atomic_write

    reference, out = Path(reference), Path(out)
    ref = Reference(reference)
    taken: dict[str, str] = {}
    traces, tables, merged = [ref.frames.traces], [ref.frames.measures], []
    for path in files:
        doc = read_valid(path)
        reason = ref.refusal(doc, taken)
        if reason:
            raise UserError(f"{path}: refused: {reason}")
        try:
            traces.append(ref.traces_of(doc))
        except UserError as exc:
            raise UserError(f"{path}: refused: {exc}") from None
        tables.append(pd.DataFrame(doc["measure"]["table"]))
        taken[doc["measure"]["name"]] = str(path)
        merged.append({"file": str(path), "measure": doc["measure"]["name"], "version": doc["measure"]["version"],
                       "sha256": doc["sha256"], "provenance": doc["provenance"]})
    _prepare_out(out, reference)
    measures = pd.concat(tables, ignore_index=True)
    if "measure_version" in measures:
        measures["measure_version"] = measures["measure_version"].map(version_text)
    write_frames(out, Frames(ref.frames.runs, pd.concat(traces, ignore_index=True), ref.frames.curves, measures))
    manifest = {**ref.manifest, "measures": {**ref.manifest.get("measures", {}),
                                             **{m["measure"]: m["version"] for m in merged}},
                "merged_reference": str(reference), "merged_files": merged}
    atomic_write(out / "manifest.json", json.dumps(manifest, indent=2, default=str).encode())
    return rescore(out, bootstrap, figures)
