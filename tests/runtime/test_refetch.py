"""The server's message list fetched through the runtime (PROTOCOL.md 7.8): the
injected `fetch_messages` is called once per refetch, its list comes back as
`MessagesFetched`, a failure is asked again within the budget, a fetch outlives the run
it belongs to (whose end is never held back), and without the dependency the
transcript stays flagged."""

from __future__ import annotations

from typing import Any

import trio

from gatewayops.protocol import AgentEventMessage
from gatewayops.store import REFETCH_ATTEMPTS, RefetchStatus, Result
from gatewayops.transport import MemoryTransport

from .helpers import GATEWAY, OP, TOKEN, TOPIC, Recorder, client_on, event, handshake, settle

USER = {"id": "u1", "role": "user", "content": "q"}
ANSWER = {"id": "a1", "role": "assistant", "content": "the answer", "parentId": "u1"}


def patch(revision: int, after: str | None, message: dict[str, Any]) -> AgentEventMessage:
    data = {"revision": revision, "upserts": [{"afterId": after, "message": message}]}
    return event("message_patch", data)


def end_at(revision: int) -> AgentEventMessage:
    return event("agent_runtime_end", {"messagePatchMode": True, "messageRevision": revision})


async def test_a_gap_calls_the_dependency_once_and_adopts_its_list(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """A gap, then more patches: one call; its list (with its revision) is shown and the
    next patch applies on top of it."""
    calls: list[tuple[str, str]] = []

    async def fetch(operation_id: str, topic_id: str) -> Any:
        await trio.lowlevel.checkpoint()
        calls.append((operation_id, topic_id))
        return {"messages": [USER, ANSWER], "revision": 3}

    async with client_on(transport, fetch_messages=fetch, check_invariants=True) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        server, _ = await handshake(transport)
        server.send_message(patch(1, None, USER))
        server.send_message(patch(3, "u1", ANSWER))
        await settle()
        assert calls == [(OP, TOPIC)]
        server.send_message(patch(4, "a1", {"id": "u2", "role": "user", "content": "more"}))
        await settle()
        transcript = client.state.operations[OP].transcript
        assert [entry.id for entry in transcript.entries] == ["u1", "a1", "u2"]
        assert (transcript.revision, transcript.needs_refetch) == (4, False)
        assert calls == [(OP, TOPIC)]
        assert client.invariant_violations == ()


async def test_the_run_ends_at_once_and_the_list_comes_after(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """An end at a revision not held finishes the operation (one notification, the
    socket closed) while the fetch is still out; the list it brings later fills the
    finished operation's transcript."""
    release = trio.Event()

    async def slow_fetch(operation_id: str, topic_id: str) -> Any:
        await release.wait()
        return [USER, ANSWER]

    recorder = Recorder()
    async with client_on(
        transport, fetch_messages=slow_fetch, recorder=recorder, check_invariants=True
    ) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        server, _ = await handshake(transport)
        server.send_message(patch(1, None, USER))
        server.send_message(end_at(2))
        outcome = await client.wait_finished(OP)
        assert outcome.result is Result.COMPLETED
        pending = client.state.operations[OP].transcript
        assert (pending.pending_revision, pending.refetch) == (2, RefetchStatus.ASKED)
        stats = client.statistics()
        assert (stats.open_sockets, stats.running_effect_tasks) == (0, 1)
        release.set()
        await settle()
        transcript = client.state.operations[OP].transcript
        assert transcript.text == "the answer"
        assert (transcript.pending_revision, transcript.needs_refetch) == (None, False)
        assert len(recorder.finished) == 1
        assert client.statistics().running_effect_tasks == 0
        assert client.invariant_violations == ()


async def test_a_failing_dependency_is_asked_within_the_budget(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """A dependency that raises is called `REFETCH_ATTEMPTS` times, then the transcript
    is left flagged with the error; the run is not affected."""
    calls = 0

    async def down(operation_id: str, topic_id: str) -> Any:
        nonlocal calls
        await trio.lowlevel.checkpoint()
        calls += 1
        raise OSError("message API unreachable")

    async with client_on(transport, fetch_messages=down) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        server, _ = await handshake(transport)
        server.send_message(patch(2, None, USER))
        await settle()
        op = client.state.operations[OP]
        assert calls == REFETCH_ATTEMPTS
        assert op.transcript.refetch is RefetchStatus.GAVE_UP
        assert op.transcript.refetch_problem == (
            "fetching the message list failed: OSError: message API unreachable"
        )
        assert not op.is_finished


async def test_without_the_dependency_the_transcript_stays_flagged(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """No `fetch_messages`: the effect does nothing, the flag stays, the run ends."""
    async with client_on(transport) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        server, _ = await handshake(transport)
        server.send_message(end_at(5))
        await client.wait_finished(OP)
        transcript = client.state.operations[OP].transcript
        assert (transcript.needs_refetch, transcript.pending_revision) == (True, 5)
        assert client.statistics().running_effect_tasks == 0
