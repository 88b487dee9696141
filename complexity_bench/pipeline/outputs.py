"""From the run store to the files a person reads.

- ``runs.csv``: one row per run (task, hyperparameters, seed, engine, device, T_mem, T_gen,
  censored, delay).
- ``traces.parquet``: long format, one row per (run, checkpoint, measure).
- ``curves.parquet``: the dense train/test loss and accuracy of every run.
- ``measures.csv``: metadata of every measure (and sub-measure) scored.
- ``leaderboard.csv``, ``leaderboard_by_task.csv``: the scores and ranks (scoring/);
  ``pairwise.csv``: P(measure A beats measure B) per scope and headline score.
- ``figures/``: PNGs; ``manifest.json``: versions, seeds, wall time.

``rescore(dir)`` redoes the last three from the first four, without training.
"""

from __future__ import annotations

import json
import platform
from datetime import datetime, timezone
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from complexity_bench.errors import UserError
from complexity_bench.pipeline.plan import Plan, RunConfig
from complexity_bench.numerics import numerics_state
from complexity_bench.pipeline.store import RunStore, atomic_write_files
from complexity_bench.contracts.task import get_task
from complexity_bench.engine.training import METRIC_COLUMNS
from complexity_bench.scoring.config import DEFAULT_N_BOOT



@dataclass
class Frames:
    runs: pd.DataFrame
    traces: pd.DataFrame
    curves: pd.DataFrame
    measures: pd.DataFrame


def assemble(plan: Plan, store: RunStore) -> Frames:
    run_rows, trace_rows, curve_frames = [], [], []
    for task_name, variants in plan.variants.items():
        task = get_task(task_name)
        for v in variants:
            result = store.load_run(v, task)
            if result is None:
                raise UserError(f"run {v.run_id} is missing from the store after training; re-run the command")
            ev = result.events
            run_rows.append({
                "run_id": v.run_id, "task": task_name, "task_version": v.task_version, "seed": v.seed,
                **v.param_dict,
                "t_mem": ev.t_mem, "t_gen": ev.t_gen, "censored": ev.censored, "delay": ev.delay,
                "t_spike": ev.t_spike, "t_collapse": ev.t_collapse, "budget": ev.budget, "last_step": result.metrics["step"][-1], "threshold": task.threshold,
                "axes": "+".join(task.axes), "train_seconds": result.seconds, "engine": result.engine,
                "device": result.device,
            })
            curve = pd.DataFrame(result.metrics)
            curve.insert(0, "run_id", v.run_id)
            curve_frames.append(curve)
            at = curve.set_index("step")
            for m in plan.measures:
                rows = store.load_values(v.run_id, m.name, m.info.version)
                if rows is None:
                    raise UserError(f"values of {m.name} on run {v.run_id} are missing or corrupt; re-run the command")
                for r in rows:
                    trace_rows.append({"run_id": v.run_id, "task": task_name, **r,
                                       **{c: float(at.at[r["step"], c]) for c in METRIC_COLUMNS}})
    runs = pd.DataFrame(run_rows)
    for col in ("t_mem", "t_gen", "t_spike", "t_collapse"):
        runs[col] = runs[col].astype("float64")  # None -> NaN
    traces = pd.DataFrame(trace_rows, columns=["run_id", "task", "step", "measure", "value", "seconds", "error",
                                               *METRIC_COLUMNS])
    return Frames(runs, traces, pd.concat(curve_frames, ignore_index=True), measure_table(plan.measures, traces))


def measure_table(measures: list, traces: pd.DataFrame) -> pd.DataFrame:
    """One row per scored name; a sub-measure ``name/key`` inherits its parent's metadata."""
    rows = []
    for m in measures:
        subs = sorted(set(traces.loc[traces["measure"].str.split("/").str[0] == m.name, "measure"])) or [m.name]
        for full in subs:
            rows.append({"measure": full, "parent": m.name, **m.info.as_row(),
                         "reference": m.info.reference, "description": m.info.description})
    return pd.DataFrame(rows)


def measure_time_rows(traces: pd.DataFrame) -> pd.DataFrame:
    """One row per compute() call, with its ``parent`` measure: a dict-valued measure's time
    is repeated on each sub-measure row, so keep one row per (run, step, parent)."""
    parent = traces["measure"].str.split("/").str[0]
    return traces.assign(parent=parent).drop_duplicates(["run_id", "step", "parent"])


def measure_seconds_total(traces: pd.DataFrame) -> float:
    """Sum of compute() times, each call counted once (:func:`measure_time_rows`)."""
    return float(measure_time_rows(traces)["seconds"].sum())


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def code_state() -> dict[str, Any]:
    """The code a run starts from: ``git_commit`` (HEAD, or "unknown" outside a checkout) and
    ``git_dirty`` (tracked files differ from HEAD; None when unknown). Taken when ``run``
    starts, not when it ends: a long run's code is the code it imported, whatever is
    committed while it works."""
    head = (_git("rev-parse", "HEAD") or "").strip() or "unknown"
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": head, "git_dirty": None if status is None else bool(status.strip())}


