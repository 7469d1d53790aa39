"""Trio guest runs on an asyncio loop: the client and gateway run to the end, and close.

No display is needed: asyncio is the host loop here.
"""

from __future__ import annotations

import asyncio
import threading

import attrs
import pytest
import trio

from gatewayops.effects import Client, ClientStatistics, open_client
from gatewayops.embed import run_trio_guest, start_asyncio_guest
from gatewayops.gateway import GatewayStatistics, clean_run, long_run, open_gateway
from gatewayops.store import Action, GatewayState, Outcome, Result, is_input_loading


@attrs.frozen(kw_only=True)
class _Ending:
    outcome: Outcome | None
    client: ClientStatistics
    gateway: GatewayStatistics


Ready = asyncio.Future[tuple[Client, str, str, str]]


async def _serve(script_is_long: bool, client_ready: Ready, endings: list[_Ending]) -> None:
    """Open a gateway and a client, hand them to asyncio, wait for the run to end.

    What was still open once the client closed is appended to `endings`.
    """
    script = long_run(chunks=200, delay=0.05) if script_is_long else clean_run("hi", chunks=5)
    outcome = None
    async with open_gateway() as gateway:
        try:
            async with open_client(
                refresh_token=gateway.refresh_token, interrupt=gateway.interrupt
            ) as client:
                run = gateway.start_run(script, topic_id="topic-1")
                client_ready.set_result((client, run.operation_id, gateway.url, run.token))
                await trio.sleep(0)  # let the asyncio side start the operation
                outcome = await client.wait_finished(run.operation_id)
        finally:
            with trio.CancelScope(shield=True):
                settled = await gateway.wait_statistics(lambda stats: stats.open_sockets == 0)
            endings.append(_Ending(outcome=outcome, client=client.statistics(), gateway=settled))


def test_asyncio_host_follows_an_operation_to_completion_then_closes() -> None:
    """asyncio code starts a run via the client; it completes; nothing is left open."""
    seen_on: set[threading.Thread] = set()

    endings: list[_Ending] = []

    async def main() -> None:
        ready: Ready = asyncio.Future()
        trio_side = asyncio.ensure_future(run_trio_guest(_serve, False, ready, endings))
        client, operation_id, url, token = await ready

        def listener(old: GatewayState, new: GatewayState, action: Action) -> None:
            seen_on.add(threading.current_thread())

        client.subscribe(listener)
        client.start(
            operation_id=operation_id, topic_id="topic-1", gateway_url=url, token=token
        )  # synchronous, from asyncio
        assert is_input_loading(client.state, "topic-1")
        await trio_side

    asyncio.run(main())
    [ending] = endings
    assert ending.outcome is not None
    assert ending.outcome.result is Result.COMPLETED
    assert (ending.client.open_sockets, ending.client.armed_timers) == (0, 0)
    assert (ending.client.running_effect_tasks, ending.client.background_tasks) == (0, 0)
    assert ending.gateway.open_sockets == 0
    assert seen_on == {threading.main_thread()}


def test_cancelling_the_asyncio_task_closes_everything_before_it_returns() -> None:
    """Cancelling the awaiting task mid-run cancels Trio; cleanup ends before CancelledError."""
    endings: list[_Ending] = []

    async def main() -> None:
        ready: Ready = asyncio.Future()
        trio_side = asyncio.ensure_future(run_trio_guest(_serve, True, ready, endings))
        client, operation_id, url, token = await ready
        streaming = asyncio.Event()

        def listener(old: GatewayState, new: GatewayState, action: Action) -> None:
            if new.operations[operation_id].transcript.text:
                streaming.set()

        client.subscribe(listener)
        client.start(operation_id=operation_id, topic_id="topic-1", gateway_url=url, token=token)
        await asyncio.wait_for(streaming.wait(), timeout=10)
        trio_side.cancel()
        with pytest.raises(asyncio.CancelledError):
            await trio_side
        assert len(endings) == 1  # Trio's cleanup was over before CancelledError

    asyncio.run(main())
    [ending] = endings
    assert ending.outcome is None  # cancelled before the run ended
    assert (ending.client.open_sockets, ending.client.closing_sockets) == (0, 0)
    assert (ending.client.armed_timers, ending.client.background_tasks) == (0, 0)
    assert ending.gateway.open_sockets == 0


def test_start_asyncio_guest_reports_a_trio_error() -> None:
    """A Trio error reaches the GuestRun (error, result) instead of vanishing."""

    async def fail() -> None:
        await trio.sleep(0)
        raise LookupError("trio side failed")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        finished = loop.create_future()
        run = start_asyncio_guest(loop, fail)
        run.add_done_callback(lambda _run: finished.set_result(None))
        await finished
        assert isinstance(run.error, LookupError)
        with pytest.raises(LookupError, match="trio side failed"):
            run.result()

    asyncio.run(main())
