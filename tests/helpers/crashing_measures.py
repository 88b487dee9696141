"""Plugin measures that end or block the process evaluating them (tests/test_isolation.py).

Each returns 1.0 on the initial checkpoint (step 0) and fails on the next one, so the
process dies part-way through a run, after other measures' values were computed.
"""

import os
import signal
import time

from complexity_bench import measure


@measure(name="test-exit-one", version="1", direction=1, description="os._exit(1) after step 0")
def exit_one(model, ctx):
    if ctx.step > 0:
        os._exit(1)
    return 1.0


@measure(name="test-segfault", version="1", direction=1, description="SIGSEGV after step 0")
def segfault(model, ctx):
    if ctx.step > 0:
        os.kill(os.getpid(), signal.SIGSEGV)
    return 1.0


@measure(name="test-oom-killed", version="1", direction=1, description="SIGKILL (what the OOM killer sends) after step 0")
def oom_killed(model, ctx):
    if ctx.step > 0:
        os.kill(os.getpid(), signal.SIGKILL)
    return 1.0


@measure(name="test-stuck-in-c", version="1", direction=1,
         description="after step 0, blocks SIGALRM and sleeps: a long C call that SIGALRM cannot interrupt")
def stuck_in_c(model, ctx):
    if ctx.step > 0:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        if os.environ.get("CB_TEST_STUCK_PID_FILE"):  # where a test learns which process is stuck
            with open(os.environ["CB_TEST_STUCK_PID_FILE"] + ".tmp", "w") as fh:
                fh.write(str(os.getpid()))
            os.replace(os.environ["CB_TEST_STUCK_PID_FILE"] + ".tmp", os.environ["CB_TEST_STUCK_PID_FILE"])
        time.sleep(3600)
    return 1.0
