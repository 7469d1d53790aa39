"""Builders for the runtime tests: frames, a fake gateway's handshake, a recorder.

Every builder defaults to the one operation most tests follow (`OP` on `TOPIC`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import attrs
import trio

from gatewayops.effects import Client, ToolHandler, open_client
from gatewayops.protocol import (
    AgentEvent,
    AgentEventMessage,
    Auth,
    AuthSuccess,
    ClientMessage,
    Resume,
)
from gatewayops.store import Action, GatewayState, NotifyFinished, Step, StoreConfig
from gatewayops.transport import MemoryTransport, ServerConnection

OP = "op-1"
TOPIC = "topic-1"
GATEWAY = "ws://gateway.test"
TOKEN = "jwt-1"
FRESH_TOKEN = "jwt-2"


def event(
    type_: str, data: Any = None, *, id: str | None = None, op: str = OP
) -> AgentEventMessage:
    """An `agent_event` frame with envelope id `id`."""
    return AgentEventMessage(event=AgentEvent(type=type_, operation_id=op, data=data), id=id)


def chunk(text: str, *, id: str | None = None, op: str = OP) -> AgentEventMessage:
    """A text `stream_chunk`."""
    return event("stream_chunk", {"chunkType": "text", "content": text}, id=id, op=op)


def runtime_end(*, id: str | None = None, op: str = OP) -> AgentEventMessage:
    """A clean `agent_runtime_end`."""
    return event("agent_runtime_end", {}, id=id, op=op)


def tool_execute(
    identifier: str = "calc",
    api_name: str = "add",
    arguments: str = '{"a": 1, "b": 2}',
    *,
    call_id: str = "call-1",
    timeout_ms: int = 10_000,
) -> AgentEventMessage:
    """A `tool_execute` asking the client to run a tool."""
    data = {
        "toolCallId": call_id,
        "identifier": identifier,
        "apiName": api_name,
        "arguments": arguments,
        "executionTimeoutMs": timeout_ms,
    }
    return event("tool_execute", data)


async def settle() -> None:
    """Let every runnable task run (a 1 ms virtual sleep: autojump moves only when idle)."""
    await trio.sleep(0.001)


async def refresh_ok(topic_id: str) -> str:
    """A `refresh_token` dependency that always succeeds."""
    await trio.lowlevel.checkpoint()
    return FRESH_TOKEN


@attrs.define
class Recorder:
    """Middleware that keeps every action and every `NotifyFinished` effect."""

    actions: list[Action] = attrs.field(factory=list)
    times: list[float] = attrs.field(factory=list)
    finished: list[NotifyFinished] = attrs.field(factory=list)

    def __call__(self, old: GatewayState, action: Action, step: Step) -> None:
        self.actions.append(action)
        self.times.append(trio.current_time())
        self.finished.extend(e for e in step.effects if isinstance(e, NotifyFinished))

    def of_type(self, kind: type[Any]) -> list[Any]:
        """The recorded actions of one class."""
        return [action for action in self.actions if isinstance(action, kind)]

    def times_of(self, kind: type[Any]) -> list[float]:
        """When the actions of one class were dispatched (trio clock)."""
        return [t for t, a in zip(self.times, self.actions, strict=True) if isinstance(a, kind)]


@asynccontextmanager
async def client_on(
    transport: MemoryTransport,
    *,
    recorder: Recorder | None = None,
    refresh_token: Any = refresh_ok,
    interrupt: Any = None,
    submit_intervention: Any = None,
    fetch_messages: Any = None,
    tools: dict[str, ToolHandler] | None = None,
    config: StoreConfig | None = None,
    jitter: bool = False,
    random_seed: int = 7,
    check_invariants: bool = False,
    protocol: str | None = None,
    user_token: Any = None,
    fallback: str | None = None,
) -> AsyncIterator[Client]:
    """A client on the memory transport (jitter off unless asked); v1 unless `protocol`
    says otherwise."""
    async with open_client(
        refresh_token=refresh_token,
        interrupt=interrupt,
        submit_intervention=submit_intervention,
        fetch_messages=fetch_messages,
        tools=tools,
        config=config,
        transport=transport,
        jitter=jitter,
        random_seed=random_seed,
        middleware=() if recorder is None else (recorder,),
        check_invariants=check_invariants,
        protocol=protocol,
        user_token=user_token,
        fallback=fallback,
    ) as client:
        yield client


async def expect(server: ServerConnection, kind: type[ClientMessage]) -> Any:
    """The next client frame, which must be of class `kind`."""
    message = await server.receive_message()
    assert isinstance(message, kind), f"expected {kind.__name__}, got {message!r}"
    return message


async def handshake(transport: MemoryTransport) -> tuple[ServerConnection, Resume]:
    """Accept the next connection, answer its `auth` with success, return its `resume`."""
    server = await transport.accept()
    await expect(server, Auth)
    server.send_message(AuthSuccess())
    resume = await expect(server, Resume)
    return server, resume