def frame_files(out: Path, frames: Frames) -> dict[Path, bytes]:
    """{path: bytes} of the four tables in folder ``out``."""
    return {out / "runs.csv": _csv_bytes(frames.runs), out / "measures.csv": _csv_bytes(frames.measures),
            out / "traces.parquet": _parquet_bytes(frames.traces), out / "curves.parquet": _parquet_bytes(frames.curves)}


def write_frames(out: Path, frames: Frames) -> None:
    """The four tables, all or nothing (a full disk leaves the old ones, see ``atomic_write_files``)."""
    atomic_write_files(frame_files(out, frames))


def read_frames(out: Path) -> Frames:
    """The four tables of a results folder, checked (results_files.py): a broken file is a UserError."""
    from complexity_bench.pipeline.results_files import read_results

    return Frames(*read_results(out))


def score_and_write(out: Path, frames: Frames, bootstrap: int = DEFAULT_N_BOOT, figures: bool = True,
                    pending: dict[Path, bytes] | None = None) -> dict[str, Any]:
    """Score ``frames`` and write the figures, then the score tables: into ``pending`` when
    given (the caller writes them, all or nothing, with its other files), else now."""
    from complexity_bench.scoring import PROTOCOL_VERSION, ScoreConfig, score

    tables = score(frames.runs, frames.traces, frames.measures, ScoreConfig(n_boot=bootstrap))
    if figures:
        from complexity_bench.figures import write_figures

        write_figures(frames.runs, frames.traces, tables, out / "figures", curves=frames.curves)
    files = {out / "leaderboard.csv": _csv_bytes(tables.leaderboard),
             out / "leaderboard_by_task.csv": _csv_bytes(tables.by_task), out / "pairwise.csv": _csv_bytes(tables.pairwise)}
    if pending is None:
        atomic_write_files(files)
    else:
        pending.update(files)
    return {"leaderboard_rows": len(tables.leaderboard), "by_task_rows": len(tables.by_task),
            "protocol_version": PROTOCOL_VERSION}


def write_all(out: Path, frames: Frames, plan: Plan, cfg: RunConfig, outcomes: list, wall_seconds: float,
              code: dict[str, Any] | None = None) -> dict:
    """Write the tables, scores, figures and manifest; ``code`` is :func:`code_state` from the run's start."""
    pending = frame_files(out, frames)  # written with the scores and the manifest, all or nothing
    scored = score_and_write(out, frames, cfg.bootstrap, cfg.figures, pending)
    from complexity_bench import __version__

    manifest = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "package_version": __version__,
        **(code or code_state()),
        "torch_version": torch.__version__,
        "python_version": sys.version.split()[0],
        "platform": platform.platform(),
        **numerics_state(),  # CPU, MKL code path, ATen instruction set: what float results depend on
        "suite": cfg.suite,
        "tasks": {t.name: t.version for t in plan.tasks if t.name in plan.variants},
        "seeds": sorted({v.seed for vs in plan.variants.values() for v in vs}),
        "measures": {m.name: m.info.version for m in plan.measures},
        "runs": plan.n_runs,
        "workers": cfg.resolved_workers(),
        "executor": cfg.executor,
        "engine": cfg.engine,
        "device": cfg.device,  # this invocation's; runs.csv says where each stored run trained
        "bootstrap": cfg.bootstrap,
        "trained_this_invocation": sum(o.trained for o in outcomes),
        "train_seconds_this_invocation": round(sum(o.train_seconds for o in outcomes), 2),
        "measure_seconds_this_invocation": round(sum(o.measure_seconds for o in outcomes), 2),
        # whole-suite cost split from what is stored (whichever invocation computed it)
        "train_seconds_total": round(float(frames.runs["train_seconds"].sum()), 2),
        "measure_seconds_total": round(measure_seconds_total(frames.traces), 2),
        "wall_seconds_this_invocation": round(wall_seconds, 2),
        **scored,
    }
    atomic_write_files({**pending, out / "manifest.json": json.dumps(manifest, indent=2).encode()})
    return manifest


def rescore(out: Path, bootstrap: int = DEFAULT_N_BOOT, figures: bool = True) -> dict[str, Any]:
    """The ``score`` command: re-score stored traces without training."""
    from complexity_bench.pipeline.results_files import read_manifest

    frames = read_frames(out)
    manifest = read_manifest(out)  # checked before anything is written
    pending: dict[Path, bytes] = {}
    scored = score_and_write(out, frames, bootstrap, figures, pending)
    manifest.update(scored, bootstrap=bootstrap, rescored=True)
    atomic_write_files({**pending, out / "manifest.json": json.dumps(manifest, indent=2).encode()})
    return manifest


def _csv_bytes(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False, float_format="%.6g").encode()


def _parquet_bytes(df: pd.DataFrame) -> bytes:
    import io

    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()
