"""Typed views of the `data` of the agent events the reducer acts on.

Owns: parsing `AgentEvent.data` for stream_start, stream_chunk, stream_end, tool_start,
tool_end, tool_execute, error and agent_runtime_end into frozen classes, strictly
(a `ProtocolError` names the field). The codec keeps `data` raw, so an event nobody
looks at costs nothing; the reducer parses the few it needs with `parse_event_data`.
Must not know: what the reducer does with them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeAlias

import attrs

from gatewayops._frozen import builder
from gatewayops.protocol._fields import (
    as_object,
    missing,
    opt_bool,
    opt_int,
    opt_object,
    opt_str,
    req_bool,
    req_str,
)
from gatewayops.protocol._messages import AgentEvent, EventType, SessionStatus

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


@attrs.frozen(kw_only=True, weakref_slot=False)
class StreamChunkData:
    """A piece of streamed output; `snapshot_mode == "replace"` carries the full text."""

    chunk_type: str
    content: str | None = None
    reasoning: str | None = None
    snapshot_mode: str | None = None
    snapshot_seq: int | None = None
    tool_call_id: str | None = None

    @property
    def is_replace_snapshot(self) -> bool:
        """Whether this chunk replaces the accumulated text instead of appending to it."""
        return self.snapshot_mode == "replace"


@attrs.frozen(kw_only=True, weakref_slot=False)
class StreamEndData:
    """The current assistant message ended; `final_content` replaces its text if given."""

    final_content: str | None = None


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


@attrs.frozen(kw_only=True, weakref_slot=False)
class ToolEndData:
    """A tool call ended; `tool_call_id` comes from `payload.toolCalling.id` when present."""

    is_success: bool
    tool_call_id: str | None = None
    result: Any = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class ToolExecuteData:
    """The server asks this client to run a tool and answer with one `tool_result`."""

    tool_call_id: str
    identifier: str
    api_name: str
    arguments: str
    execution_timeout_ms: int = DEFAULT_TOOL_TIMEOUT_MS


@attrs.frozen(kw_only=True, weakref_slot=False)
class ErrorData:
    """An `error` event's data, normalised from its several upstream shapes."""

    message: str
    kind: str | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class RuntimeEndData:
    """`agent_runtime_end`: the run stopped, for `reason` (``None`` = clean completion)."""

    reason: str | None = None

    @property
    def ended_status(self) -> SessionStatus:
        """The status this end leaves: error, interrupted, or completed for anything else."""
        if self.reason == "error":
            return SessionStatus.ERROR
        if self.reason == "interrupted":
            return SessionStatus.INTERRUPTED
        return SessionStatus.COMPLETED


EventData: TypeAlias = (
    StreamStartData
    | StreamChunkData
    | StreamEndData
    | ToolStartData
    | ToolEndData
    | ToolExecuteData
    | ErrorData
    | RuntimeEndData
)


def _data_object(event: AgentEvent, path: str) -> dict[str, Any]:
    return {} if event.data is None else as_object(event.data, path)


def _stream_start(data: dict[str, Any], path: str) -> StreamStartData:
    message = opt_object(data, "assistantMessage", path) or {}
    return StreamStartData(
        assistant_message_id=opt_str(message, "id", f"{path}.assistantMessage"),
        new_step=opt_bool(data, "newStep", path),
        model=opt_str(data, "model", path),
        provider=opt_str(data, "provider", path),
    )


def _stream_chunk(data: dict[str, Any], path: str) -> StreamChunkData:
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
    if not well_typed:  # the strict readers name the offending field
        chunk_type = req_str(data, "chunkType", path)
        content = opt_str(data, "content", path)
        reasoning = opt_str(data, "reasoning", path)
        snapshot_mode = opt_str(data, "snapshotMode", path)
        snapshot_seq = opt_int(data, "snapshotSeq", path)
        tool_call_id = opt_str(data, "toolCallId", path)
    return _new_chunk(chunk_type, content, reasoning, snapshot_mode, snapshot_seq, tool_call_id)


_new_chunk = builder(StreamChunkData)  # every field is type-checked above


def _stream_end(data: dict[str, Any], path: str) -> StreamEndData:
    return StreamEndData(final_content=opt_str(data, "finalContent", path))


def _tool_calling(value: object, path: str) -> ToolCalling:
    calling = as_object(value, path)
    arguments = calling.get("arguments")
    if arguments is None:
        arguments = ""
    elif type(arguments) is not str:
        arguments = json.dumps(arguments)
    return ToolCalling(
        id=req_str(calling, "id", path),
        identifier=opt_str(calling, "identifier", path) or "",
        api_name=opt_str(calling, "apiName", path) or "",
        arguments=arguments,
    )


def _tool_start(data: dict[str, Any], path: str) -> ToolStartData:
    if "toolCalling" not in data:
        raise missing(f"{path}.toolCalling", "object")
    return ToolStartData(
        tool_calling=_tool_calling(data["toolCalling"], f"{path}.toolCalling"),
        parent_message_id=opt_str(data, "parentMessageId", path),
    )


def _tool_end(data: dict[str, Any], path: str) -> ToolEndData:
    payload = opt_object(data, "payload", path) or {}
    calling = opt_object(payload, "toolCalling", f"{path}.payload") or {}
    return ToolEndData(
        is_success=req_bool(data, "isSuccess", path),
        tool_call_id=opt_str(calling, "id", f"{path}.payload.toolCalling"),
        result=data.get("result"),
    )


def _tool_execute(data: dict[str, Any], path: str) -> ToolExecuteData:
    timeout = opt_int(data, "executionTimeoutMs", path)
    return ToolExecuteData(
        tool_call_id=req_str(data, "toolCallId", path),
        identifier=opt_str(data, "identifier", path) or "",
        api_name=opt_str(data, "apiName", path) or "",
        arguments=opt_str(data, "arguments", path) or "",
        execution_timeout_ms=DEFAULT_TOOL_TIMEOUT_MS if timeout is None else timeout,
    )


def _error(data: dict[str, Any], path: str) -> ErrorData:
    kind = data.get("errorType", data.get("type"))
    message = data.get("message")
    if type(message) is not str:
        nested = data.get("error")
        if type(nested) is str:
            message = nested
        elif type(nested) is dict and type(nested.get("message")) is str:
            message = nested["message"]
        else:
            message = str(kind) if kind is not None else json.dumps(data, default=str)
    return ErrorData(message=message, kind=kind if type(kind) is str else None)


def _runtime_end(data: dict[str, Any], path: str) -> RuntimeEndData:
    return RuntimeEndData(reason=opt_str(data, "reason", path))


_DATA_PATH = "event.data"
_PARSERS: dict[str, Callable[[dict[str, Any], str], EventData]] = {
    EventType.STREAM_START: _stream_start,
    EventType.STREAM_CHUNK: _stream_chunk,
    EventType.STREAM_END: _stream_end,
    EventType.TOOL_START: _tool_start,
    EventType.TOOL_END: _tool_end,
    EventType.TOOL_EXECUTE: _tool_execute,
    EventType.ERROR: _error,
    EventType.AGENT_RUNTIME_END: _runtime_end,
}


def parse_event_data(event: AgentEvent) -> EventData | None:
    """The typed view of `event.data`, or ``None`` for event types without one.

    Raises:
        ProtocolError: the data does not have the shape its event type requires; the
            message names the field (``event.data.chunkType: expected str, got int``).
    """
    parser = _PARSERS.get(event.type)
    if parser is None:
        return None
    data = event.data
    if type(data) is not dict:
        data = _data_object(event, _DATA_PATH)
    return parser(data, _DATA_PATH)
