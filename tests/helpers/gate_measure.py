"""A plugin measure that blocks at a known point of a run, for the SIGKILL tests.

With CB_TEST_GATE_READY (a file path) and CB_TEST_GATE_STORE (a store's values
folder) set, once that folder holds at least one finished values file, the measure
creates the ready file and sleeps: the test then kills the run mid-measurement.
Otherwise it is a constant.
"""

import os
import time
from pathlib import Path

from complexity_bench import measure


@measure(name="test-gate", version="1", direction=1, description="a constant; blocks when the test says")
def gate(model, ctx):
    ready, store = os.environ.get("CB_TEST_GATE_READY"), os.environ.get("CB_TEST_GATE_STORE")
    if ready and store and any(Path(store).rglob("*.json.sha256")):
        Path(ready).touch()
        time.sleep(600)
    return 0.0
