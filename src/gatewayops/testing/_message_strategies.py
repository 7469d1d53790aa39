"""Hypothesis strategies for every protocol v1 message, server's and client's.

Owns: agent events (any operation's, own or forwarded, of every `EventType`) and their
`agent_event` envelopes, the control frames of each side, frames of types the client
does not handle, and tool results. ``decode(encode(m)) == m`` holds for every server
message drawn and ``decode_client(encode(m)) == m`` for every client message. Must not
know: the store, the transport, or what a client does with a message.
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from typing import Any

from hypothesis import strategies as st

from gatewayops.protocol import (
    AgentEvent,
    AgentEventMessage,
    Auth,
    AuthExpired,
    AuthFailed,
    AuthSuccess,
    ClientMessage,
    EventType,
    Heartbeat,
    HeartbeatAck,
    Interrupt,
    Resume,
    ResumeComplete,
    ServerMessage,
    SessionComplete,
    ToolError,
    ToolResult,
    UnknownMessage,
)
from gatewayops.testing._event_data_strategies import event_data
from gatewayops.testing._value_strategies import (
    EPOCH_MS,
    SHORT_TEXT,
    as_strategy,
    event_ids,
    json_objects,
    operation_ids,
    session_statuses,
    tokens,
    tool_call_ids,
)

__all__ = [
    "agent_event_messages",
    "agent_events",
    "auth_expired_messages",
    "auth_failed_messages",
    "auth_messages",
    "auth_success_messages",
    "client_messages",
    "heartbeat_ack_messages",
    "heartbeat_messages",
    "interrupt_messages",
    "resume_complete_messages",
    "resume_messages",
    "server_messages",
    "session_complete_messages",
    "tool_errors",
    "tool_result_messages",
    "unknown_messages",
]

_KNOWN_SERVER_TYPES = frozenset(
    {
        "auth_success",
        "auth_failed",
        "auth_expired",
        "heartbeat_ack",
        "agent_event",
        "session_complete",
        "resume_complete",
    }
)
_UNHANDLED_SERVER_TYPES = ("status_change", "tool_confirmation_request", "input_request")
_TOOL_ERROR_TYPES = (
    "arguments_parse_error",
    "executor_not_found",
    "client_executor_timeout",
    "client_tool_execution_error",
    "client_executor_no_result",
)


# --------------------------------------------------------------------------- agent events


_STEP_INDEXES = st.integers(0, 200)
_EVENT_TIMESTAMPS = EPOCH_MS | st.floats(1.6e12, 2e12)
_OPTIONAL_EVENT_IDS = st.none() | event_ids()


def agent_events(
    operation_id: str | st.SearchStrategy[str] | None = None,
    *,
    event_types: Iterable[str] | None = None,
) -> st.SearchStrategy[AgentEvent]:
    """AgentStreamEvents of every `EventType`, each with realistic `data`.

    Args:
        operation_id: the `operationId` of every event drawn (a string), a strategy for
            it (e.g. `own_operation_ids("op-1")` or `foreign_operation_ids("op-1")`), or
            ``None`` for arbitrary operation ids.
        event_types: restrict the event types drawn (default: all of `EventType`); a
            type `EventType` does not list gets arbitrary JSON data.
    """
    types = [t.value for t in EventType] if event_types is None else [str(t) for t in event_types]
    if not types:
        raise ValueError("event_types: must name at least one event type")
    operation_ids_ = operation_ids() if operation_id is None else as_strategy(operation_id)
    return st.one_of(
        [
            st.builds(
                AgentEvent,
                type=st.just(event_type),
                operation_id=operation_ids_,
                step_index=_STEP_INDEXES,
                timestamp=_EVENT_TIMESTAMPS,
                data=event_data(event_type),
                id=_OPTIONAL_EVENT_IDS,
            )
            for event_type in types
        ]
    )


def agent_event_messages(
    operation_id: str | st.SearchStrategy[str] | None = None,
    *,
    event_types: Iterable[str] | None = None,
) -> st.SearchStrategy[AgentEventMessage]:
    """`agent_event` envelopes, usually carrying an envelope id (the resume cursor).

    Args: as `agent_events`.
    """
    return _envelopes(agent_events(operation_id, event_types=event_types))


@st.composite
def _envelopes(draw: st.DrawFn, events: st.SearchStrategy[AgentEvent]) -> AgentEventMessage:
    event = draw(events)
    match draw(st.integers(0, 3)):
        case 0:
            envelope_id = None
        case 1:
            envelope_id = event.id  # the server often repeats the cursor inside the event
        case _:
            envelope_id = draw(event_ids())
    return AgentEventMessage(event=event, id=envelope_id)


# --------------------------------------------------------------------------- server messages


def auth_success_messages() -> st.SearchStrategy[AuthSuccess]:
    """`auth_success`."""
    return st.just(AuthSuccess())


def auth_failed_messages() -> st.SearchStrategy[AuthFailed]:
    """`auth_failed` with a realistic or arbitrary reason (possibly empty)."""
    reasons = st.sampled_from(("invalid token", "operation not found", "")) | st.text(max_size=30)
    return st.builds(AuthFailed, reason=reasons)


def auth_expired_messages() -> st.SearchStrategy[AuthExpired]:
    """`auth_expired`."""
    return st.just(AuthExpired())


def heartbeat_ack_messages() -> st.SearchStrategy[HeartbeatAck]:
    """`heartbeat_ack`."""
    return st.just(HeartbeatAck())


def session_complete_messages() -> st.SearchStrategy[SessionComplete]:
    """`session_complete`."""
    return st.just(SessionComplete())


def resume_complete_messages(*, terminal: bool | None = None) -> st.SearchStrategy[ResumeComplete]:
    """`resume_complete` with any status, or only terminal / only live ones; now and then
    flagging a gap in the replay (`gap: true`)."""
    return st.builds(
        ResumeComplete,
        status=session_statuses(terminal=terminal),
        gap=st.sampled_from((False, False, False, True)),
    )


_UNKNOWN_TYPES = st.sampled_from(_UNHANDLED_SERVER_TYPES) | st.text(
    string.ascii_lowercase + "_", min_size=1, max_size=16
).filter(lambda name: name not in _KNOWN_SERVER_TYPES)


@st.composite
def unknown_messages(draw: st.DrawFn) -> UnknownMessage:
    """Frames of a type this client does not handle; `payload` is the whole frame."""
    message_type = draw(_UNKNOWN_TYPES)
    payload: dict[str, Any] = draw(json_objects())
    payload["type"] = message_type
    return UnknownMessage(type=message_type, payload=payload)


def server_messages(
    operation_id: str | st.SearchStrategy[str] | None = None,
    *,
    include_unknown: bool = True,
) -> st.SearchStrategy[ServerMessage]:
    """Any server -> client message; agent events get `operation_id` as in `agent_events`."""
    choices: list[st.SearchStrategy[ServerMessage]] = [
        auth_success_messages(),
        auth_failed_messages(),
        auth_expired_messages(),
        heartbeat_ack_messages(),
        agent_event_messages(operation_id),
        session_complete_messages(),
        resume_complete_messages(),
    ]
    if include_unknown:
        choices.append(unknown_messages())
    return st.one_of(choices)


# --------------------------------------------------------------------------- client messages


def auth_messages() -> st.SearchStrategy[Auth]:
    """`auth` carrying a JWT-shaped token."""
    return st.builds(Auth, token=tokens())


def resume_messages() -> st.SearchStrategy[Resume]:
    """`resume` from the beginning (``""``) or after an event id, with or without status."""
    return st.builds(Resume, last_event_id=st.just("") | event_ids(), want_status=st.booleans())


def heartbeat_messages() -> st.SearchStrategy[Heartbeat]:
    """`heartbeat`."""
    return st.just(Heartbeat())


def interrupt_messages() -> st.SearchStrategy[Interrupt]:
    """The historical `interrupt` frame."""
    return st.just(Interrupt())


def tool_errors() -> st.SearchStrategy[ToolError]:
    """Structured tool failures, with an upstream error type or none."""
    types = st.none() | st.sampled_from(_TOOL_ERROR_TYPES)
    return st.builds(ToolError, message=st.text(min_size=1, max_size=40), type=types)


_OPTIONAL_TEXT = st.none() | SHORT_TEXT
_OPTIONAL_TOOL_ERRORS = st.none() | tool_errors()
_OPAQUE = st.none() | json_objects()


@st.composite
def tool_result_messages(draw: st.DrawFn, tool_call_id: str | None = None) -> ToolResult:
    """`tool_result`: failures may carry a `ToolError`, successes never do; opaque extras.

    Args:
        tool_call_id: answer this tool call (default: an arbitrary id).
    """
    success = draw(st.booleans())
    return ToolResult(
        tool_call_id=draw(tool_call_ids()) if tool_call_id is None else tool_call_id,
        success=success,
        content=draw(_OPTIONAL_TEXT),
        error=None if success else draw(_OPTIONAL_TOOL_ERRORS),
        state=draw(_OPAQUE),
        work_registration=draw(_OPAQUE),
    )


def client_messages() -> st.SearchStrategy[ClientMessage]:
    """Any client -> server message (including the historical `interrupt`)."""
    return st.one_of(
        auth_messages(),
        resume_messages(),
        heartbeat_messages(),
        tool_result_messages(),
        interrupt_messages(),
    )
