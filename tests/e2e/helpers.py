"""Shared pieces of the end-to-end tests: a real gateway and a real client on loopback.

Everything here is real: the reference gateway (`open_gateway`) listens on 127.0.0.1,
the client (`open_client`) dials it with `WebSocketTransport`. Tests wait for events
and conditions (`Client.wait_finished`, `Client.changes`, `Gateway.wait_statistics`),
never for wall-clock time; scripts use short delays so a run lasts a fraction of a
second.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager

import attrs
import trio

from gatewayops.cli._lab import Witness, script_text, streamed
from gatewayops.effects import Client, RefreshTokenFn, ToolHandler, UserTokenFn, open_client
from gatewayops.gateway import Gateway, RunHandle, Script, clean_run, open_gateway
from gatewayops.store import (
    Link,
    Middleware,
    Operation,
    Outcome,
    StoreConfig,
    Transcript,
    resources,
)
from gatewayops.transport import Transport, WebSocketTransport

__all__ = [
    "FAST",
    "Env",
    "assert_nothing_leaked",
    "assert_text_once",
    "assert_v2_nothing_leaked",
    "e2e",
    "long_script",
    "refetched_transcript",
    "script_text",
    "streamed",
]

FAST = StoreConfig(initial_backoff_ms=50, max_backoff_ms=400)
"""Protocol defaults with a short reconnect backoff, so a fault costs milliseconds."""


def long_script(name: str, chunks: int = 20, delay: float = 0.02) -> Script:
    """A run streaming `chunks` distinct words, `delay` seconds apart, then a clean end."""
    return clean_run(
        " ".join(f"{name}-{index}" for index in range(chunks)), chunks=chunks, delay=delay
    )


@attrs.define
class Env:
    """A gateway, a client following operations on it, and the client's witness."""

    gateway: Gateway
    client: Client
    witness: Witness

    def start(self, script: Script, *, topic_id: str | None = None) -> RunHandle:
        """Start `script` on the gateway and follow it at once with `Client.start`."""
        run = self.gateway.start_run(script, topic_id=topic_id)
        self.client.start(
            operation_id=run.operation_id,
            topic_id=run.topic_id,
            gateway_url=self.gateway.url,
            token=run.token,
        )
        return run

    def operation(self, run: RunHandle) -> Operation:
        """The client's current snapshot of the run's operation."""
        return self.client.state.operations[run.operation_id]

    def link(self, op: Operation) -> Link:
        """The client's current link of `op` (its socket's status and generation)."""
        return self.client.state.link_of(op)

    async def until(self, run: RunHandle, predicate: Callable[[Operation], bool]) -> Operation:
        """Wait until the run's operation satisfies `predicate` (or finishes); it is
        tried whenever the operation or its link changed (read that with `link`)."""
        return await streamed(self.client, run.operation_id, predicate)

    async def finish(self, run: RunHandle) -> tuple[Outcome, Operation]:
        """Wait until the run's operation finished and its socket closed."""
        outcome = await self.client.wait_finished(run.operation_id)
        return outcome, self.operation(run)


@asynccontextmanager
async def e2e(
    *,
    config: StoreConfig = FAST,
    tools: Mapping[str, ToolHandler] | None = None,
    transport: Transport | None = None,
    refresh_token: Callable[[Gateway], RefreshTokenFn] | None = None,
    middleware: Sequence[Middleware] = (),
    protocol: str | None = None,
    user_token: Callable[[Gateway], UserTokenFn] | None = None,
    fallback: str | None = None,
) -> AsyncIterator[Env]:
    """A fresh gateway on 127.0.0.1 and a real client wired to it.

    The client's `refresh_token`, `interrupt`, `submit_intervention` and
    `fetch_messages` are the gateway's (unless `refresh_token` builds another from the
    gateway); a `Witness` counts its notifications. With ``protocol="v2"`` the user
    token comes from the gateway's token service (unless `user_token` builds another
    from the gateway), and `fallback` is passed on. Leaving the block closes both.
    """
    async with open_gateway() as gateway:
        witness = Witness()
        refresh = gateway.refresh_token if refresh_token is None else refresh_token(gateway)
        user = gateway.v2.user_token if user_token is None else user_token(gateway)
        async with open_client(
            refresh_token=refresh,
            interrupt=gateway.interrupt,
            submit_intervention=gateway.submit_intervention,
            fetch_messages=gateway.fetch_messages,
            tools=tools,
            config=config,
            transport=WebSocketTransport() if transport is None else transport,
            random_seed=0,
            middleware=[witness, *middleware],
            protocol=protocol,
            user_token=user if protocol == "v2" else None,
            fallback=fallback,
        ) as client:
            yield Env(gateway=gateway, client=client, witness=witness)


async def assert_nothing_leaked(env: Env) -> None:
    """Every operation finished exactly once and nothing of it is left on either side."""
    stats = env.client.statistics()
    assert attrs.asdict(stats) == dict.fromkeys(attrs.asdict(stats), 0), stats
    await env.gateway.wait_statistics(lambda s: s.open_sockets == 0 and s.held_connections == 0)
    _assert_notified_once(env)


async def assert_v2_nothing_leaked(env: Env) -> None:
    """`assert_nothing_leaked` for a v2 client, whose `wait_finished` does not wait for
    the user's shared socket: first wait until the gateway saw every socket close (the
    lazy v2 socket closes after the last run ended); then the client's state wants no
    socket or timer, none exists, and no run is live. (The closed socket's task may
    still be finishing its close handshake; leaving `e2e` waits for it.)"""
    await env.gateway.v2.wait_statistics(lambda s: s.sockets == 0)
    await env.gateway.wait_statistics(lambda s: s.open_sockets == 0 and s.held_connections == 0)
    assert resources(env.client.state) == frozenset()
    stats = env.client.statistics()
    held = (stats.open_sockets, stats.armed_timers, stats.running_effect_tasks)
    assert (*held, stats.live_operations) == (0, 0, 0, 0), stats
    _assert_notified_once(env)


def _assert_notified_once(env: Env) -> None:
    notified = env.witness.finished
    assert set(notified.values()) <= {1}, notified
    assert len(notified) == len(env.client.state.operations)


def assert_text_once(op: Operation, script: Script) -> None:
    """The operation shows the script's full text, every chunk exactly once."""
    assert op.transcript.text == script_text(script)


async def refetched_transcript(env: Env, operation_id: str) -> Transcript:
    """The operation's transcript once it no longer waits for the server's list."""
    settled = trio.Event()

    def check(*_: object) -> None:
        if not env.client.state.operations[operation_id].transcript.needs_refetch:
            settled.set()

    unsubscribe = env.client.subscribe(check)
    check()
    await settled.wait()
    unsubscribe()
    return env.client.state.operations[operation_id].transcript
