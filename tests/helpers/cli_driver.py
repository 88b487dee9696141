"""``python tests/helpers/cli_driver.py ARGS``: the CLI, with test hooks set by environment variables.

- CB_TEST_CALL_LIMIT_S: every cost tier's per-call limit, in seconds (the watchdog's
  grace drops to 0.5 s), so a stuck measure is ended in seconds.
- CB_TEST_GATE_PHASE (training | scoring) and CB_TEST_GATE_READY (a path): at that
  point of the run (the second training job; the start of scoring), create the ready
  file and sleep, so a test can SIGKILL the run exactly there.

The hooks live here, not in the package: nothing in complexity_bench reads them.
"""

import os
import sys
import time
from pathlib import Path


def _gate() -> None:
    Path(os.environ["CB_TEST_GATE_READY"]).touch()
    time.sleep(600)


def install_hooks() -> None:
    import complexity_bench.pipeline.evaluate as evaluate
    import complexity_bench.pipeline.jobs as jobs
    import complexity_bench.pipeline.outputs as outputs

    if "CB_TEST_CALL_LIMIT_S" in os.environ:
        for tier in evaluate.CALL_LIMIT_S:
            evaluate.CALL_LIMIT_S[tier] = float(os.environ["CB_TEST_CALL_LIMIT_S"])
        try:
            import complexity_bench.pipeline.isolation as isolation
        except ImportError:  # a checkout from before the watchdog: the test then shows the hang
            pass
        else:
            isolation.WATCHDOG_GRACE_S = 0.5
    phase = os.environ.get("CB_TEST_GATE_PHASE")
    if phase == "training":
        train_group, calls = jobs.train_group, []

        def gated_train_group(*args, **kwargs):
            calls.append(1)
            if len(calls) == 2:  # the first job's run is stored by now
                _gate()
            return train_group(*args, **kwargs)

        jobs.train_group = gated_train_group
    elif phase == "scoring":
        score_and_write = outputs.score_and_write

        def gated_score_and_write(*args, **kwargs):
            _gate()
            return score_and_write(*args, **kwargs)

        outputs.score_and_write = gated_score_and_write


if __name__ == "__main__":
    install_hooks()
    from complexity_bench.cli import main

    sys.exit(main(sys.argv[1:]))
