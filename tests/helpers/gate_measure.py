"""A plugin measure that blocks at a known point of a run, for the SIGKILL tests.

With CB_TEST_GATE_READY set (a file path) and once CB_TEST_GATE_STORE (a store's
values folder) holds at least one finished values file, the measure creates the
ready file and sleeps: the test then kills the run mid-measurement. Without the
variable it is a constant.
"""

import os
import time
from pathlib import Path

from complexity_bench import measure


@measure(name="test-gate", version="1", direction=1, description="a constant; blocks when the test says")
def gate(model, ctx):
    ready = os.environ.get("CB_TEST_GATE_READY")
    if ready and any(Path(os.environ["CB_TEST_GATE_STORE"]).rglob("*.json.sha256")):
        Path(ready).touch()
        time.sleep(600)
    return 0.0
