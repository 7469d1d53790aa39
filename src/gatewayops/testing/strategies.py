"""Hypothesis strategies for every protocol v1 message, with realistic event data.

Owns: generators of wire messages and their parts (ids, tokens, JSON values, the `data`
of each agent event type) for property tests and model-based tests, here and in users'
code. Every value drawn is JSON-safe (finite floats, integers within JavaScript's safe
range, string keys), so ``decode(encode(m)) == m`` holds for every server message and
``decode_client(encode(m)) == m`` for every client message, and the `data` of the event
types with a typed view parses with `parse_event_data`. Must not know: the store, the
transport, or what a client does with a message.

Needs Hypothesis (the ``test`` extra). Import this module directly::

    from gatewayops.testing import strategies as gs

    @given(gs.agent_events(operation_id="op-1"))
    def test_own_events(event): ...
"""

from __future__ import annotations

import functools
import json
import string
from collections.abc import Iterable
from typing import Any, TypeAlias

from hypothesis import strategies as st

from gatewayops.protocol import (
    AgentEvent,
    AgentEventMessage,
    Auth,
    AuthExpired,
    AuthFailed,
    AuthSuccess,
    ChunkType,
    ClientMessage,
    EventType,
    Heartbeat,
    HeartbeatAck,
    Interrupt,
    Resume,
    ResumeComplete,
    ServerMessage,
    SessionComplete,
    SessionStatus,
    ToolError,
    ToolResult,
    UnknownMessage,
)

__all__ = [
    "RUNTIME_END_REASONS",
    "JsonValue",
    "agent_event_messages",
    "agent_events",
    "auth_expired_messages",
    "auth_failed_messages",
    "auth_messages",
    "auth_success_messages",
    "client_messages",
    "event_data",
    "event_ids",
    "foreign_operation_ids",
    "heartbeat_ack_messages",
    "heartbeat_messages",
    "interrupt_messages",
    "json_objects",
    "json_values",
    "operation_ids",
    "own_operation_ids",
    "resume_complete_messages",
    "resume_messages",
    "server_messages",
    "session_complete_messages",
    "session_statuses",
    "tokens",
    "tool_call_ids",
    "tool_errors",
    "tool_result_messages",
    "unknown_messages",
]

JsonValue: TypeAlias = bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"] | None
"""Any value `json.loads` can return (and `encode` can write back)."""

RUNTIME_END_REASONS = ("completed", "interrupted", "waiting_for_async_tool", "error")
"""`agent_runtime_end` reasons drawn besides an absent one (which is a clean completion)."""

_MAX_SAFE_INT = 2**53 - 1  # JavaScript peers lose precision beyond Number.MAX_SAFE_INTEGER
_ID_CHARS = string.ascii_letters + string.digits
_B64URL_CHARS = _ID_CHARS + "-_"
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


# --------------------------------------------------------------------------- JSON values


def json_values(*, max_leaves: int = 8) -> st.SearchStrategy[JsonValue]:
    """Arbitrary JSON: null, bools, safe integers, finite floats, text, arrays, objects."""
    return _json_values(max_leaves)


@functools.cache  # building strategies is not free; draws inside composites reuse these
def _json_values(max_leaves: int) -> st.SearchStrategy[JsonValue]:
    scalars: st.SearchStrategy[JsonValue] = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-_MAX_SAFE_INT, _MAX_SAFE_INT),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=12),
    )

    def extend(children: st.SearchStrategy[JsonValue]) -> st.SearchStrategy[JsonValue]:
        return st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(st.text(max_size=8), children, max_size=4),
        )

    return st.recursive(scalars, extend, max_leaves=max_leaves)


def json_objects(*, max_size: int = 4) -> st.SearchStrategy[dict[str, JsonValue]]:
    """A JSON object with arbitrary keys and JSON values."""
    return _json_objects(max_size)


@functools.cache
def _json_objects(max_size: int) -> st.SearchStrategy[dict[str, JsonValue]]:
    return st.dictionaries(st.text(max_size=8), json_values(max_leaves=4), max_size=max_size)


# --------------------------------------------------------------------------- ids and tokens


@functools.cache
def _ids(prefix: str) -> st.SearchStrategy[str]:
    return st.text(_ID_CHARS, min_size=4, max_size=12).map(lambda text: prefix + text)


def operation_ids() -> st.SearchStrategy[str]:
    """Non-empty operation ids such as ``op_x81Kd2``."""
    return _ids("op_")


def own_operation_ids(operation_id: str) -> st.SearchStrategy[str]:
    """Ids that make an event `operation_id`'s own: the id itself, or empty (PROTOCOL 1.4)."""
    return st.sampled_from((operation_id, ""))


