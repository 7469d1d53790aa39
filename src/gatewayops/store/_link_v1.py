"""Protocol v1: one WebSocket per operation, authenticated in the socket (PROTOCOL.md 1-2).

Owns: what a v1 link is (`v1_link`: the operation's own link, `/ws?operationId=` URL),
the frames it writes (`auth` with the session's token once the socket opens, `resume`
and queued tool results once authenticated, heartbeats), and turning each v1 server
frame into link changes and the protocol-neutral session signals of `_session`:
`auth_success` subscribes the session, `auth_failed` rejects it, `auth_expired` starts
a refresh, `agent_event`, `session_complete` and `resume_complete` go to the session,
`heartbeat_ack` and news keep the link healthy and not quiet. A frame's unreadable
fields count against the session it carried. Protocol v2 is a module beside this one.
Must not know: sockets, timers, or the topic map.
"""

from __future__ import annotations

from typing import TypeAlias, assert_never

from gatewayops.protocol import (
    AgentEventMessage,
    Auth,
    AuthExpired,
    AuthFailed,
    AuthSuccess,
    ClientMessage,
    Heartbeat,
    HeartbeatAck,
    ResumeComplete,
    ServerMessage,
    SessionComplete,
    UnknownMessage,
    operation_url,
)
from gatewayops.store._config import StoreConfig
from gatewayops.store._delivery import NO_EFFECTS, note_problems
from gatewayops.store._effects import Effect, SendMessage
from gatewayops.store._link import acked, authenticated, expired, healthy, heard, opened
from gatewayops.store._refresh import on_token_expired
from gatewayops.store._session import (
    on_auth_rejected,
    on_event,
    on_session_end,
    on_status,
    on_subscribed,
)
from gatewayops.store._state import Link, Operation

__all__ = ["PairStep", "heartbeat", "on_message", "on_opened", "sends", "v1_link"]

PairStep: TypeAlias = tuple[Link, Operation, tuple[Effect, ...]]
_HEARTBEAT = Heartbeat()


def v1_link(operation_id: str, gateway_url: str) -> Link:
    """The link of a v1 operation: its own, dialling the operation's socket URL.

    Raises:
        InvalidGatewayUrl: the gateway URL is empty or has a wrong scheme.
    """
    return Link(
        id=operation_id, url=operation_url(gateway_url, operation_id), operation_id=operation_id
    )


def sends(link: Link, frames: tuple[ClientMessage, ...]) -> tuple[Effect, ...]:
    """The effects that write `frames` on the link's current socket, in order."""
    return tuple(
        SendMessage(link_id=link.id, generation=link.generation, message=frame) for frame in frames
    )


def heartbeat(link: Link) -> SendMessage:
    """The heartbeat frame due on the link's socket."""
    return SendMessage(link_id=link.id, generation=link.generation, message=_HEARTBEAT)


def on_opened(link: Link, op: Operation) -> PairStep:
    """The handshake completed: authenticate with the session's current token."""
    moved = opened(link)
    if moved is None:
        return link, op, NO_EFFECTS
    return moved, op, sends(moved, (Auth(token=op.token),))


def on_message(link: Link, op: Operation, config: StoreConfig, message: ServerMessage) -> PairStep:
    """One decoded v1 server frame on the link's current socket."""
    if message.problems:
        op = note_problems(op, message.problems)
    if link.quiet and type(message) is not HeartbeatAck:
        link = heard(link)
    effects: tuple[Effect, ...]
    if type(message) is AgentEventMessage:  # the streaming hot path, before the match
        if link.attempt:
            link = healthy(link)
        op, effects = on_event(op, message)
        return link, op, effects
    match message:
        case HeartbeatAck():
            link, effects = acked(link), NO_EFFECTS
        case AuthSuccess():
            moved = authenticated(link)
            if moved is None:
                return link, op, NO_EFFECTS
            op, flushed, frames = on_subscribed(op, moved.generation)
            link, effects = moved, (*flushed, *sends(moved, frames))
        case AuthFailed(reason=reason):
            op, effects = on_auth_rejected(op, reason)
        case AuthExpired():
            moved = expired(link)
            if moved is None:
                return link, op, NO_EFFECTS
            link = moved
            op, effects = on_token_expired(op, config)
        case SessionComplete():
            op, effects = on_session_end(op)
        case ResumeComplete(status=status, gap=gap):
            op, effects = on_status(op, status, gap=gap)
        case UnknownMessage():
            effects = NO_EFFECTS
        case AgentEventMessage():  # pragma: no cover - handled above
            raise AssertionError("agent events are handled before the match")
        case _:
            assert_never(message)
    return link, op, effects
