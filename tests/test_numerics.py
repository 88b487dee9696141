"""MKL's CPU-independent code path is set by the command line and the workers before
MKL first computes, and library use leaves MKL as torch sets it (numerics.py).

Each check runs in a fresh interpreter: MKL fixes its path at its first call, so only a
new process shows what the package does."""

import json
import os
import subprocess
import sys

# Asks MKL (through torch's own library, not the package's helper) which code path it runs
# after ENTRY and one matrix product.
PROBE = """
import ctypes, json, os, sys
import torch
ENTRY
lib = ctypes.CDLL(os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so"))
(torch.randn(64, 64) @ torch.randn(64, 64)).sum()  # MKL has run
print(json.dumps({"env": os.environ.get("MKL_CBWR"), "branch": lib.mkl_serv_cbwr_get(1)}))  # MKL_CBWR_BRANCH
"""
ENTRIES = {
    "cli": "from complexity_bench.cli import main; main(['list', 'tasks'])",
    "worker": "from complexity_bench.pipeline.executors import init_worker; init_worker()",
    "library": "import complexity_bench; from complexity_bench import Tracker",
}
COMPATIBLE, AUTO, CPU_OWN = 3, 2, 1  # mkl_cbwr.h: MKL_CBWR_COMPATIBLE, MKL_CBWR_AUTO, MKL_CBWR_BRANCH_OFF


def probe(entry: str, **env) -> dict:
    clean = {k: v for k, v in os.environ.items() if k != "MKL_CBWR"}
    proc = subprocess.run([sys.executable, "-c", PROBE.replace("ENTRY", ENTRIES[entry])], capture_output=True,
                          text=True, timeout=300, env={**clean, **env})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_command_line_sets_mkl_compatible_before_mkl_first_computes():
    # torch is imported before the command line runs, as with `python -m complexity_bench`
    assert probe("cli") == {"env": "COMPATIBLE", "branch": COMPATIBLE}


def test_a_worker_sets_it_before_its_first_computation():
    assert probe("worker") == {"env": "COMPATIBLE", "branch": COMPATIBLE}


def test_library_use_leaves_mkl_as_torch_sets_it():
    assert probe("library") == {"env": None, "branch": CPU_OWN}


def test_a_value_the_user_set_is_kept():
    assert probe("cli", MKL_CBWR="AUTO") == {"env": "AUTO", "branch": AUTO}


def test_manifest_records_the_numerics(results_folder):
    from complexity_bench.numerics import mkl_cbwr

    manifest = json.loads((results_folder / "manifest.json").read_text())
    # the fixture ran in this process: whatever path MKL took here is what the manifest says
    assert manifest["mkl_cbwr"] == mkl_cbwr() and manifest["mkl_cbwr"] is not None
    assert manifest["cpu"] and manifest["aten_cpu_capability"]


def test_manifest_seconds_of_a_fresh_run_are_within_the_total(results_folder):
    import pandas as pd

    manifest = json.loads((results_folder / "manifest.json").read_text())
    runs = pd.read_csv(results_folder / "runs.csv")
    assert manifest["trained_this_invocation"] == len(runs)  # a fresh run trains every run
    # this invocation trained every run, so it spent exactly the total (both rounded to 0.01 s)
    assert abs(manifest["train_seconds_this_invocation"] - manifest["train_seconds_total"]) <= 0.011


def test_a_run_says_when_mkl_is_not_on_its_compatible_path(monkeypatch):
    from complexity_bench import numerics

    monkeypatch.setattr(numerics, "mkl_cbwr", lambda: "COMPATIBLE")
    assert numerics.reproducibility_note() is None
    monkeypatch.setattr(numerics, "mkl_cbwr", lambda: None)  # no MKL in this torch: nothing to say
    assert numerics.reproducibility_note() is None
    monkeypatch.setattr(numerics, "mkl_cbwr", lambda: "AUTO")
    monkeypatch.setenv("MKL_CBWR", "AUTO")
    note = numerics.reproducibility_note()
    assert note.startswith("note: ") and "AUTO" in note and "\n" not in note
