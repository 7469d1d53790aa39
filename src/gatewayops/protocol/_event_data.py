"""Typed views of the `data` of the agent events the reducer acts on.

Owns: parsing `AgentEvent.data` for stream_start, stream_chunk, stream_end, tool_start,
tool_end, tool_execute, error and agent_runtime_end into frozen classes. Parsing never
raises: a field that fails to read is degraded to its default and named in the view's
`problems`; data that cannot be used at all (not an object, no `chunkType`, a tool call
without an id) gives `UnreadableData`, which says why. The codec keeps `data` raw, so
an event nobody looks at costs nothing; the reducer parses the few it needs with
`parse_event_data`. Must not know: what the reducer does with them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeAlias

import attrs

from gatewayops._frozen import builder
from gatewayops.protocol._fields import Lenient, json_type_name, missing, mistyped, value_text
from gatewayops.protocol._json import encode_json
from gatewayops.protocol._messages import AgentEvent, EventType, Problems, SessionStatus

__all__ = [
    "DEFAULT_TOOL_TIMEOUT_MS",
    "ErrorData",
    "EventData",
    "RuntimeEndData",
    "StreamChunkData",
    "StreamEndData",
    "StreamStartData",
    "ToolCalling",
    "ToolEndData",
    "ToolExecuteData",
    "ToolStartData",
    "UnreadableData",
    "parse_event_data",
]

DEFAULT_TOOL_TIMEOUT_MS = 120_000
"""Budget of a `tool_execute` that names no `executionTimeoutMs` (PROTOCOL.md 6.1)."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class StreamStartData:
    """A new assistant message starts streaming (its id may be absent with `new_step`)."""

    assistant_message_id: str | None
    new_step: bool = False
    model: str | None = None
    provider: str | None = None
    problems: Problems = ()


@attrs.frozen(kw_only=True, weakref_slot=False)
class StreamChunkData:
    """A piece of streamed output; `snapshot_mode == "replace"` carries the full text."""

    chunk_type: str
    content: str | None = None
    reasoning: str | None = None
    snapshot_mode: str | None = None
    snapshot_seq: int | None = None
    tool_call_id: str | None = None
    problems: Problems = ()

    @property
    def is_replace_snapshot(self) -> bool:
        """Whether this chunk replaces the accumulated text instead of appending to it."""
        return self.snapshot_mode == "replace"


@attrs.frozen(kw_only=True, weakref_slot=False)
class StreamEndData:
    """The current assistant message ended; `final_content` replaces its text if given."""

    final_content: str | None = None
    problems: Problems = ()


@attrs.frozen(kw_only=True, weakref_slot=False)
class ToolCalling:
    """A tool call as the producer describes it."""

    id: str
    identifier: str = ""
    api_name: str = ""
    arguments: str = ""


@attrs.frozen(kw_only=True, weakref_slot=False)
class ToolStartData:
    """The agent started a (server-side) tool call."""

    tool_calling: ToolCalling
    parent_message_id: str | None = None
    problems: Problems = ()


@attrs.frozen(kw_only=True, weakref_slot=False)
class ToolEndData:
    """A tool call ended; `tool_call_id` comes from `payload.toolCalling.id` when present."""

    is_success: bool
    tool_call_id: str | None = None
    result: Any = None
    problems: Problems = ()


@attrs.frozen(kw_only=True, weakref_slot=False)
class ToolExecuteData:
    """The server asks this client to run a tool and answer with one `tool_result`.

    `arguments` is None when the frame's arguments were not a string: the tool is then
    not run, and its one result is an `arguments_parse_error` (as upstream, whose
    ``JSON.parse`` fails on them).
    """

    tool_call_id: str
    identifier: str
    api_name: str
    arguments: str | None
    execution_timeout_ms: int = DEFAULT_TOOL_TIMEOUT_MS
    problems: Problems = ()


@attrs.frozen(kw_only=True, weakref_slot=False)
class ErrorData:
    """An `error` event's data, normalised from its several upstream shapes."""

    message: str
    kind: str | None = None
    problems: Problems = ()


@attrs.frozen(kw_only=True, weakref_slot=False)
class RuntimeEndData:
    """`agent_runtime_end`: the run stopped, for `reason` (``None`` = clean completion)."""

    reason: str | None = None
    problems: Problems = ()

    @property
    def ended_status(self) -> SessionStatus:
        """The status this end leaves: error, interrupted, or completed for anything else."""
        if self.reason == "error":
            return SessionStatus.ERROR
        if self.reason == "interrupted":
            return SessionStatus.INTERRUPTED
        return SessionStatus.COMPLETED


