"""Hypothesis strategies for every protocol v2 ("mux") message, hub's and client's.

Owns: the v2 frames of PROTOCOL.md 7.2 and 7.3, drawn with realistic and arbitrary
values: subscriptions (with their optional fields set or not), envelopes around the v1
agent events (own or a member's), status changes, `resume_complete` (pending, with a
gap, without a status), refusals, the user's lifecycle feed, hub errors, the
confirmation and input exchanges, and frames of types a client does not handle.
``decode_mux(encode_mux(m)) == m`` holds for every hub message drawn (a `SubscribeFailed`
reason or a `HubError` message holding a secret comes back redacted) and
``decode_mux_client(encode_mux(m)) == m`` for every client message.
Must not know: the store, the transport, or what a client does with a message.
"""

from __future__ import annotations

import string
from typing import Any

from hypothesis import strategies as st

from gatewayops.protocol import (
    MUX_PROTOCOL,
    HubError,
    InputRequest,
    MuxAgentEvent,
    MuxClientMessage,
    MuxResumeComplete,
    MuxServerMessage,
    MuxSessionComplete,
    MuxToolResult,
    OpLifecycle,
    Ready,
    StatusChange,
    Subscribe,
    SubscribeFailed,
    SubscribeFailure,
    ToolConfirmation,
    ToolConfirmationRequest,
    UnknownMessage,
    Unsubscribe,
    UserInput,
)
from gatewayops.testing._message_strategies import (
    agent_events,
    heartbeat_ack_messages,
    heartbeat_messages,
    tool_result_messages,
)
from gatewayops.testing._value_strategies import (
    EPOCH_MS,
    SHORT_TEXT,
    as_strategy,
    event_ids,
    foreign_operation_ids,
    json_objects,
    operation_ids,
    prefixed_ids,
    session_statuses,
    tool_call_ids,
)

__all__ = [
    "hub_error_messages",
    "input_request_messages",
    "mux_agent_event_messages",
    "mux_client_messages",
    "mux_resume_complete_messages",
    "mux_server_messages",
    "mux_session_complete_messages",
    "mux_tool_result_messages",
    "mux_unknown_messages",
    "op_lifecycle_messages",
    "ready_messages",
    "status_change_messages",
    "subscribe_failed_messages",
    "subscribe_messages",
    "tool_confirmation_messages",
    "tool_confirmation_request_messages",
    "unsubscribe_messages",
    "user_input_messages",
]

_KNOWN_HUB_TYPES = frozenset(
    {
        "ready",
        "agent_event",
        "session_complete",
        "status_change",
        "resume_complete",
        "subscribe_failed",
        "op_lifecycle",
        "heartbeat_ack",
        "error",
        "tool_confirmation_request",
        "input_request",
    }
)
_UNHANDLED_HUB_TYPES = ("doc_update", "doc_presence", "notify_update")
_HUB_ERROR_CODES = ("not_subscribed", "bad_frame", "rate_limited", "internal")
_OPAQUE = st.none() | json_objects()
_OPTIONAL_EVENT_IDS = st.none() | event_ids()
OperationIds = str | st.SearchStrategy[str] | None


def _operations(operation_id: OperationIds) -> st.SearchStrategy[str]:
    return operation_ids() if operation_id is None else as_strategy(operation_id)


# --------------------------------------------------------------------------- client -> hub


def subscribe_messages(operation_id: OperationIds = None) -> st.SearchStrategy[Subscribe]:
    """`subscribe`, from the start or after a cursor, as an executor or not."""
    return st.builds(
        Subscribe,
        operation_id=_operations(operation_id),
        last_event_id=st.just("") | event_ids(),
        executor=st.booleans(),
    )


def unsubscribe_messages(operation_id: OperationIds = None) -> st.SearchStrategy[Unsubscribe]:
    """`unsubscribe`."""
    return st.builds(Unsubscribe, operation_id=_operations(operation_id))


def mux_tool_result_messages(operation_id: OperationIds = None) -> st.SearchStrategy[MuxToolResult]:
    """`tool_result{operationId, ...}`: any v1 tool result, for an operation."""
    return st.builds(
        MuxToolResult, operation_id=_operations(operation_id), result=tool_result_messages()
    )


def tool_confirmation_messages(
    operation_id: OperationIds = None,
) -> st.SearchStrategy[ToolConfirmation]:
    """`tool_confirmation`: the user approves a tool call or not."""
    return st.builds(
        ToolConfirmation,
        operation_id=_operations(operation_id),
        tool_call_id=tool_call_ids(),
        approved=st.booleans(),
    )


def user_input_messages(operation_id: OperationIds = None) -> st.SearchStrategy[UserInput]:
    """`user_input`: the text answering an `input_request`."""
    return st.builds(
        UserInput,
        operation_id=_operations(operation_id),
        request_id=prefixed_ids("req_"),
        content=SHORT_TEXT,
    )


def mux_client_messages(operation_id: OperationIds = None) -> st.SearchStrategy[MuxClientMessage]:
    """Any client -> hub message."""
    return st.one_of(
        subscribe_messages(operation_id),
        unsubscribe_messages(operation_id),
        heartbeat_messages(),
        mux_tool_result_messages(operation_id),
        tool_confirmation_messages(operation_id),
        user_input_messages(operation_id),
    )


# --------------------------------------------------------------------------- hub -> client


def ready_messages() -> st.SearchStrategy[Ready]:
    """`ready`, announcing protocol 2."""
    return st.builds(
        Ready,
        user_id=prefixed_ids("user_"),
        connection_id=prefixed_ids("conn_"),
        protocol=st.just(MUX_PROTOCOL),
    )


