"""Runs that end leave no cyclic garbage in the process (#18).

A socket task that ends is cancelled; its `Cancelled` tracebacks reach every frame of
the stack that cancelled it (the dispatcher's, holding old states). Any reference cycle
through those exceptions keeps all of it alive until a full collection, which at
thousands of operations meant pauses of a second: so with the collector off, what
reference counting leaves behind for `gc.collect()` must stay a few objects per run.
"""

from __future__ import annotations

import gc

from .helpers import assert_nothing_leaked, e2e, long_script

RUNS = 20
PER_RUN = 5
"""Objects per run the collector may still free (before the fix: about 280)."""


async def test_runs_that_end_leave_almost_nothing_for_the_cyclic_collector() -> None:
    """With the collector disabled, twenty runs followed to their end over real sockets
    (client and gateway in this process) leave at most `PER_RUN` objects each for
    `gc.collect()` to free."""
    async with e2e() as env:
        await env.finish(env.start(long_script("warm-up", chunks=2, delay=0.001)))
        gc.collect()
        gc.disable()
        try:
            runs = [env.start(long_script(f"run{i}", chunks=3, delay=0.001)) for i in range(RUNS)]
            for run in runs:
                await env.finish(run)
            await assert_nothing_leaked(env)
            freed = gc.collect()
        finally:
            gc.enable()
    assert freed <= RUNS * PER_RUN, f"{freed} objects of cyclic garbage for {RUNS} runs"
