"""Builders for the v2 runtime tests: a v2 client, a fake hub's side of the user's socket.

The memory transport carries text frames; these helpers read and write them with the
v2 codec (`encode_mux`, `decode_mux_client`), as the reference hub does. Every builder
defaults to the operations most tests follow (`OP`, `OP2`, `OP3`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import attrs
import trio

from gatewayops.effects import Client, ToolHandler
from gatewayops.protocol import (
    AgentEvent,
    MuxAgentEvent,
    MuxClientMessage,
    MuxServerMessage,
    Ready,
    Subscribe,
    decode_mux_client,
    encode_mux,
)
from gatewayops.store import StoreConfig
from gatewayops.transport import MemoryTransport, ServerConnection

from .helpers import GATEWAY, OP, TOKEN, TOPIC, Recorder, client_on, refresh_ok

OP2 = "op-2"
OP3 = "op-3"
USER_TOKEN = "user-jwt-1"
T = TypeVar("T")


@attrs.define
class UserTokens:
    """A `user_token` dependency: hands out ``user-jwt-<n>`` and counts the calls; the
    first `failures` calls raise instead."""

    failures: int = 0
    calls: int = 0
    times: list[float] = attrs.field(factory=list)

    async def __call__(self) -> str:
        await trio.lowlevel.checkpoint()
        self.calls += 1
        self.times.append(trio.current_time())
        if self.calls <= self.failures:
            raise RuntimeError(f"token service down (call {self.calls})")
        return f"user-jwt-{self.calls - self.failures}"


@asynccontextmanager
async def v2_client_on(
    transport: MemoryTransport,
    *,
    user_token: Any = None,
    recorder: Recorder | None = None,
    config: StoreConfig | None = None,
    fallback: str | None = None,
    jitter: bool = False,
    random_seed: int = 7,
    refresh_token: Any = refresh_ok,
    tools: dict[str, ToolHandler] | None = None,
) -> AsyncIterator[Client]:
    """A protocol v2 client on the memory transport (jitter off unless asked), checking
    every step against the invariants; none may be violated by the end of the block."""
    async with client_on(
        transport,
        recorder=recorder,
        refresh_token=refresh_token,
        tools=tools,
        config=config,
        jitter=jitter,
        random_seed=random_seed,
        check_invariants=True,
        protocol="v2",
        user_token=UserTokens() if user_token is None else user_token,
        fallback=fallback,
    ) as client:
        yield client
    assert client.invariant_violations == ()


def start(client: Client, operation_id: str = OP, *, topic: str | None = None) -> None:
    """Start `operation_id` on its own topic, with a v1 token for a fallback."""
    client.start(
        operation_id=operation_id,
        topic_id=topic or f"{TOPIC}-{operation_id}",
        gateway_url=GATEWAY,
        token=TOKEN,
    )


def send(server: ServerConnection, message: MuxServerMessage) -> None:
    """Send one hub frame, encoded with the v2 codec."""
    server.send(encode_mux(message))


async def receive(server: ServerConnection) -> MuxClientMessage:
    """The next client frame on the user's socket, decoded with the v2 codec."""
    return decode_mux_client(await server.receive())


async def expect(server: ServerConnection, kind: type[T]) -> T:
    """The next client frame, which must be of class `kind`."""
    message = await receive(server)
    assert isinstance(message, kind), f"expected {kind.__name__}, got {message!r}"
    return message


def greet(server: ServerConnection) -> ServerConnection:
    """Say `ready` on an accepted socket of the user."""
    send(server, Ready(user_id="user-1", connection_id="conn-1"))
    return server


async def ready(transport: MemoryTransport) -> ServerConnection:
    """Accept the next dial of the user's socket and greet it with `ready`."""
    return greet(await transport.accept())


async def subscriptions(server: ServerConnection, count: int) -> dict[str, Subscribe]:
    """The next `count` client frames, each a `subscribe`, by operation id."""
    found = [await expect(server, Subscribe) for _ in range(count)]
    return {s.operation_id: s for s in found}


def mux_event(
    type_: str, data: Any = None, *, id: str | None = None, op: str = OP
) -> MuxAgentEvent:
    """An `agent_event` for `op` with envelope id `id`."""
    return MuxAgentEvent(
        operation_id=op, event=AgentEvent(type=type_, operation_id=op, data=data), id=id
    )


def mux_chunk(text: str, *, id: str, op: str = OP) -> MuxAgentEvent:
    """A text `stream_chunk` for `op`."""
    return mux_event("stream_chunk", {"chunkType": "text", "content": text}, id=id, op=op)


def mux_end(*, id: str, op: str = OP) -> MuxAgentEvent:
    """A clean `agent_runtime_end` for `op` (its own terminal event)."""
    return mux_event("agent_runtime_end", {}, id=id, op=op)


def query(url: str) -> dict[str, list[str]]:
    """The query parameters of a dialled URL."""
    return parse_qs(urlsplit(url).query)


def path(url: str) -> str:
    """Scheme, host and path of a dialled URL (the query left off)."""
    return url.split("?", 1)[0]
