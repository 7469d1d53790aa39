"""What the v1 and v2 codecs share: reading a frame, an agent event and a `tool_result`.

Owns, as the package's private API for `_codec` (v1) and `_v2_codec`, `_v2_client_codec`
and `_v2_encoding` (v2), so both versions read and write a field the same way:

* `load_frame`: a frame's text to its JSON value (the size limit, strict JSON, numbers
  Python cannot hold exactly kept as text and noted), and `frame_type`: its `type`, or a
  `ProtocolError` naming why it cannot be read;
* `capped_problems`: the problems of one message, at most eight of them;
* `read_id`: an id that is not a string, read leniently (an integer as its decimal text);
* `decode_event` / `event_to_wire`: the event inside an `agent_event` envelope, read
  leniently (an `operationId` that is not a string as upstream's JavaScript reads it);
* `decode_tool_result` / `tool_result_to_wire`: a `tool_result`'s fields, read strictly;
* `DEFAULT_MAX_FRAME_CHARS`, `FOREIGN_OPERATION_ID` and `STATUS_VALUES`.

Must not know: envelopes (each version's own), which messages a version has, sockets or
the store.
"""

from __future__ import annotations

import json
from typing import Any

from gatewayops._frozen import builder
from gatewayops.exceptions import FrameTooLarge, ProtocolError
from gatewayops.protocol._fields import (
    MISSING,
    Lenient,
    json_type_name,
    missing,
    mistyped,
    number_text,
    opt_object,
    opt_str,
    req_bool,
    req_str,
    value_text,
)
from gatewayops.protocol._json import decode_json
from gatewayops.protocol._messages import (
    AgentEvent,
    Problems,
    SessionStatus,
    ToolError,
    ToolResult,
)

__all__ = [
    "DEFAULT_MAX_FRAME_CHARS",
    "FOREIGN_OPERATION_ID",
    "STATUS_VALUES",
    "capped_problems",
    "decode_event",
    "decode_tool_result",
    "event_to_wire",
    "frame_type",
    "load_frame",
    "read_id",
    "tool_result_to_wire",
]

DEFAULT_MAX_FRAME_CHARS = 4 * 1024 * 1024
"""Frames longer than this many characters are rejected before parsing (4 MiB)."""

FOREIGN_OPERATION_ID = "\x00"
"""Prefix of the `AgentEvent.operation_id` given to a non-string, truthy `operationId`."""

STATUS_VALUES = {status.value: status for status in SessionStatus}
"""A `resume_complete` status's wire text to its `SessionStatus`."""

_MAX_PROBLEMS = 8
# The decoder's hot path builds events from fields it has already type-checked.
_new_event = builder(AgentEvent)


# --------------------------------------------------------------------------- frames


def load_frame(text: str | bytes, max_frame_chars: int, problems: list[str]) -> Any:
    """The JSON value of a frame; the caller checks that it is an object.

    Valid JSON whose numbers Python cannot hold exactly (an integer of more than 4,300
    digits, a float beyond 1.8e308) is read with those numbers kept as `NumberText`,
    each noted in `problems`: upstream acts on such frames, so must we.

    Raises:
        FrameTooLarge: the frame is longer than `max_frame_chars`.
        ProtocolError: the frame is not JSON.
    """
    if len(text) > max_frame_chars:
        raise FrameTooLarge(f"frame: {len(text)} characters is over the limit of {max_frame_chars}")
    try:
        if not isinstance(text, str):
            text = text.decode(json.detect_encoding(text), "surrogatepass")
        return decode_json(text, problems)
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, NaN
        raise ProtocolError(f"frame: malformed JSON ({error})") from None
    except RecursionError:
        raise ProtocolError("frame: malformed JSON (nested too deeply)") from None


def frame_type(obj: dict[str, Any]) -> str:
    """A frame's `type`. Raises `ProtocolError` when it is missing or not a string."""
    message_type = obj.get("type", MISSING)
    if type(message_type) is str:
        return message_type
    if message_type is MISSING:
        raise missing("frame.type", "str")
    raise mistyped("frame.type", "str", message_type)


def capped_problems(problems: list[str]) -> Problems:
    """The problems of one message, at most `_MAX_PROBLEMS` of them."""
    if len(problems) <= _MAX_PROBLEMS:
        return tuple(problems)
    return (*problems[: _MAX_PROBLEMS - 1], f"... and {len(problems) - _MAX_PROBLEMS + 1} more")


