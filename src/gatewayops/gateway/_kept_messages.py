"""What the reference gateway persists of a run that sends no message patches: the
message list its events built, as a real server's database keeps every run's messages
(PROTOCOL.md 8.6: a refetched list is the source of truth; 7.8: a resume gap is
recovered by that refetch).

Owns: `MessageKeeper`, an `OperationWatcher` that folds each event a run publishes
into its list (`Operation.messages`, what `Gateway.fetch_messages` returns), so a
client that lost events -- a hibernated buffer, a socket that was away -- gets back
what the run showed, not an empty list:

| event | what the list keeps |
|---|---|
| `stream_start` | a new assistant message of that id (and `parentId`), last; it is current |
| `stream_chunk` text | appended to the current message's `content` |
| `stream_chunk` reasoning | appended to the current message's `reasoning.content` |
| `stream_chunk` tools_calling | each call in the current message's `tools`, by id |
| `tool_start`, `tool_execute` | the call in the `tools` of the message it names (or current) |
| `tool_end`, succeeded | that too, and a `tool` message with the result after the call's |
| `stream_end` | `finalContent` (if sent) as the content; no message is current after it |
| `error` | the `error` of the current message (or of a new one, `<operation>.error`) |
| `step_start`, `agent_runtime_end` | their `uiMessages`, if any, in place of what was kept |

A `snapshotMode: replace` chunk replaces the text instead of appending to it. Appended
text costs O(1) per chunk: the run's `Operation` keeps it as pieces until the list is
next read.
A `tool_end` that failed leaves only the call: the list has no way to say a call failed
(a `tool` message reads as a success). A run in patch mode (it has counted a
`message_patch` revision, `_patches`) keeps its list by its patches alone; so does a
member's mirrored event (it is not this run's message). Every change builds new dicts,
so a list handed out earlier never changes under its holder.

Must not know: sockets, tokens, scripts, faults, or how the list is fetched.
"""

from __future__ import annotations

from typing import Any

from gatewayops.gateway._operation_state import Operation
from gatewayops.protocol import (
    AgentEventMessage,
    ChunkType,
    ErrorData,
    RuntimeEndData,
    StepStartData,
    StreamChunkData,
    StreamEndData,
    StreamStartData,
    ToolCalling,
    ToolEndData,
    ToolExecuteData,
    ToolStartData,
    encode_json,
    parse_event_data,
)

__all__ = ["MessageKeeper"]

Message = dict[str, Any]


def _calling_json(call: ToolCalling) -> dict[str, str]:
    return {
        "id": call.id,
        "identifier": call.identifier,
        "apiName": call.api_name,
        "arguments": call.arguments,
    }