@attrs.frozen(kw_only=True, weakref_slot=False)
class UnreadableData:
    """The data of a known event type that cannot be used at all; `problems` says why.

    The event still counts for what its type decides (an `error` is still an inline
    error and a terminal); only what its data would have shown is lost.
    """

    problems: Problems


EventData: TypeAlias = (
    StreamStartData
    | StreamChunkData
    | StreamEndData
    | ToolStartData
    | ToolEndData
    | ToolExecuteData
    | ErrorData
    | RuntimeEndData
    | UnreadableData
)

_Parser: TypeAlias = Callable[[dict[str, Any], list[str]], EventData]


def _stream_start(data: dict[str, Any], problems: list[str]) -> StreamStartData:
    read = Lenient(data, _DATA_PATH, problems)
    message = read.mapping("assistantMessage")
    message_id = Lenient(message, f"{_DATA_PATH}.assistantMessage", read.problems).text("id")
    return StreamStartData(
        assistant_message_id=message_id,
        new_step=read.flag("newStep"),
        model=read.text("model"),
        provider=read.text("provider"),
        problems=tuple(read.problems),
    )


def _stream_chunk(data: dict[str, Any], problems: list[str]) -> EventData:
    chunk_type: Any = data.get("chunkType")
    content = data.get("content")
    reasoning = data.get("reasoning")
    snapshot_mode = data.get("snapshotMode")
    snapshot_seq = data.get("snapshotSeq")
    tool_call_id = data.get("toolCallId")
    well_typed = (
        type(chunk_type) is str
        and (content is None or type(content) is str)
        and (reasoning is None or type(reasoning) is str)
        and (snapshot_mode is None or type(snapshot_mode) is str)
        and (snapshot_seq is None or type(snapshot_seq) is int)
        and (tool_call_id is None or type(tool_call_id) is str)
    )
    if well_typed:  # the streaming hot path
        return _new_chunk(
            chunk_type, content, reasoning, snapshot_mode, snapshot_seq, tool_call_id, ()
        )
    read = Lenient(data, _DATA_PATH, problems)
    chunk_type = read.required_text("chunkType")
    snapshot_mode = read.text("snapshotMode")
    snapshot_seq = read.integer("snapshotSeq")
    unreadable_mode = snapshot_mode is None and data.get("snapshotMode") is not None
    unreadable_seq = snapshot_seq is None and data.get("snapshotSeq") is not None
    if chunk_type is None or unreadable_mode or (snapshot_mode == "replace" and unreadable_seq):
        # Without its kind, or with a mode we cannot read (an unreadable "replace"
        # appended would repeat the whole text), or a replace snapshot whose seq we
        # cannot read (it could be stale and undo newer text), a chunk is not shown.
        return UnreadableData(problems=tuple(read.problems))
    return _new_chunk(
        chunk_type,
        read.text("content"),
        read.text("reasoning"),
        snapshot_mode,
        snapshot_seq,
        read.text("toolCallId"),
        tuple(read.problems),
    )


_new_chunk = builder(StreamChunkData)  # every field is type-checked above


def _stream_end(data: dict[str, Any], problems: list[str]) -> StreamEndData:
    read = Lenient(data, _DATA_PATH, problems)
    return StreamEndData(final_content=read.text("finalContent"), problems=tuple(read.problems))


def _arguments_text(value: object) -> str:
    """Tool-call arguments as upstream keeps them: a JSON string (objects are encoded)."""
    if value is None:
        return ""
    if type(value) is str:
        return value
    return encode_json(value)


def _tool_calling(value: object, read: Lenient) -> ToolCalling | None:
    path = f"{_DATA_PATH}.toolCalling"
    if type(value) is not dict:
        problem = missing(path, "object") if value is _ABSENT else mistyped(path, "object", value)
        read.problems.append(str(problem))
        return None
    calling = Lenient(value, path, read.problems)
    call_id = calling.required_text("id")
    if call_id is None:
        return None
    return ToolCalling(
        id=call_id,
        identifier=calling.text_or("identifier", ""),
        api_name=calling.text_or("apiName", ""),
        arguments=_arguments_text(value.get("arguments")),
    )


def _tool_start(data: dict[str, Any], problems: list[str]) -> EventData:
    read = Lenient(data, _DATA_PATH, problems)
    calling = _tool_calling(data.get("toolCalling", _ABSENT), read)
    if calling is None:  # a call without an id cannot be shown or ended
        return UnreadableData(problems=tuple(read.problems))
    return ToolStartData(
        tool_calling=calling,
        parent_message_id=read.text("parentMessageId"),
        problems=tuple(read.problems),
    )


