"""Typed views of the `data` of the agent events the reducer acts on.

Owns: parsing `AgentEvent.data` for stream_start, stream_chunk, stream_end, tool_start,
tool_end, tool_execute, error, agent_runtime_end, step_start and message_patch into
frozen classes (the tool-call and error views are `_call_data`'s, the server's list
and its patches `_snapshot_data`'s), and `parse_event_data`, which picks the parser. Parsing never
raises: a field that fails to read is degraded to its default and named in the view's
`problems`; data that cannot be used at all (not an object, no `chunkType`, a tool call
without an id) gives `UnreadableData`, which says why. The codec keeps `data` raw, so
an event nobody looks at costs nothing; the reducer parses the few it needs with
`parse_event_data`. Must not know: what the reducer does with them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

import attrs

from gatewayops._frozen import builder
from gatewayops.protocol._call_data import (
    DATA_PATH,
    DEFAULT_TOOL_TIMEOUT_MS,
    ErrorData,
    ToolCalling,
    ToolEndData,
    ToolExecuteData,
    ToolStartData,
    error_data,
    tool_callings,
    tool_end_data,
    tool_execute_data,
    tool_start_data,
)
from gatewayops.protocol._fields import Lenient, json_type_name, value_text
from gatewayops.protocol._messages import AgentEvent, ChunkType, EventType, Problems, SessionStatus
from gatewayops.protocol._snapshot_data import (
    MessagePatchData,
    StepStartData,
    UiMessage,
    message_patch_data,
    step_start_data,
    ui_messages,
)

__all__ = [
    "DEFAULT_TOOL_TIMEOUT_MS",
    "ErrorData",
    "EventData",
    "MessagePatchData",
    "RuntimeEndData",
    "StepStartData",
    "StreamChunkData",
    "StreamEndData",
    "StreamStartData",
    "ToolCalling",
    "ToolEndData",
    "ToolExecuteData",
    "ToolStartData",
    "UiMessage",
    "UnreadableData",
    "parse_event_data",
]


@attrs.frozen(kw_only=True, weakref_slot=False)
class StreamStartData:
    """A new assistant message starts streaming (its id may be absent with `new_step`)."""

    assistant_message_id: str | None
    parent_id: str | None = None
    new_step: bool = False
    model: str | None = None
    provider: str | None = None
    problems: Problems = ()


@attrs.frozen(kw_only=True, weakref_slot=False)
class StreamChunkData:
    """A piece of streamed output; `snapshot_mode == "replace"` carries the full text.

    `tools_calling` holds the calls a `tools_calling` chunk describes (the model writing
    them: each chunk repeats every call so far, arguments growing).
    """

    chunk_type: str
    content: str | None = None
    reasoning: str | None = None
    snapshot_mode: str | None = None
    snapshot_seq: int | None = None
    tool_call_id: str | None = None
    problems: Problems = ()
    tools_calling: tuple[ToolCalling, ...] = ()

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
class RuntimeEndData:
    """`agent_runtime_end`: the run stopped, for `reason` (``None`` = clean completion).

    It may carry the server's list (`ui_messages`), or in v2 the revision the list
    stands at once the run settles (`message_patch_mode`, `message_revision`).
    """

    reason: str | None = None
    ui_messages: tuple[UiMessage, ...] | None = None
    message_patch_mode: bool = False
    message_revision: int | None = None
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
    | StepStartData
    | MessagePatchData
    | UnreadableData
)

_Parser: TypeAlias = Callable[[dict[str, Any], list[str]], EventData]


def _stream_start(data: dict[str, Any], problems: list[str]) -> StreamStartData:
    read = Lenient(data, DATA_PATH, problems)
    message = Lenient(read.mapping("assistantMessage"), f"{DATA_PATH}.assistantMessage", problems)
    return StreamStartData(
        assistant_message_id=message.text("id"),
        parent_id=message.text("parentId"),
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
    if well_typed and chunk_type != _TOOLS_CALLING:  # the streaming hot path
        return _new_chunk(
            chunk_type, content, reasoning, snapshot_mode, snapshot_seq, tool_call_id, (), ()
        )
    read = Lenient(data, DATA_PATH, problems)
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
    calls = (
        tool_callings(data.get("toolsCalling"), problems) if chunk_type == _TOOLS_CALLING else ()
    )
    return _new_chunk(
        chunk_type,
        read.text("content"),
        read.text("reasoning"),
        snapshot_mode,
        snapshot_seq,
        read.text("toolCallId"),
        tuple(read.problems),
        calls,
    )


_new_chunk = builder(StreamChunkData)  # every field is type-checked above
_TOOLS_CALLING = ChunkType.TOOLS_CALLING.value


def _stream_end(data: dict[str, Any], problems: list[str]) -> StreamEndData:
    read = Lenient(data, DATA_PATH, problems)
    return StreamEndData(final_content=read.text("finalContent"), problems=tuple(read.problems))


def _tool_start(data: dict[str, Any], problems: list[str]) -> EventData:
    view = tool_start_data(data, problems)
    return UnreadableData(problems=tuple(problems)) if view is None else view


def _tool_execute(data: dict[str, Any], problems: list[str]) -> EventData:
    view = tool_execute_data(data, problems)
    return UnreadableData(problems=tuple(problems)) if view is None else view


def _message_patch(data: dict[str, Any], problems: list[str]) -> EventData:
    view = message_patch_data(data, problems)
    return UnreadableData(problems=tuple(problems)) if view is None else view


def _runtime_end(data: dict[str, Any], problems: list[str]) -> RuntimeEndData:
    read = Lenient(data, DATA_PATH, problems)
    return RuntimeEndData(
        reason=read.text("reason"),
        ui_messages=ui_messages(data.get("uiMessages"), problems, f"{DATA_PATH}.uiMessages"),
        message_patch_mode=read.flag("messagePatchMode"),
        message_revision=read.integer("messageRevision"),
        problems=tuple(read.problems),
    )


_PARSERS: dict[str, _Parser] = {
    EventType.STREAM_START: _stream_start,
    EventType.STREAM_CHUNK: _stream_chunk,
    EventType.STREAM_END: _stream_end,
    EventType.TOOL_START: _tool_start,
    EventType.TOOL_END: tool_end_data,
    EventType.TOOL_EXECUTE: _tool_execute,
    EventType.ERROR: error_data,
    EventType.AGENT_RUNTIME_END: _runtime_end,
    EventType.STEP_START: step_start_data,
    EventType.MESSAGE_PATCH: _message_patch,
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
            problems.append(f"{DATA_PATH}: expected object, got {json_type_name(data)}")
            if event.type not in _LENIENT_SHAPES:
                return UnreadableData(problems=tuple(problems))
            if event.type == EventType.ERROR:  # the data itself is the best message there is
                message = data if type(data) is str else value_text(data)
                return ErrorData(message=message, problems=tuple(problems))
        data = {}
    return parser(data, problems)