def read_id(value: object, path: str, problems: list[str]) -> str | None:
    """An id that is not a string: an integer is used as its decimal text, else ignored."""
    if value is None:
        return None
    text = number_text(value)
    if text is None:
        problems.append(f"{path}: expected str, got {value_text(value)} (ignored)")
    else:
        shown = text if len(text) <= 24 else f"{text[:20]}... ({len(text)} digits)"
        problems.append(f"{path}: expected str, got {json_type_name(value)} (read as {shown!r})")
    return text


# --------------------------------------------------------------------------- agent events


def _operation_id(value: object, problems: list[str]) -> str:
    """An `operationId` that is not a string, decided as upstream's JavaScript does.

    Upstream compares ``!id || id === operationId``: a falsy value (false, 0) counts as
    absent (the event is the subscriber's own); any other value never equals a string
    id, so the event is foreign. The foreign marker starts with NUL, which no operation
    id the client follows contains.
    """
    if value is None:
        return ""
    path = "agent_event.event.operationId"
    if value is False or (type(value) in (int, float) and value == 0):
        problems.append(f"{path}: expected str, got {value_text(value)} (treated as absent)")
        return ""
    problems.append(f"{path}: expected str, got {value_text(value)} (treated as foreign)")
    return FOREIGN_OPERATION_ID + value_text(value)


def decode_event(value: object, problems: list[str]) -> AgentEvent:
    """The event of an `agent_event` envelope, leniently: what fails to read is noted."""
    path = "agent_event.event"
    if type(value) is not dict:
        problems.append(
            str(missing(path, "object") if value is MISSING else mistyped(path, "object", value))
        )
        return _new_event("", "", 0, 0, None, None)
    event_type, operation_id = value.get("type"), value.get("operationId")
    step_index, timestamp = value.get("stepIndex"), value.get("timestamp")
    event_id = value.get("id")
    if type(event_type) is not str:
        event_type = Lenient(value, path, problems).required_text("type") or ""
    if type(operation_id) is not str:
        operation_id = _operation_id(operation_id, problems)
    if type(step_index) is not int:
        step_index = Lenient(value, path, problems).required_integer("stepIndex", 0)
    if type(timestamp) is not int and type(timestamp) is not float:
        timestamp = Lenient(value, path, problems).required_number("timestamp", 0)
    if event_id is not None and type(event_id) is not str:
        event_id = read_id(event_id, f"{path}.id", problems)
    return _new_event(event_type, operation_id, step_index, timestamp, value.get("data"), event_id)


def event_to_wire(event: AgentEvent) -> dict[str, Any]:
    """The JSON object of an event (an `agent_event` envelope's `event`)."""
    wire: dict[str, Any] = {
        "type": event.type,
        "operationId": event.operation_id,
        "stepIndex": event.step_index,
        "timestamp": event.timestamp,
        "data": event.data,
    }
    if event.id is not None:
        wire["id"] = event.id
    return wire


# --------------------------------------------------------------------------- tool results


def decode_tool_result(obj: dict[str, Any]) -> ToolResult:
    """A `tool_result` frame's fields, strictly (a `ProtocolError` names a bad one)."""
    path = "tool_result"
    content = obj.get("content")
    if content is not None and type(content) is not str:
        raise mistyped(f"{path}.content", "str or null", content)
    error_obj = opt_object(obj, "error", path)
    error = None
    if error_obj is not None:
        error = ToolError(
            message=req_str(error_obj, "message", f"{path}.error"),
            type=opt_str(error_obj, "type", f"{path}.error"),
        )
    return ToolResult(
        tool_call_id=req_str(obj, "toolCallId", path),
        success=req_bool(obj, "success", path),
        content=content,
        error=error,
        state=obj.get("state"),
        work_registration=obj.get("workRegistration"),
    )


def tool_result_to_wire(message: ToolResult) -> dict[str, Any]:
    """The JSON object of a `tool_result` frame (v2 adds its `operationId`)."""
    wire: dict[str, Any] = {
        "type": "tool_result",
        "toolCallId": message.tool_call_id,
        "success": message.success,
        "content": message.content,
    }
    if message.error is not None:
        error: dict[str, Any] = {"message": message.error.message}
        if message.error.type is not None:
            error["type"] = message.error.type
        wire["error"] = error
    if message.state is not None:
        wire["state"] = message.state
    if message.work_registration is not None:
        wire["workRegistration"] = message.work_registration
    return wire