def _tool_end(data: dict[str, Any], problems: list[str]) -> ToolEndData:
    read = Lenient(data, _DATA_PATH, problems)
    payload = Lenient(read.mapping("payload"), f"{_DATA_PATH}.payload", read.problems)
    calling = Lenient(
        payload.mapping("toolCalling"), f"{_DATA_PATH}.payload.toolCalling", read.problems
    )
    return ToolEndData(
        is_success=read.required_flag("isSuccess", False),
        tool_call_id=calling.text("id"),
        result=data.get("result"),
        problems=tuple(read.problems),
    )


def _tool_execute(data: dict[str, Any], problems: list[str]) -> EventData:
    read = Lenient(data, _DATA_PATH, problems)
    call_id = read.required_text("toolCallId")
    if call_id is None:  # nothing to correlate a result with: it cannot be answered
        return UnreadableData(problems=tuple(read.problems))
    arguments = data.get("arguments")
    if arguments is None:
        arguments = ""
    elif type(arguments) is not str:
        read.problems.append(str(mistyped(f"{_DATA_PATH}.arguments", "str", arguments)))
        arguments = None
    timeout = data.get("executionTimeoutMs")
    if type(timeout) is float and math.isfinite(timeout):
        timeout = math.floor(timeout)  # a fractional deadline is rounded down, never refused
    if timeout is not None and type(timeout) is not int:
        read.problems.append(
            f"{_DATA_PATH}.executionTimeoutMs: expected int, got {value_text(timeout)} "
            f"(the default {DEFAULT_TOOL_TIMEOUT_MS} ms is used)"
        )
        timeout = None
    elif timeout is not None and timeout <= 0:
        read.problems.append(
            f"{_DATA_PATH}.executionTimeoutMs: {timeout} is not a positive deadline "
            "(the shortest budget is used)"
        )
    return ToolExecuteData(
        tool_call_id=call_id,
        identifier=read.text_or("identifier", ""),
        api_name=read.text_or("apiName", ""),
        arguments=arguments,
        execution_timeout_ms=DEFAULT_TOOL_TIMEOUT_MS if timeout is None else timeout,
        problems=tuple(read.problems),
    )


def _error(data: dict[str, Any], problems: list[str]) -> ErrorData:
    read = Lenient(data, _DATA_PATH, problems)
    kind = data.get("errorType")
    if kind is None:
        kind = data.get("type")
    if kind is not None and type(kind) is not str:
        read.problems.append(f"{_DATA_PATH}.errorType: expected str, got {json_type_name(kind)}")
    message = data.get("message")
    if type(message) is not str:
        nested = data.get("error")
        if type(nested) is str:
            message = nested
        elif type(nested) is dict and type(nested.get("message")) is str:
            message = nested["message"]
        else:
            message = kind if type(kind) is str else value_text(data if kind is None else kind)
    return ErrorData(
        message=message, kind=kind if type(kind) is str else None, problems=tuple(read.problems)
    )


def _runtime_end(data: dict[str, Any], problems: list[str]) -> RuntimeEndData:
    read = Lenient(data, _DATA_PATH, problems)
    return RuntimeEndData(reason=read.text("reason"), problems=tuple(read.problems))


_DATA_PATH = "event.data"
_ABSENT: Any = object()
_PARSERS: dict[str, _Parser] = {
    EventType.STREAM_START: _stream_start,
    EventType.STREAM_CHUNK: _stream_chunk,
    EventType.STREAM_END: _stream_end,
    EventType.TOOL_START: _tool_start,
    EventType.TOOL_END: _tool_end,
    EventType.TOOL_EXECUTE: _tool_execute,
    EventType.ERROR: _error,
    EventType.AGENT_RUNTIME_END: _runtime_end,
}
_LENIENT_SHAPES = frozenset({EventType.ERROR, EventType.AGENT_RUNTIME_END})
"""Types whose data may be any JSON value: what cannot be read is only their detail."""


def parse_event_data(event: AgentEvent) -> EventData | None:
    """The typed view of `event.data`, or ``None`` for event types without one.

    Never raises. Fields that fail to read are degraded and listed in the view's
    `problems` (``event.data.chunkType: expected str, got int``); data that cannot be
    used at all gives `UnreadableData`.
    """
    parser = _PARSERS.get(event.type)
    if parser is None:
        return None
    data = event.data
    problems: list[str] = []
    if type(data) is not dict:
        if data is not None:
            problems.append(f"{_DATA_PATH}: expected object, got {json_type_name(data)}")
            if event.type not in _LENIENT_SHAPES:
                return UnreadableData(problems=tuple(problems))
            if event.type == EventType.ERROR:  # the data itself is the best message there is
                message = data if type(data) is str else value_text(data)
                return ErrorData(message=message, problems=tuple(problems))
        data = {}
    return parser(data, problems)
