"""`Client.disconnect()` and `Client.connect()` on the user's v2 socket, over the memory
transport (PROTOCOL.md 7.6): the socket closes and stays closed, the runs wait, and the
next connect dials with a fresh user token and resubscribes each run from its cursor.
"""

from __future__ import annotations

from collections import Counter

import pytest
import trio

from gatewayops.exceptions import ProtocolV2Required
from gatewayops.protocol import MuxToolResult, Subscribe
from gatewayops.store import ConnectionStatus, OperationStatus, connection_status
from gatewayops.transport import MemoryTransport

from .helpers import GATEWAY, OP, Recorder, client_on, settle
from .mux_helpers import (
    OP2,
    UserTokens,
    expect,
    mux_chunk,
    mux_end,
    query,
    ready,
    send,
    start,
    subscriptions,
    v2_client_on,
)
from .test_v2_sessions import slow_add, tool_execute


async def test_disconnect_closes_the_socket_and_nothing_dials_until_connect(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """Mid-stream: the socket is closed by the client, ten minutes pass with no dial and
    no timer (the network coming back changes nothing), both runs still running and
    shown disconnected; connect dials once, with a fresh user token, and each run
    subscribes from its own cursor; each finishes once with its whole text."""
    recorder = Recorder()
    tokens = UserTokens()
    async with v2_client_on(transport, recorder=recorder, user_token=tokens) as client:
        start(client)
        start(client, OP2)
        server = await ready(transport)
        await subscriptions(server, 2)
        send(server, mux_chunk("a", id="1"))
        send(server, mux_chunk("x", id="5", op=OP2))
        await settle()
        client.disconnect(gateway_url=GATEWAY)
        await settle()
        assert server.closed is not None
        assert server.closed.by_client
        client.network_restored()
        await trio.sleep(600)
        held = client.statistics()
        assert (held.open_sockets, held.armed_timers) == (0, 0)
        assert len(transport.attempts) == 1
        for op in (OP, OP2):
            assert client.state.operations[op].status is OperationStatus.RUNNING
            assert connection_status(client.state, op) is ConnectionStatus.DISCONNECTED
        client.connect(gateway_url=GATEWAY)
        again = await ready(transport)
        cursors = {op: s.last_event_id for op, s in (await subscriptions(again, 2)).items()}
        assert cursors == {OP: "1", OP2: "5"}
        send(again, mux_chunk("a", id="1"))  # replayed again: dropped
        send(again, mux_chunk("b", id="2"))
        send(again, mux_end(id="3"))
        send(again, mux_end(id="6", op=OP2))
        await client.wait_finished(OP)
        await client.wait_finished(OP2)
        texts = {op: client.state.operations[op].transcript.text for op in (OP, OP2)}
    assert texts == {OP: "ab", OP2: "x"}
    assert [query(url)["token"][0] for url in transport.attempts] == ["user-jwt-1", "user-jwt-2"]
    assert Counter(n.operation_id for n in recorder.finished) == {OP: 1, OP2: 1}


async def test_a_user_token_that_arrives_after_disconnect_is_not_used(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """The token service answers only after the disconnect: that token dials nothing;
    connect fetches a new one for the new socket."""
    calls: list[trio.Event] = []

    async def slow_token() -> str:
        answer = trio.Event()
        calls.append(answer)
        await answer.wait()
        return f"user-jwt-{len(calls)}"

    async with v2_client_on(transport, user_token=slow_token) as client:
        start(client)
        await settle()
        assert len(calls) == 1
        client.disconnect(gateway_url=GATEWAY)
        calls[0].set()
        await trio.sleep(60)
        assert transport.attempts == []
        client.connect(gateway_url=GATEWAY)
        await settle()
        calls[1].set()
        server = await ready(transport)
        assert (await expect(server, Subscribe)).operation_id == OP
        send(server, mux_end(id="1"))
        await client.wait_finished(OP)
    assert [query(url)["token"][0] for url in transport.attempts] == ["user-jwt-2"]


async def test_a_tool_result_made_while_disconnected_goes_out_after_connect(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """A tool that finishes while the link is disconnected has its result queued; after
    connect it goes out once, right after the run's `subscribe`."""
    async with v2_client_on(transport, tools={"calc/add": slow_add}) as client:
        start(client)
        server = await ready(transport)
        await expect(server, Subscribe)
        send(server, tool_execute(id="1"))
        await settle()
        client.disconnect(gateway_url=GATEWAY)
        await trio.sleep(10)  # the tool finishes (5 s) while disconnected
        assert client.statistics().open_sockets == 0
        client.connect(gateway_url=GATEWAY)
        again = await ready(transport)
        assert (await expect(again, Subscribe)).last_event_id == "1"
        result = await expect(again, MuxToolResult)
        send(again, mux_end(id="2"))
        await client.wait_finished(OP)
    assert (result.operation_id, result.result.tool_call_id) == (OP, "call-1")


async def test_aclose_while_disconnected_leaves_nothing_and_notifies_nothing_twice(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """Closing the client with the link disconnected: no socket, timer or task left; a
    run that had finished was notified once, the one still waiting not at all."""
    recorder = Recorder()
    async with v2_client_on(transport, recorder=recorder) as client:
        start(client)
        start(client, OP2)
        server = await ready(transport)
        await subscriptions(server, 2)
        send(server, mux_end(id="1", op=OP2))
        await client.wait_finished(OP2)
        client.disconnect(gateway_url=GATEWAY)
        await client.aclose()
        closed = client.statistics()
        assert (closed.open_sockets, closed.armed_timers, closed.background_tasks) == (0, 0, 0)
    assert [n.operation_id for n in recorder.finished] == [OP2]


async def test_disconnect_and_connect_are_refused_on_protocol_v1(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """A v1 client has no shared link: both raise `ProtocolV2Required`, and nothing
    changes."""
    async with client_on(transport) as client:
        before = client.state
        with pytest.raises(ProtocolV2Required):
            client.disconnect(gateway_url=GATEWAY)
        with pytest.raises(ProtocolV2Required):
            client.connect(gateway_url=GATEWAY)
        assert client.state is before