class _Run:
    """One operation's list and which message is current, changed one event at a time."""

    def __init__(self, operation: Operation, current: str | None) -> None:
        self.operation = operation
        self.current = current

    def _at(self, message_id: str | None) -> int | None:
        if message_id is None:
            return None
        for at, message in enumerate(self.operation.messages):
            if message["id"] == message_id:
                return at
        return None

    def _change(self, message_id: str | None, **fields: Any) -> None:
        """Set `fields` on the message of that id (nothing when none has it)."""
        at = self._at(message_id)
        if at is not None:
            messages = list(self.operation.messages)
            messages[at] = {**messages[at], **fields}
            self.operation.messages = messages

    def start(self, view: StreamStartData) -> None:
        message_id = view.assistant_message_id
        if message_id is None:
            return  # a hetero producer's message without an id: nothing to file it under
        if self._at(message_id) is None:
            message: Message = {"id": message_id, "role": "assistant", "content": ""}
            if view.parent_id is not None:
                message["parentId"] = view.parent_id
            self.operation.messages = [*self.operation.messages, message]
        self.current = message_id

    def _text(self, key: str, piece: str, replace: bool) -> None:
        if self.current is None or not self.operation.has_message(self.current):
            return
        if not replace:  # the streaming case: O(1), joined when the list is read
            self.operation.append_text(self.current, key, piece)
        elif key == "content":
            self._change(self.current, content=piece)
        else:
            self._change(self.current, reasoning={"content": piece})

    def chunk(self, view: StreamChunkData) -> None:
        replace = view.snapshot_mode == "replace"
        if view.chunk_type == ChunkType.TEXT and view.content is not None:
            self._text("content", view.content, replace)
        elif view.chunk_type == ChunkType.REASONING and view.reasoning is not None:
            self._text("reasoning", view.reasoning, replace)
        elif view.chunk_type == ChunkType.TOOLS_CALLING:
            for call in view.tools_calling:
                self.call(call, None)

    def call(self, call: ToolCalling, message_id: str | None) -> str | None:
        """File `call` in the `tools` of its message; the id of that message."""
        owner = message_id if self._at(message_id) is not None else self.current
        at = self._at(owner)
        if at is None:
            return None
        tools = [
            tool for tool in self.operation.messages[at].get("tools", ()) if tool["id"] != call.id
        ]
        self._change(owner, tools=[*tools, _calling_json(call)])
        return owner

    def answer(self, view: ToolEndData) -> None:
        if view.tool_calling is None:
            return
        owner = self.call(view.tool_calling, view.parent_message_id)
        if owner is None or not view.is_success:
            return
        result = view.result
        content = result if type(result) is str else ("" if result is None else encode_json(result))
        answer: Message = {
            "id": f"{view.tool_calling.id}.result",
            "role": "tool",
            "content": content,
            "tool_call_id": view.tool_calling.id,
        }
        messages = [m for m in self.operation.messages if m["id"] != answer["id"]]
        owner_at = next(at for at, m in enumerate(messages) if m["id"] == owner)
        calls = {tool["id"] for tool in messages[owner_at].get("tools", ())}
        at = owner_at + 1
        while at < len(messages) and messages[at].get("tool_call_id") in calls:
            at += 1
        messages.insert(at, answer)
        self.operation.messages = messages

    def end(self, view: StreamEndData) -> None:
        if view.final_content is not None:
            self._change(self.current, content=view.final_content)
        self.current = None

    def error(self, view: ErrorData, raw: Any) -> None:
        error = raw if type(raw) is dict else {"message": view.message}
        if self._at(self.current) is None:
            self.current = f"{self.operation.operation_id}.error"
            message: Message = {"id": self.current, "role": "assistant", "content": ""}
            self.operation.messages = [*self.operation.messages, message]
        self._change(self.current, error=dict(error))

    def snapshot(self, raw: Any) -> None:
        listed = raw.get("uiMessages") if type(raw) is dict else None
        if type(listed) is list:
            self.operation.messages = [dict(m) for m in listed if type(m) is dict and "id" in m]


class MessageKeeper:
    """Keeps the message list of every run that sends no patches (see the module);
    register it once as a watcher of the gateway's `OperationRegistry`."""

    def __init__(self) -> None:
        self._current: dict[str, str] = {}

    def created(self, operation: Operation) -> None:
        """A new run starts with no current message (its id may be a forgotten one's)."""
        self._current.pop(operation.operation_id, None)

    def published(self, operation: Operation, message: AgentEventMessage) -> None:
        """Fold one published event into the run's list."""
        event = message.event
        if operation.message_revision or event.operation_id != operation.operation_id:
            return  # patch mode, or a member's mirrored event
        run = _Run(operation, self._current.get(operation.operation_id))
        match parse_event_data(event):
            case StreamStartData() as view:
                run.start(view)
            case StreamChunkData() as view:
                run.chunk(view)
            case ToolStartData(tool_calling=call, parent_message_id=parent):
                run.call(call, parent)
            case ToolExecuteData() as view:
                run.call(
                    ToolCalling(
                        id=view.tool_call_id,
                        identifier=view.identifier,
                        api_name=view.api_name,
                        arguments=view.arguments or "",
                    ),
                    view.assistant_message_id,
                )
            case ToolEndData() as view:
                run.answer(view)
            case StreamEndData() as view:
                run.end(view)
            case ErrorData() as view:
                run.error(view, event.data)
            case StepStartData() | RuntimeEndData():
                run.snapshot(event.data)
            case _:
                pass  # an event that shows no message (init, step_complete, unreadable data)
        if run.current is None:
            self._current.pop(operation.operation_id, None)
        else:
            self._current[operation.operation_id] = run.current

    def status_changed(self, operation: Operation, number: int) -> None:
        """A status is not a message: nothing to keep."""

    def session_completed(self, operation: Operation, number: int) -> None:
        """A `session_complete` is not a message: nothing to keep."""

    def forgotten(self, operation: Operation) -> None:
        """The run is gone: so is its current message."""
        self._current.pop(operation.operation_id, None)
