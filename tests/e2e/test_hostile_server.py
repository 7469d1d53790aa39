"""A hostile server on loopback: frames no reference gateway would send, with the real
client and its default settings (PROTOCOL.md invariants 24 and 25).

Each test runs a trio-websocket server on 127.0.0.1 that answers `auth` with a scripted
list of raw frames, and checks that the operation still ends exactly as it should. The
tests wait for the client's own conditions (`wait_finished`, `changes`), bounded by a
guard, never for time; the one about redialling counts dials in virtual time over the
in-memory transport.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import jwt
import pytest
import trio
import trio.testing
from trio_websocket import ConnectionClosed, WebSocketRequest, serve_websocket

from gatewayops import open_client
from gatewayops.effects import Client
from gatewayops.protocol import AuthSuccess
from gatewayops.store import FinishSource, OperationStatus, Result, StoreConfig, is_quiet
from gatewayops.transport import MemoryTransport

OP = "op-hostile"
GUARD_SECONDS = 20
"""Upper bound on any one test (a failure, never the way a test waits)."""


def _event(type_: str, data: Any = None, **fields: Any) -> dict[str, Any]:
    event = {"type": type_, "operationId": OP, "stepIndex": 0, "timestamp": 1, "data": data}
    return {**event, **fields}


def _agent(event: dict[str, Any], id: Any = None) -> str:
    frame: dict[str, Any] = {"type": "agent_event", "event": event}
    if id is not None:
        frame["id"] = id
    return json.dumps(frame)


AUTH_SUCCESS = '{"type":"auth_success"}'
CHUNK = {"chunkType": "text", "content": "part "}
END = _event("agent_runtime_end", {})


class Hostile:
    """What the hostile server saw: how many connections, and what the client sent."""

    def __init__(self, frames: Sequence[str]) -> None:
        self.frames = list(frames)
        self.connections = 0
        self.received: list[str] = []
        self.tool_result = trio.Event()

    async def handle(self, request: WebSocketRequest) -> None:
        self.connections += 1
        ws = await request.accept()
        try:
            self.received.append(str(await ws.get_message()))  # auth
            for frame in self.frames:
                await ws.send_message(frame)
            while True:
                text = str(await ws.get_message())
                self.received.append(text)
                if '"tool_result"' in text:
                    self.tool_result.set()
        except ConnectionClosed:
            return


@asynccontextmanager
async def hostile_client(
    frames: Sequence[str], **client: Any
) -> AsyncIterator[tuple[Client, Hostile, str]]:
    """A hostile server sending `frames` after `auth`, and a client following `OP` on it."""
    server = Hostile(frames)
    with trio.fail_after(GUARD_SECONDS):
        async with trio.open_nursery() as nursery:
            listener = await nursery.start(serve_websocket, server.handle, "127.0.0.1", 0, None)
            url = f"ws://127.0.0.1:{listener.port}"

            async def refresh(topic_id: str) -> str:
                raise RuntimeError("no refresh on this server")

            async with open_client(refresh_token=refresh, **client) as opened:
                opened.start(operation_id=OP, topic_id="topic", gateway_url=url, token="token-1")
                yield opened, server, url
            nursery.cancel_scope.cancel()


async def test_an_envelope_id_of_five_thousand_digits_does_not_stop_the_run() -> None:
    """5,000-digit ids, as text or as a JSON number, are cursors; the run ends on time."""
    digits = "7" * 5_000
    frames = [
        AUTH_SUCCESS,
        _agent(_event("stream_chunk", CHUNK), id=digits),
        _agent(_event("stream_chunk", CHUNK), id=digits).replace(f'"{digits}"', digits + "1"),
        _agent(END, id="1" + digits),
    ]
    async with hostile_client(frames) as (client, _, _):
        outcome = await client.wait_finished(OP)
        op = client.state.operations[OP]
    assert (outcome.result, outcome.source) == (Result.COMPLETED, FinishSource.AGENT_EVENT)
    assert op.transcript.text == "part part "
    assert op.last_event_id == "1" + digits


async def test_auth_failed_with_an_object_reason_ends_without_redialling() -> None:
    """A malformed reason degrades only the reason: the failure is terminal, one socket."""
    frames = ['{"type":"auth_failed","reason":{"code":403,"why":"gone"}}']
    async with hostile_client(frames) as (client, server, _):
        outcome = await client.wait_finished(OP)
    assert outcome.result is Result.AUTH_FAILED
    assert outcome.detail == '{"code":403,"why":"gone"}'
    assert server.connections == 1


async def test_an_end_without_step_index_or_timestamp_ends_the_run() -> None:
    """The lifecycle is read from the type and the owner; missing detail is counted."""
    end = {"type": "agent_runtime_end", "operationId": OP, "data": {"reason": "interrupted"}}
    async with hostile_client([AUTH_SUCCESS, _agent(end, id="1")]) as (client, _, _):
        outcome = await client.wait_finished(OP)
        op = client.state.operations[OP]
    assert outcome.result is Result.INTERRUPTED
    assert op.problems == 2


async def test_numeric_ids_are_followed_as_their_text() -> None:
    """Ids sent as JSON numbers move the cursor; the terminal still ends the run."""
    frames = [AUTH_SUCCESS, _agent(_event("stream_chunk", CHUNK), id=41), _agent(END, id=42)]
    async with hostile_client(frames) as (client, _, _):
        outcome = await client.wait_finished(OP)
        op = client.state.operations[OP]
    assert outcome.result is Result.COMPLETED
    assert op.last_event_id == "42"


async def test_a_gateway_whose_id_counter_restarted_loses_nothing() -> None:
    """Ids 5, 6 then 1, 2, 3 (a restart without persisted counters): every event is shown,
    the terminal included, and the step back is reported."""
    chunks = [_event("stream_chunk", {"chunkType": "text", "content": w}) for w in "abcd"]
    frames = [AUTH_SUCCESS, _agent(chunks[0], id="5"), _agent(chunks[1], id="6")]
    frames += [_agent(chunks[2], id="1"), _agent(chunks[3], id="2"), _agent(END, id="3")]
    async with hostile_client(frames) as (client, _, _):
        outcome = await client.wait_finished(OP)
        op = client.state.operations[OP]
    assert outcome.result is Result.COMPLETED
    assert op.transcript.text == "abcd"
    assert op.problems == 1
    assert op.last_problem == "event id '1' does not follow '6'"


async def test_frames_that_cannot_be_read_are_counted_and_the_socket_lives() -> None:
    """Garbage, a non-object and a frame without a type are reported; the run goes on."""
    frames = [AUTH_SUCCESS, "{not json", "[1,2]", '{"no":"type"}', _agent(END, id="1")]
    async with hostile_client(frames) as (client, server, _):
        outcome = await client.wait_finished(OP)
        op = client.state.operations[OP]
    assert outcome.result is Result.COMPLETED
    assert op.bad_frames == 3
    assert server.connections == 1


async def test_a_token_echoed_by_the_server_reaches_no_outcome_and_no_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An `auth_failed` reason that quotes the JWT is redacted in state and in logs."""
    token = jwt.encode({"sub": "user-1"}, "k" * 32, algorithm="HS256")
    frames = [json.dumps({"type": "auth_failed", "reason": f"token {token} refused"})]
    with caplog.at_level(logging.DEBUG, logger="gatewayops"):
        async with hostile_client(frames) as (client, _, _):
            outcome = await client.wait_finished(OP)
    assert token not in outcome.detail
    assert token not in repr(client.state)
    assert token not in caplog.text


