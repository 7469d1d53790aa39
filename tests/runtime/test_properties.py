"""The runtime against random gateway scripts: every run ends exactly once, nothing leaks.

Hypothesis draws, per operation, a sequence of connection scripts (how the gateway answers
`auth`, then events, `auth_expired`, `session_complete`, `resume_complete` statuses,
silences with or without heartbeat acks, and how the connection ends), plus how token
refreshes behave. A fake gateway on the memory transport plays them; once scripts run
out it ends the run. PROTOCOL.md 11, invariants 1 and 2.
"""

from __future__ import annotations

import contextlib
import urllib.parse
from typing import Any

import attrs
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from gatewayops.exceptions import OperationNotFound
from gatewayops.protocol import (
    Auth,
    AuthExpired,
    AuthFailed,
    AuthSuccess,
    Heartbeat,
    HeartbeatAck,
    Resume,
    ResumeComplete,
    ServerMessage,
    SessionComplete,
    SessionStatus,
)
from gatewayops.transport import ConnectionEnded, MemoryTransport, ServerConnection

from .helpers import GATEWAY, TOKEN, Recorder, chunk, client_on, runtime_end

STEPS = st.one_of(
    st.tuples(st.just("event"), st.integers(1, 3)),
    st.just(("auth_expired", 0)),
    st.just(("session_complete", 0)),
    st.tuples(st.just("resume_complete"), st.sampled_from(list(SessionStatus))),
    st.tuples(st.just("silence"), st.integers(1, 200)),
    st.just(("own_end", 0)),
    st.just(("foreign_end", 0)),
    st.just(("bad_frame", 0)),
)


@attrs.frozen(kw_only=True)
class Script:
    """How the gateway plays one connection."""

    auth: str  # success | expired | failed | ignore
    ack: bool
    steps: tuple[tuple[str, Any], ...]
    then: str  # drop | close | hold


SCRIPTS = st.builds(
    Script,
    auth=st.sampled_from(["success"] * 6 + ["expired", "failed", "ignore"]),
    ack=st.booleans(),
    steps=st.lists(STEPS, max_size=6).map(tuple),
    then=st.sampled_from(["drop", "close", "hold"]),
)
FINAL = Script(auth="success", ack=True, steps=(("session_complete", 0),), then="hold")


@attrs.define
class FakeGateway:
    """Routes each accepted connection to the next script of its operation."""

    scripts: dict[str, list[Script]]
    next_script: dict[str, int] = attrs.field(factory=dict)
    next_id: dict[str, int] = attrs.field(factory=dict)

    async def serve(self, transport: MemoryTransport) -> None:
        async with trio.open_nursery() as nursery:
            while True:
                server = await transport.accept()
                query = urllib.parse.urlsplit(server.url).query
                op = urllib.parse.parse_qs(query)["operationId"][0]
                index = self.next_script.get(op, 0)
                self.next_script[op] = index + 1
                scripts = self.scripts[op]
                script = scripts[index] if index < len(scripts) else FINAL
                nursery.start_soon(self.play, server, op, script)

    def _event_id(self, op: str) -> str:
        self.next_id[op] = self.next_id.get(op, 0) + 1
        return str(self.next_id[op])

    async def play(self, server: ServerConnection, op: str, script: Script) -> None:
        auth, resumed = trio.Event(), trio.Event()
        acking = script.ack

        def send(message: ServerMessage | str) -> None:
            with contextlib.suppress(ConnectionEnded):
                server.send(message) if isinstance(message, str) else server.send_message(message)

        async with trio.open_nursery() as nursery:

            async def read() -> None:
                try:
                    while True:
                        message = await server.receive_message()
                        if isinstance(message, Auth):
                            auth.set()
                        elif isinstance(message, Resume):
                            resumed.set()
                        elif isinstance(message, Heartbeat) and acking:
                            send(HeartbeatAck())
                except ConnectionEnded:
                    nursery.cancel_scope.cancel()  # the client closed: this script is over

            nursery.start_soon(read)
            await auth.wait()
            if script.auth == "expired":
                send(AuthExpired())
            elif script.auth == "failed":
                send(AuthFailed(reason="scripted"))
            elif script.auth == "success":
                send(AuthSuccess())
                await resumed.wait()
            for kind, arg in script.steps if script.auth == "success" else ():
                await self.step(send, op, kind, arg)
            acking = False
            if script.then == "drop":
                server.abort()
            elif script.then == "close":
                server.close(1011, "scripted")

    async def step(self, send: Any, op: str, kind: str, arg: Any) -> None:
        if kind == "event":
            for _ in range(arg):
                send(chunk("x", id=self._event_id(op), op=op))
        elif kind == "auth_expired":
            send(AuthExpired())
        elif kind == "session_complete":
            send(SessionComplete())
        elif kind == "resume_complete":
            send(ResumeComplete(status=arg))
        elif kind == "silence":
            await trio.sleep(arg)
        elif kind == "own_end":
            send(runtime_end(id=self._event_id(op), op=op))
        elif kind == "foreign_end":
            send(runtime_end(id=self._event_id(op), op="op-member"))
        elif kind == "bad_frame":
            send('{"type": "agent_event"}')


def make_refresh(mode: str) -> Any:
    """A `refresh_token` dependency that succeeds, fails, or reports the run gone."""

    async def refresh(topic_id: str) -> str:
        await trio.sleep(0.5)
        if mode == "fail":
            raise RuntimeError("token service down")
        if mode == "not_found":
            raise OperationNotFound("gone")
        return "fresh"

    return refresh


async def drive(scripts: dict[str, list[Script]], attach: list[bool], refresh_mode: str) -> None:
    transport = MemoryTransport()
    recorder = Recorder()
    gateway = FakeGateway(scripts)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(gateway.serve, transport)
        async with client_on(
            transport, recorder=recorder, refresh_token=make_refresh(refresh_mode), jitter=True
        ) as client:
            for n, op in enumerate(scripts):
                if attach[n]:
                    client.attach(
                        operation_id=op, topic_id=f"topic-{n}", gateway_url=GATEWAY, token=TOKEN
                    )
                else:
                    client.start(
                        operation_id=op, topic_id=f"topic-{n}", gateway_url=GATEWAY, token=TOKEN
                    )
            with trio.fail_after(24 * 3600):
                for op in scripts:
                    await client.wait_finished(op)
            await trio.sleep(0.001)
            stats = client.statistics()
            assert attrs.asdict(stats) == dict.fromkeys(attrs.asdict(stats), 0), stats
            finished = sorted(notify.operation_id for notify in recorder.finished)
            assert finished == sorted(scripts)
            await trio.sleep(600)  # nothing revives or notifies again
            assert len(recorder.finished) == len(scripts)
        nursery.cancel_scope.cancel()


@settings(max_examples=30, deadline=None)
@given(
    scripts=st.lists(st.lists(SCRIPTS, max_size=5), min_size=1, max_size=3),
    attach=st.lists(st.booleans(), min_size=3, max_size=3),
    refresh_mode=st.sampled_from(["ok", "ok", "fail", "not_found"]),
)
def test_random_gateway_scripts_finish_each_run_exactly_once(
    scripts: list[list[Script]], attach: list[bool], refresh_mode: str
) -> None:
    """Whatever the gateway does, each run notifies once and leaves nothing behind."""
    by_op = {f"op-{n}": per_op for n, per_op in enumerate(scripts)}
    clock = trio.testing.MockClock(autojump_threshold=0)
    trio.run(drive, by_op, attach, refresh_mode, clock=clock)