def foreign_operation_ids(operation_id: str) -> st.SearchStrategy[str]:
    """Non-empty operation ids other than `operation_id` (a member's forwarded events)."""
    return operation_ids().filter(lambda other: other != operation_id)


_EVENT_IDS = st.integers(1, 10**9).map(str)


def event_ids() -> st.SearchStrategy[str]:
    """Server-assigned event ids: decimal strings of positive integers."""
    return _EVENT_IDS


def tool_call_ids() -> st.SearchStrategy[str]:
    """Tool call ids such as ``call_Xy12ab``."""
    return _ids("call_")


def _message_ids() -> st.SearchStrategy[str]:
    return _ids("msg_")


_SEGMENTS = st.text(_B64URL_CHARS, min_size=4, max_size=24)
_TOKENS = st.tuples(_SEGMENTS, _SEGMENTS, _SEGMENTS).map(".".join)


def tokens() -> st.SearchStrategy[str]:
    """JWT-shaped tokens (three base64url segments); never real secrets."""
    return _TOKENS


def session_statuses(*, terminal: bool | None = None) -> st.SearchStrategy[SessionStatus]:
    """Session statuses; only terminal ones, only live ones, or any (``None``)."""
    if terminal is None:
        return st.sampled_from(SessionStatus)
    return st.sampled_from([status for status in SessionStatus if status.is_terminal == terminal])


# --------------------------------------------------------------------------- event data

_Data: TypeAlias = dict[str, Any]
_TEXT = st.text(max_size=40)
_TIMESTAMPS_MS = st.integers(1_600_000_000_000, 2_000_000_000_000)
_SMALL_COUNTS = st.integers(0, 100_000)


def _optional(draw: st.DrawFn, data: _Data, key: str, values: st.SearchStrategy[Any]) -> None:
    if draw(st.booleans()):
        data[key] = draw(values)


_ARGUMENTS_JSON = st.one_of(  # tool arguments: a JSON object as text, as the wire carries them
    st.just("{}"),
    st.text(max_size=20).map(lambda query: json.dumps({"query": query})),
    st.integers(1, 50).map(lambda limit: json.dumps({"path": "/tmp/a.txt", "limit": limit})),
)


@st.composite
def _tool_calling(draw: st.DrawFn) -> _Data:
    return {
        "id": draw(tool_call_ids()),
        "identifier": draw(st.sampled_from(("lobe-web-browsing", "local-system", "mcp-github"))),
        "apiName": draw(st.sampled_from(("search", "readFile", "listIssues", "crawlPage"))),
        "arguments": draw(_ARGUMENTS_JSON),
        "type": draw(st.sampled_from(("builtin", "default", "mcp"))),
    }


_TOOL_CALLINGS = _tool_calling()
_TOOL_CALLING_LISTS = st.lists(_TOOL_CALLINGS, min_size=1, max_size=3)
_CONTEXT_IDS = {
    key: _ids(key[:3] + "_")
    for key in (
        "agentId",
        "groupId",
        "parentId",
        "threadId",
        "topicId",
        "assistantMessageId",
        "toolMessageId",
    )
}


@st.composite
def _stream_start(draw: st.DrawFn) -> _Data:
    data: _Data = {}
    if draw(st.integers(0, 4)) == 0:  # a hetero producer: no id, a new step instead
        data["newStep"] = True
        return data
    message: _Data = {"id": draw(_message_ids())}
    _optional(draw, message, "role", st.just("assistant"))
    for key in ("agentId", "groupId", "parentId", "threadId", "topicId"):
        _optional(draw, message, key, _CONTEXT_IDS[key])
    data["assistantMessage"] = message
    _optional(draw, data, "model", st.sampled_from(("gpt-4o", "claude-sonnet-4", "o3-mini")))
    _optional(draw, data, "provider", st.sampled_from(("openai", "anthropic", "azure")))
    return data


