"""The seeds tables in docs/tasks.md ("Power et al.'s operations" and "S5 composition"):
the committed files follow the seeds rules written before they ran, and each table row is
what its files hold.

Transformer tasks: one file per run; seed 0 is the pilot that fixed the budget, seeds 1-2
and the weight-decay-0 control of seed 0 ran after it was fixed. MLP operations: one cohort
file per task (seeds 0-2 and the control). ``python tests/tasks/test_seed_tables.py``
prints the rows.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MEASURED = ROOT / "docs" / "measurements"
# task -> (its folder under docs/measurements, the budget, seed 0's file (the pilot), the torch
# threads its rule fixed: the script ran one thread before it recorded them)
TRANSFORMER = {
    "modsub-transformer": ("power_ops", 45_000, "pilot45k_seed0", 1),
    "moddiv-transformer": ("power_ops", 45_000, "pilot45k_seed0", 1),
    "modsumsq-transformer": ("power_ops", 45_000, "pilot45k_seed0", 1),
    "modcubexy-transformer": ("power_ops", 135_000, "pilot135k_seed0", 1),
    "s5-transformer": ("s5", 45_000, "pilot45k_seed0", 2),
}
RECIPE_WD = {"transformer": 1.0, "mlp": 0.2}
# MLP operation -> (its budget, its seed-0 pilot's file: the loop); the seeds are one cohort
# file, `<task>_seeds.json`
MLP = {"modsub-mlp": (20_000, "pilot_seed0"), "moddiv-mlp": (20_000, "pilot_seed0"),
       "modsumsq-mlp": (20_000, "pilot_seed0"), "modcubexy-mlp": (200_000, "pilot200k_seed0")}


def _report(path: Path) -> tuple[dict, list[dict]]:
    report = json.loads(path.read_text())
    return report, report["runs"]


def load_transformer(task: str) -> dict[str, dict]:
    """The one run each file holds, with the file's budget, threads, MKL path and CPU seconds."""
    folder, _, seed0, _ = TRANSFORMER[task]
    out = {}
    for key, stem in {"seed 0": seed0, "seed 1": "seed1", "seed 2": "seed2", "control": "control0"}.items():
        report, (run,) = _report(MEASURED / folder / f"{task}_{stem}.json")
        out[key] = {**run, "budget": report["budget"], "mkl_cbwr": report["mkl_cbwr"],
                    "threads": report.get("threads", 1), "cpu_seconds": report["cpu_seconds"],
                    "task": report["task"]}
    return out


def load_mlp(task: str) -> tuple[dict, dict[str, dict]]:
    report, runs = _report(MEASURED / "power_ops" / f"{task}_seeds.json")
    by_key = {("control" if r["weight_decay"] == 0 else f"seed {r['seed']}"): r for r in runs}
    assert len(by_key) == len(runs) == 4, task
    return report, by_key


def _steps(v: int | None) -> str:
    return "none" if v is None else f"{v:,}"


def _t_gen(r: dict) -> str:
    return _steps(r["t_gen"]) if r["t_gen"] is not None else f"censored ({r['final_test_acc']:.3f})"


def _delay(r: dict, budget: int) -> str:  # a censored run's delay is at least log10(budget / T_mem)
    return (f"> {math.log10(budget / r['t_mem']):.2f}" if r["t_gen"] is None
            else f"{math.log10(r['t_gen'] / r['t_mem']):.2f}")


def _control(c: dict, budget: int) -> str:
    return (f"censored at {budget:,} (test accuracy {c['final_test_acc']:.3f})" if c["t_gen"] is None
            else f"T_gen {c['t_gen']:,}")


def _each(runs: dict[str, dict], fmt) -> str:
    return ", ".join(fmt(runs[f"seed {s}"]) for s in (0, 1, 2))


def transformer_row(task: str) -> str:
    runs, budget = load_transformer(task), TRANSFORMER[task][1]

    def ratio(r: dict) -> str:
        return "—" if r["t_gen"] is None else f"{r['t_gen'] / r['t_mem']:.0f}"

    def after(key: str):
        return lambda r: "—" if r["t_gen"] is None else _steps(r[key])

    control = _control(runs["control"], budget)
    cpu = sum(r["cpu_seconds"] for r in runs.values())
    return (f"| {task} | {_each(runs, lambda r: str(r['t_mem']))} | {_each(runs, _t_gen)} | "
            f"{_each(runs, ratio)} | {_each(runs, lambda r: _delay(r, budget))} | "
            f"{_each(runs, after('t_spike'))} | {_each(runs, after('t_collapse'))} | {control} | {cpu:,.0f} |")


def mlp_row(task: str) -> str:
    """The row up to the control's test accuracy (a row may say more after it)."""
    _, runs = load_mlp(task)
    budget = MLP[task][0]

    def ratio(r: dict) -> str:
        return "—" if r["t_gen"] is None else f"{r['t_gen'] / r['t_mem']:.1f}"

    return (f"| {task} | {_each(runs, lambda r: str(r['t_mem']))} | {_each(runs, _t_gen)} | "
            f"{_each(runs, ratio)} | {_each(runs, lambda r: _delay(r, budget))} | "
            f"{_control(runs['control'], budget).removesuffix(')')}")


def _seed_and_wd(key: str, net: str) -> tuple[int, float]:
    return (0, 0.0) if key == "control" else (int(key[-1]), RECIPE_WD[net])


@pytest.mark.parametrize("task", TRANSFORMER)
def test_transformer_runs_are_the_rules(task):
    _, budget, _, threads = TRANSFORMER[task]
    for key, r in load_transformer(task).items():
        assert r["task"] == task and r["budget"] == budget, key
        assert r["engine"] == "loop" and r["mkl_cbwr"] == "OFF", key  # the pilots' engine and MKL path
        assert r["threads"] == threads, key
        assert (r["seed"], r["weight_decay"]) == _seed_and_wd(key, "transformer"), key
        if r["t_gen"] is None:  # censored: trained the whole budget, never stopped early
            assert r["last_step"] == budget, key


@pytest.mark.parametrize("task", MLP)
def test_mlp_cohorts_are_the_rules(task):
    report, runs = load_mlp(task)
    budget = MLP[task][0]
    assert report["task"] == task and report["budget"] == budget
    for key, r in runs.items():
        assert r["engine"] == "cohort", key
        assert (r["seed"], r["weight_decay"]) == _seed_and_wd(key, "mlp"), key
        if r["t_gen"] is None:
            assert r["last_step"] == budget, key


@pytest.mark.parametrize("task", MLP)
def test_mlp_seed_0_is_its_pilot(task):
    """The cohort's seed 0 against the loop's pilot of the same budget: the same events."""
    _, (pilot,) = _report(MEASURED / "power_ops" / f"{task}_{MLP[task][1]}.json")
    seed0 = load_mlp(task)[1]["seed 0"]
    assert (seed0["t_mem"], seed0["t_gen"]) == (pilot["t_mem"], pilot["t_gen"])


@pytest.mark.parametrize("task", [*TRANSFORMER, *MLP])
def test_docs_tables_are_the_files(task):
    row = transformer_row(task) if task in TRANSFORMER else mlp_row(task)
    assert row in (ROOT / "docs" / "tasks.md").read_text()


if __name__ == "__main__":
    for name in TRANSFORMER:
        print(transformer_row(name))
    for name in MLP:
        print(mlp_row(name))
