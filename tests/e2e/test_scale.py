"""Many operations at once against one gateway: all finish, each with its exact text."""

from __future__ import annotations

import time

import trio

from gatewayops.store import FinishSource, Result

from .helpers import assert_nothing_leaked, e2e, long_script, script_text

OPERATIONS = 200


async def test_200_concurrent_operations_all_complete_with_exact_text() -> None:
    """200 runs streamed side by side over 200 sockets: every one completes exactly once,
    shows exactly its own text, and nothing is left open afterwards."""
    scripts = [long_script(f"run{index}", chunks=10, delay=0.01) for index in range(OPERATIONS)]
    started = time.monotonic()
    with trio.fail_after(30):
        async with e2e() as env:
            runs = [env.start(script) for script in scripts]
            outcomes = {}

            async def finish(index: int) -> None:
                outcomes[index] = await env.client.wait_finished(runs[index].operation_id)

            async with trio.open_nursery() as nursery:
                for index in range(OPERATIONS):
                    nursery.start_soon(finish, index)
            for index, (run, script) in enumerate(zip(runs, scripts, strict=True)):
                outcome = outcomes[index]
                assert (outcome.result, outcome.source) == (
                    Result.COMPLETED,
                    FinishSource.AGENT_EVENT,
                )
                assert env.operation(run).transcript.text == script_text(script)
            await assert_nothing_leaked(env)
    print(f"\n{OPERATIONS} operations finished in {time.monotonic() - started:.2f} s")
