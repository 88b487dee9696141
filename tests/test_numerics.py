"""MKL's CPU-independent code path is set by the package before torch loads (numerics.py).

Each check runs in a fresh interpreter: MKL reads ``MKL_CBWR`` once per process, so only a
new process shows what importing the package does."""

import json
import os
import subprocess
import sys

# Records MKL_CBWR at the moment anything first imports torch, then asks MKL (through torch's
# own library, without the package's helper) which code path it runs.
PROBE = """
import ctypes, json, os, sys
seen = {}
class Watch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" and "at_torch_import" not in seen:
            seen["at_torch_import"] = os.environ.get("MKL_CBWR")
        return None
sys.meta_path.insert(0, Watch())
import complexity_bench
import torch
lib = ctypes.CDLL(os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so"))
(torch.randn(64, 64) @ torch.randn(64, 64)).sum()  # MKL has run
seen["mkl_branch_code"] = lib.mkl_serv_cbwr_get(1)  # MKL_CBWR_BRANCH
from complexity_bench.numerics import mkl_cbwr
seen["mkl_cbwr"] = mkl_cbwr()
print(json.dumps(seen))
"""


def probe(**env) -> dict:
    clean = {k: v for k, v in os.environ.items() if k != "MKL_CBWR"}
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120,
                          env={**clean, **env})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_importing_the_package_sets_mkl_compatible_before_torch_loads():
    seen = probe()
    assert seen["at_torch_import"] == "COMPATIBLE"
    assert seen["mkl_branch_code"] == 3  # MKL_CBWR_COMPATIBLE (mkl_cbwr.h)
    assert seen["mkl_cbwr"] == "COMPATIBLE"


def test_a_value_the_user_set_is_kept():
    seen = probe(MKL_CBWR="AUTO")
    assert seen["at_torch_import"] == "AUTO"
    assert seen["mkl_branch_code"] == 2 and seen["mkl_cbwr"] == "AUTO"


def test_manifest_records_the_numerics(results_folder):
    manifest = json.loads((results_folder / "manifest.json").read_text())
    # the test process imported the package first, so MKL runs its compatible path here
    assert manifest["mkl_cbwr"] == "COMPATIBLE"
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