@st.composite
def _stream_chunk(draw: st.DrawFn) -> _Data:
    chunk_type = draw(st.sampled_from(ChunkType))
    data: _Data = {"chunkType": chunk_type.value}
    match chunk_type:
        case ChunkType.TEXT:
            data["content"] = draw(_TEXT)
        case ChunkType.REASONING:
            data["reasoning"] = draw(_TEXT)
        case ChunkType.CONTENT_PART | ChunkType.REASONING_PART:
            data["partType"] = "text"
            data["content"] = draw(_TEXT)
        case ChunkType.TOOLS_CALLING:
            data["toolsCalling"] = draw(_TOOL_CALLING_LISTS)
        case ChunkType.TOOL_STATE:
            data["toolCallId"] = draw(tool_call_ids())
            data["pluginState"] = draw(json_objects())
        case ChunkType.IMAGE:
            image = {"id": draw(_ids("img_")), "url": "https://cdn.test/" + draw(_ids(""))}
            data["imageList"] = [image]
        case ChunkType.BASE64_IMAGE:
            image = {"id": draw(_ids("img_")), "data": "data:image/png;base64,iVBORw0KGgo="}
            data["image"] = image
        case ChunkType.GROUNDING:
            citation = {"title": draw(_TEXT), "url": "https://example.test/" + draw(_ids(""))}
            data["grounding"] = {"citations": [citation], "searchQueries": [draw(_TEXT)]}
    if chunk_type in (ChunkType.TEXT, ChunkType.REASONING) and draw(st.booleans()):
        data["snapshotMode"] = "replace"
        data["snapshotSeq"] = draw(st.integers(0, 10**6))
    return data


def _stream_end() -> st.SearchStrategy[_Data]:
    return st.fixed_dictionaries({}, optional={"finalContent": _TEXT})


@st.composite
def _tool_start(draw: st.DrawFn) -> _Data:
    return {"parentMessageId": draw(_message_ids()), "toolCalling": draw(_TOOL_CALLINGS)}


@st.composite
def _tool_end(draw: st.DrawFn) -> _Data:
    data: _Data = {"isSuccess": draw(st.booleans())}
    _optional(draw, data, "executionTime", _SMALL_COUNTS)
    if draw(st.booleans()):
        calling = draw(_TOOL_CALLINGS)
        data["payload"] = {"parentMessageId": draw(_message_ids()), "toolCalling": calling}
    _optional(draw, data, "result", json_values(max_leaves=4))
    return data


@st.composite
def _tool_execute(draw: st.DrawFn) -> _Data:
    calling = draw(_TOOL_CALLINGS)
    data: _Data = {
        "toolCallId": calling["id"],
        "identifier": calling["identifier"],
        "apiName": calling["apiName"],
        "arguments": calling["arguments"],
    }
    _optional(draw, data, "executionTimeoutMs", st.integers(100, 600_000))
    for key in ("agentId", "assistantMessageId", "topicId", "toolMessageId"):
        _optional(draw, data, key, _CONTEXT_IDS[key])
    return data


_BUDGETS = st.fixed_dictionaries({"remaining": _SMALL_COUNTS})


@st.composite
def _error(draw: st.DrawFn) -> _Data:
    """One of the four upstream shapes (PROTOCOL.md 1.4)."""
    message = draw(st.text(min_size=1, max_size=40))
    kind = draw(st.sampled_from(("InvalidProviderAPIKey", "ProviderBizError", "AgentRuntimeError")))
    match draw(st.integers(0, 3)):
        case 0:
            return {"message": message}
        case 1:
            return {"error": message}
        case 2:
            return {"type": kind, "body": draw(json_objects()), "message": message}
    data: _Data = {"errorType": kind, "error": {"message": message}}
    _optional(draw, data, "_responseBody", json_objects())
    _optional(draw, data, "provider", st.sampled_from(("openai", "anthropic")))
    _optional(draw, data, "budget", _BUDGETS)
    return data


_UI_MESSAGES = st.lists(
    st.fixed_dictionaries(
        {
            "id": _message_ids(),
            "role": st.sampled_from(("user", "assistant", "tool")),
            "content": _TEXT,
        }
    ),
    max_size=3,
)


@st.composite
def _runtime_end(draw: st.DrawFn) -> _Data:
    data: _Data = {}
    _optional(draw, data, "reason", st.sampled_from(RUNTIME_END_REASONS))
    match draw(st.integers(0, 2)):
        case 0:
            data["uiMessages"] = draw(_UI_MESSAGES)
        case 1:
            data["messagePatchMode"] = True
            data["messageRevision"] = draw(_SMALL_COUNTS)
    return data


@st.composite
def _intervention_request(draw: st.DrawFn) -> _Data:
    question = {"question": draw(st.text(min_size=1, max_size=40)), "options": []}
    data: _Data = {
        "toolCallId": draw(tool_call_ids()),
        "apiName": "askUserQuestion",
        "identifier": "claude-code",
        "arguments": json.dumps({"questions": [question]}),
        "deadline": draw(_TIMESTAMPS_MS),
    }
    _optional(draw, data, "interactionKind", st.sampled_from(("permission", "plan", "question")))
    _optional(draw, data, "provider", st.sampled_from(("claude-code", "codex", "cursor")))
    return data


