"""Typed views of the server's message list: `uiMessages` snapshots (PROTOCOL.md 1.4, 8.6).

Owns: `UiMessage` (one message of the server's list: its id, role, text, the message it
replies to, its reasoning, the tool calls it made, the call a `tool` message answers,
its error), `ui_messages` (a list of them, read leniently), the view of `step_start`
(`StepStartData`: its snapshot, or in v2 the revision it stands at) and of v2's
`message_patch` (`MessagePatchData`: a revision, deletes, upserts after an anchor;
PROTOCOL.md 7.8). Same
rule as the other views: never raise; an item or field that does not read is left out
or defaulted and named in `problems`. Must not know: what the reducer does with them.
"""

from __future__ import annotations

from typing import Any

import attrs

from gatewayops.protocol._call_data import (
    DATA_PATH,
    ErrorData,
    ToolCalling,
    error_data,
    tool_callings,
)
from gatewayops.protocol._fields import Lenient, mistyped

__all__ = [
    "MessagePatchData",
    "StepStartData",
    "UiMessage",
    "Upsert",
    "message_patch_data",
    "step_start_data",
    "ui_messages",
]


@attrs.frozen(kw_only=True, weakref_slot=False)
class UiMessage:
    """One message of the server's list, as much of it as a chat shows.

    Attributes:
        id: the message's id.
        role: ``user``, ``assistant``, ``tool``, ... ("" when unreadable).
        content: its text.
        parent_id: the message it replies to (`parentId`).
        reasoning: an assistant message's reasoning (`reasoning.content`, or a string).
        tools: the calls an assistant message made (`tools`).
        tool_call_id: for a ``tool`` message, the call whose result `content` is.
        error: the error the message carries, if any.
    """

    id: str
    role: str = ""
    content: str = ""
    parent_id: str | None = None
    reasoning: str | None = None
    tools: tuple[ToolCalling, ...] = ()
    tool_call_id: str | None = None
    error: ErrorData | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class StepStartData:
    """`step_start`: a step begins; v1 carries the server's list, v2 its revision."""

    ui_messages: tuple[UiMessage, ...] | None = None
    message_revision: int | None = None
    problems: tuple[str, ...] = ()


def _reasoning(value: object, path: str, problems: list[str]) -> str | None:
    if value is None or type(value) is str:
        return value
    if type(value) is dict:
        return Lenient(value, path, problems).text("content")
    problems.append(str(mistyped(path, "object", value)))
    return None


def _ui_message(value: object, path: str, problems: list[str]) -> UiMessage | None:
    if type(value) is not dict:
        problems.append(str(mistyped(path, "object", value)))
        return None
    read = Lenient(value, path, problems)
    message_id = read.required_text("id")
    if message_id is None:
        return None
    error = value.get("error")
    if error is not None and type(error) is not dict:
        problems.append(str(mistyped(f"{path}.error", "object", error)))
    call_id = read.text("tool_call_id") or read.text("toolCallId")
    return UiMessage(
        id=message_id,
        role=read.text_or("role", ""),
        content=read.text_or("content", ""),
        parent_id=read.text("parentId"),
        reasoning=_reasoning(value.get("reasoning"), f"{path}.reasoning", problems),
        tools=tool_callings(value.get("tools"), problems, f"{path}.tools"),
        tool_call_id=call_id,
        error=error_data(error, problems) if type(error) is dict else None,
    )


def ui_messages(value: object, problems: list[str], path: str) -> tuple[UiMessage, ...] | None:
    """The messages of a `uiMessages` list; None when there is none (absent or not a
    list, which is named); an item without a string id is left out and named."""
    if value is None:
        return None
    if type(value) is not list:
        problems.append(str(mistyped(path, "array", value)))
        return None
    read = (_ui_message(item, f"{path}[{n}]", problems) for n, item in enumerate(value))
    return tuple(message for message in read if message is not None)


def step_start_data(data: dict[str, Any], problems: list[str]) -> StepStartData:
    """The view of a `step_start`."""
    read = Lenient(data, DATA_PATH, problems)
    messages = ui_messages(data.get("uiMessages"), problems, f"{DATA_PATH}.uiMessages")
    return StepStartData(
        ui_messages=messages,
        message_revision=read.integer("messageRevision"),
        problems=tuple(problems),
    )


@attrs.frozen(kw_only=True, weakref_slot=False)
class Upsert:
    """One message a patch puts in the list, after `after_id` (None = at the head)."""

    after_id: str | None
    message: UiMessage


@attrs.frozen(kw_only=True, weakref_slot=False)
class MessagePatchData:
    """`message_patch` (v2): revision `revision` of the list, from the one before it.

    A patch with `problems` is not whole: applying what could be read would be a guess.
    """

    revision: int
    deletes: tuple[str, ...] = ()
    upserts: tuple[Upsert, ...] = ()
    problems: tuple[str, ...] = ()


def _upsert(value: object, path: str, problems: list[str]) -> Upsert | None:
    if type(value) is not dict:
        problems.append(str(mistyped(path, "object", value)))
        return None
    after_id = Lenient(value, path, problems).text("afterId")
    message = _ui_message(value.get("message"), f"{path}.message", problems)
    return None if message is None else Upsert(after_id=after_id, message=message)


def message_patch_data(data: dict[str, Any], problems: list[str]) -> MessagePatchData | None:
    """The view of a `message_patch`; None without a revision (it cannot be placed)."""
    read = Lenient(data, DATA_PATH, problems)
    revision = read.required_integer("revision", -1)
    if revision < 0:
        return None
    deletes: list[str] = []
    raw_deletes = data.get("deletes") or []
    if type(raw_deletes) is not list:
        problems.append(str(mistyped(f"{DATA_PATH}.deletes", "array", raw_deletes)))
        raw_deletes = []
    for n, item in enumerate(raw_deletes):
        if type(item) is str:
            deletes.append(item)
        else:
            problems.append(str(mistyped(f"{DATA_PATH}.deletes[{n}]", "str", item)))
    raw_upserts = data.get("upserts") or []
    if type(raw_upserts) is not list:
        problems.append(str(mistyped(f"{DATA_PATH}.upserts", "array", raw_upserts)))
        raw_upserts = []
    upserts = (
        _upsert(item, f"{DATA_PATH}.upserts[{n}]", problems) for n, item in enumerate(raw_upserts)
    )
    return MessagePatchData(
        revision=revision,
        deletes=tuple(deletes),
        upserts=tuple(upsert for upsert in upserts if upsert is not None),
        problems=tuple(problems),
    )