async def test_a_tool_deadline_beyond_any_clock_still_gets_one_result() -> None:
    """`executionTimeoutMs` of 10**400: the one `tool_result` is a structured failure."""
    data = {"toolCallId": "c1", "identifier": "calc", "arguments": "{}", "executionTimeoutMs": 0}
    frame = _agent(_event("tool_execute", data), id="1")
    frame = frame.replace('"executionTimeoutMs": 0', '"executionTimeoutMs": 1' + "0" * 400)

    async def calc(arguments: dict[str, Any]) -> Any:
        await trio.lowlevel.checkpoint()
        return "never"

    async with hostile_client([AUTH_SUCCESS, frame], tools={"calc": calc}) as (_, server, _):
        await server.tool_result.wait()
    results = [json.loads(text) for text in server.received if '"tool_result"' in text]
    assert len(results) == 1
    assert results[0]["error"]["type"] == "client_tool_execution_error"


async def test_a_server_that_forgets_the_run_silently_is_reported_quiet() -> None:
    """A socket that stays up and says nothing makes the run quiet, never finished."""
    config = StoreConfig(quiet_after_ms=200)
    async with hostile_client([AUTH_SUCCESS], config=config) as (client, _, _):
        async with client.changes(OP) as changes:
            async for op in changes:
                if client.state.link_of(op).quiet:
                    break
        assert is_quiet(client.state, OP)
        op = client.state.operations[OP]
    assert op.status is OperationStatus.RUNNING
    assert op.outcome is None


async def test_a_server_that_authenticates_and_drops_is_dialled_a_few_times_a_minute(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Accept, `auth_success`, close 1011, forever: the backoff does not restart (no
    healthy connection), so after the first minute there are at most 4 dials a minute."""
    transport = MemoryTransport()
    dials: list[float] = []

    async def refresh(topic_id: str) -> str:
        raise RuntimeError("unused")

    async with open_client(refresh_token=refresh, transport=transport, random_seed=3) as client:
        client.start(
            operation_id=OP, topic_id="topic", gateway_url="ws://gateway.test", token="token-1"
        )
        start = trio.current_time()
        while trio.current_time() - start < 300:
            server = await transport.accept()
            dials.append(trio.current_time() - start)
            await server.receive_message()
            server.send_message(AuthSuccess())
            server.close(1011, "try later")
    per_minute = [sum(1 for t in dials if m * 60 <= t < (m + 1) * 60) for m in range(5)]
    assert per_minute[0] <= 8
    assert max(per_minute[1:]) <= 4