@st.composite
def _intervention_response(draw: st.DrawFn) -> _Data:
    data: _Data = {"toolCallId": draw(tool_call_ids())}
    if draw(st.booleans()):
        data["result"] = draw(json_values(max_leaves=3))
    else:
        data["cancelled"] = True
        data["cancelReason"] = draw(st.sampled_from(("timeout", "user_cancelled", "session_ended")))
    _optional(draw, data, "resolutionRequestId", _ids("res_"))
    _optional(draw, data, "producerAck", st.just(True))
    return data


@st.composite
def _step_start(draw: st.DrawFn) -> _Data:
    data: _Data = {}
    if draw(st.booleans()):
        data["uiMessages"] = draw(_UI_MESSAGES)
    else:
        data["messageRevision"] = draw(_SMALL_COUNTS)
    if draw(st.booleans()):
        data["phase"] = "human_approval"
        data["requiresApproval"] = True
        data["pendingToolsCalling"] = draw(_TOOL_CALLING_LISTS)
    return data


_STEP_PHASES = ("execution_complete", "human_approval", "subagent_progress", "operation_heartbeat")


@st.composite
def _step_complete(draw: st.DrawFn) -> _Data:
    data: _Data = {"phase": draw(st.sampled_from(_STEP_PHASES))}
    _optional(draw, data, "reason", st.sampled_from(("done", "tool_calls", "max_steps")))
    _optional(draw, data, "reasonDetail", _TEXT)
    if data["phase"] == "subagent_progress":
        data["toolMessageId"] = draw(_message_ids())
        data["totalSteps"] = draw(_SMALL_COUNTS)
    return data


def _loose(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Data of a type with no typed view: absent, or an object with optional fields."""
    return st.none() | st.fixed_dictionaries({}, optional=fields)


_DATA: dict[str, st.SearchStrategy[Any]] = {
    EventType.AGENT_RUNTIME_INIT: _loose(model=st.just("gpt-4o"), provider=st.just("openai")),
    EventType.AGENT_RUNTIME_END: _runtime_end(),
    EventType.ERROR: _error(),
    EventType.STREAM_START: _stream_start(),
    EventType.STREAM_CHUNK: _stream_chunk(),
    EventType.STREAM_END: _stream_end(),
    EventType.VISIBLE_OUTPUT_END: _loose(),
    EventType.STREAM_RETRY: _loose(attempt=st.integers(1, 5), reason=_TEXT),
    EventType.SESSION_TITLE: st.fixed_dictionaries({"title": _TEXT}),
    EventType.TOOL_START: _tool_start(),
    EventType.TOOL_END: _tool_end(),
    EventType.TOOL_EXECUTE: _tool_execute(),
    EventType.TOOL_RESULT: st.fixed_dictionaries(
        {"toolCallId": tool_call_ids(), "content": _TEXT}, optional={"isSuccess": st.booleans()}
    ),
    EventType.AGENT_INTERVENTION_REQUEST: _intervention_request(),
    EventType.AGENT_INTERVENTION_RESPONSE: _intervention_response(),
    EventType.MESSAGE_PATCH: st.fixed_dictionaries(
        {"messageRevision": _SMALL_COUNTS, "patches": st.lists(json_objects(), max_size=2)}
    ),
    EventType.STEP_START: _step_start(),
    EventType.STEP_COMPLETE: _step_complete(),
    EventType.NOTIFY_UPDATE: _loose(reason=st.just("message_updated")),
}


def event_data(event_type: str) -> st.SearchStrategy[Any]:
    """Realistic `data` for an agent event of `event_type` (any JSON for unknown types)."""
    return _DATA.get(event_type, json_values(max_leaves=4))


# --------------------------------------------------------------------------- agent events


def _operation_id_strategy(
    operation_id: str | st.SearchStrategy[str] | None,
) -> st.SearchStrategy[str]:
    if operation_id is None:
        return operation_ids()
    if isinstance(operation_id, str):
        return st.just(operation_id)
    return operation_id


_STEP_INDEXES = st.integers(0, 200)
_EVENT_TIMESTAMPS = _TIMESTAMPS_MS | st.floats(1.6e12, 2e12)
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
    operation_ids_ = _operation_id_strategy(operation_id)
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
    """`resume_complete` with any status, or only terminal / only live ones."""
    return st.builds(ResumeComplete, status=session_statuses(terminal=terminal))


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


_OPTIONAL_TEXT = st.none() | _TEXT
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