@st.composite
def mux_agent_event_messages(
    draw: st.DrawFn, operation_id: OperationIds = None, *, foreign: bool | None = None
) -> MuxAgentEvent:
    """`agent_event` envelopes; the event is the envelope's own or (`foreign`) another's.

    Args:
        operation_id: the envelope's operation (a string or a strategy; any if None).
        foreign: only foreign events (True), only own ones (False), or either (None).
    """
    envelope = draw(_operations(operation_id))
    is_foreign = draw(st.booleans()) if foreign is None else foreign
    owner = draw(foreign_operation_ids(envelope)) if is_foreign else envelope
    event = draw(agent_events(owner))
    return MuxAgentEvent(operation_id=envelope, event=event, id=draw(_OPTIONAL_EVENT_IDS))


def mux_session_complete_messages(
    operation_id: OperationIds = None,
) -> st.SearchStrategy[MuxSessionComplete]:
    """`session_complete`, with or without an id and a summary."""
    return st.builds(
        MuxSessionComplete,
        operation_id=_operations(operation_id),
        id=_OPTIONAL_EVENT_IDS,
        summary=_OPAQUE,
    )


def status_change_messages(
    operation_id: OperationIds = None, *, terminal: bool | None = None
) -> st.SearchStrategy[StatusChange]:
    """`status_change` to any status, or only terminal / only live ones."""
    return st.builds(
        StatusChange,
        operation_id=_operations(operation_id),
        status=session_statuses(terminal=terminal),
        id=_OPTIONAL_EVENT_IDS,
    )


def mux_resume_complete_messages(
    operation_id: OperationIds = None,
) -> st.SearchStrategy[MuxResumeComplete]:
    """`resume_complete`: any status or none, with or without a gap, pending or not."""
    return st.builds(
        MuxResumeComplete,
        operation_id=_operations(operation_id),
        status=st.none() | session_statuses(),
        gap=st.booleans(),
        pending=st.booleans(),
    )


def subscribe_failed_messages(
    operation_id: OperationIds = None,
) -> st.SearchStrategy[SubscribeFailed]:
    """`subscribe_failed`, for a known reason or an arbitrary one."""
    reasons = st.sampled_from([reason.value for reason in SubscribeFailure]) | SHORT_TEXT
    return st.builds(SubscribeFailed, operation_id=_operations(operation_id), reason=reasons)


@st.composite
def op_lifecycle_messages(draw: st.DrawFn, operation_id: OperationIds = None) -> OpLifecycle:
    """The user's feed: an operation with a status, or gone; maybe meta and a summary."""
    gone = draw(st.booleans())
    return OpLifecycle(
        operation_id=draw(_operations(operation_id)),
        status=None if gone else draw(session_statuses()),
        gone=gone,
        at=draw(EPOCH_MS),
        meta=draw(_OPAQUE),
        summary=draw(_OPAQUE),
    )


def hub_error_messages(operation_id: OperationIds = None) -> st.SearchStrategy[HubError]:
    """`error`, for one operation or for the link."""
    return st.builds(
        HubError,
        code=st.sampled_from(_HUB_ERROR_CODES),
        message=SHORT_TEXT,
        operation_id=st.none() | _operations(operation_id),
    )


def tool_confirmation_request_messages(
    operation_id: OperationIds = None,
) -> st.SearchStrategy[ToolConfirmationRequest]:
    """`tool_confirmation_request`: may the agent run this tool (kept opaque)?"""
    return st.builds(
        ToolConfirmationRequest,
        operation_id=_operations(operation_id),
        tool_call_id=tool_call_ids(),
        tool=_OPAQUE,
    )


def input_request_messages(operation_id: OperationIds = None) -> st.SearchStrategy[InputRequest]:
    """`input_request`: the agent asks for free text."""
    return st.builds(
        InputRequest,
        operation_id=_operations(operation_id),
        request_id=prefixed_ids("req_"),
        prompt=SHORT_TEXT,
    )


_UNKNOWN_TYPES = st.sampled_from(_UNHANDLED_HUB_TYPES) | st.text(
    string.ascii_lowercase + "_", min_size=1, max_size=16
).filter(lambda name: name not in _KNOWN_HUB_TYPES)


@st.composite
def mux_unknown_messages(draw: st.DrawFn) -> UnknownMessage:
    """Hub frames of a type this client does not handle; `payload` is the whole frame."""
    message_type = draw(_UNKNOWN_TYPES)
    payload: dict[str, Any] = draw(json_objects())
    payload["type"] = message_type
    return UnknownMessage(type=message_type, payload=payload)


def mux_server_messages(
    operation_id: OperationIds = None, *, include_unknown: bool = True
) -> st.SearchStrategy[MuxServerMessage]:
    """Any hub -> client message; operation-scoped ones for `operation_id` (any if None)."""
    choices: list[st.SearchStrategy[MuxServerMessage]] = [
        ready_messages(),
        mux_agent_event_messages(operation_id),
        mux_session_complete_messages(operation_id),
        status_change_messages(operation_id),
        mux_resume_complete_messages(operation_id),
        subscribe_failed_messages(operation_id),
        op_lifecycle_messages(operation_id),
        heartbeat_ack_messages(),
        hub_error_messages(operation_id),
        tool_confirmation_request_messages(operation_id),
        input_request_messages(operation_id),
    ]
    if include_unknown:
        choices.append(mux_unknown_messages())
    return st.one_of(choices)
