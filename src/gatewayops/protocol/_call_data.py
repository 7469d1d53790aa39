"""Typed views of the tool-call and error events' data (PROTOCOL.md 1.4, 6.1).

Owns: the `ToolCalling` a producer describes (in `tool_start`, in either shape of a
`tool_end` payload -- wrapped in `toolCalling` or flat `{id, identifier, apiName,
arguments}` -- and in the `toolsCalling` list of a streamed chunk), the views of
`tool_start`, `tool_end`, `tool_execute` and `error` (message, type and structured
body, from any of the error's upstream shapes), and their parsers. Same rule as the
rest of `_event_data`: never raise, degrade a field that fails to read and name it in
`problems`. Must not know: what the reducer does with them.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

from gatewayops.protocol._fields import Lenient, json_type_name, missing, mistyped, value_text
from gatewayops.protocol._json import encode_json

__all__ = [
    "DATA_PATH",
    "DEFAULT_TOOL_TIMEOUT_MS",
    "ErrorData",
    "ToolCalling",
    "ToolEndData",
    "ToolExecuteData",
    "ToolStartData",
    "error_data",
    "tool_callings",
    "tool_end_data",
    "tool_execute_data",
    "tool_start_data",
]

DATA_PATH = "event.data"
DEFAULT_TOOL_TIMEOUT_MS = 120_000
"""Budget of a `tool_execute` that names no `executionTimeoutMs` (PROTOCOL.md 6.1)."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class ToolCalling:
    """A tool call as the producer describes it (`arguments` is a JSON string)."""

    id: str
    identifier: str = ""
    api_name: str = ""
    arguments: str = ""


@attrs.frozen(kw_only=True, weakref_slot=False)
class ToolStartData:
    """The agent started a (server-side) tool call."""

    tool_calling: ToolCalling
    parent_message_id: str | None = None
    problems: tuple[str, ...] = ()


@attrs.frozen(kw_only=True, weakref_slot=False)
class ToolEndData:
    """A tool call ended. `tool_calling` is the call its payload names, in either shape.

    `result` and `error` are kept raw (any JSON value), as the producer sent them.
    """

    is_success: bool
    tool_calling: ToolCalling | None = None
    parent_message_id: str | None = None
    result: Any = None
    error: Any = None
    problems: tuple[str, ...] = ()

    @property
    def tool_call_id(self) -> str | None:
        """The id of the call that ended, if the payload names one."""
        return None if self.tool_calling is None else self.tool_calling.id


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
    assistant_message_id: str | None = None
    problems: tuple[str, ...] = ()


@attrs.frozen(kw_only=True, weakref_slot=False)
class ErrorData:
    """An `error` event's data, normalised from its several upstream shapes.

    Attributes:
        message: what to show (never empty of meaning: the type or the raw data at worst).
        kind: the error's type (`AgentRuntimeError`, `InsufficientBudget`, ...), if named.
        body: the structured detail, raw: the `body` of a structured error, or for a
            model-runtime error an object of those of `error` (when not a string),
            `_responseBody`, `budget` and `provider` that it carries; None when none.
    """

    message: str
    kind: str | None = None
    body: Any = None
    problems: tuple[str, ...] = ()


_ABSENT: Any = object()
_RUNTIME_DETAIL = ("error", "_responseBody", "budget", "provider")
"""The fields of a model-runtime error kept as its body (PROTOCOL.md 1.4)."""


def _arguments_text(value: object) -> str:
    """Tool-call arguments as upstream keeps them: a JSON string (objects are encoded)."""
    if value is None:
        return ""
    if type(value) is str:
        return value
    return encode_json(value)


def _calling(
    value: object, path: str, problems: list[str], *, required: bool
) -> ToolCalling | None:
    """The call described by `value`; None (a problem unless optional and absent) when it
    is not an object with a string id."""
    if type(value) is not dict:
        if value is not _ABSENT:
            problems.append(str(mistyped(path, "object", value)))
        elif required:
            problems.append(str(missing(path, "object")))
        return None
    read = Lenient(value, path, problems)
    call_id = read.required_text("id") if required else read.text("id")
    if call_id is None:
        return None
    return ToolCalling(
        id=call_id,
        identifier=read.text_or("identifier", ""),
        api_name=read.text_or("apiName", ""),
        arguments=_arguments_text(value.get("arguments")),
    )


def tool_callings(
    value: object, problems: list[str], path: str = f"{DATA_PATH}.toolsCalling"
) -> tuple[ToolCalling, ...]:
    """The calls of a list at `path` (a `tools_calling` chunk's `toolsCalling`, a server
    message's `tools`); an item that is not a call with an id is left out and named."""
    if value is None:
        return ()
    if type(value) is not list:
        problems.append(str(mistyped(path, "array", value)))
        return ()
    calls = (
        _calling(item, f"{path}[{n}]", problems, required=True) for n, item in enumerate(value)
    )
    return tuple(call for call in calls if call is not None)


def tool_start_data(data: dict[str, Any], problems: list[str]) -> ToolStartData | None:
    """The view of a `tool_start`; None when it names no call (it cannot be shown)."""
    read = Lenient(data, DATA_PATH, problems)
    path = f"{DATA_PATH}.toolCalling"
    calling = _calling(data.get("toolCalling", _ABSENT), path, problems, required=True)
    if calling is None:
        return None
    return ToolStartData(
        tool_calling=calling,
        parent_message_id=read.text("parentMessageId"),
        problems=tuple(problems),
    )


def tool_end_data(data: dict[str, Any], problems: list[str]) -> ToolEndData:
    """The view of a `tool_end`: its payload wraps the call in `toolCalling`, or is the
    call itself (flat); either way the call it names ends."""
    read = Lenient(data, DATA_PATH, problems)
    payload_path = f"{DATA_PATH}.payload"
    payload = read.mapping("payload")
    if "toolCalling" in payload:
        path, value = f"{payload_path}.toolCalling", payload["toolCalling"]
    else:
        path, value = payload_path, (payload if "id" in payload else _ABSENT)
    calling = _calling(value, path, problems, required=False)
    return ToolEndData(
        is_success=read.required_flag("isSuccess", False),
        tool_calling=calling,
        parent_message_id=Lenient(payload, payload_path, problems).text("parentMessageId"),
        result=data.get("result"),
        error=data.get("error"),
        problems=tuple(problems),
    )


def _timeout(data: dict[str, Any], problems: list[str]) -> int:
    timeout = data.get("executionTimeoutMs")
    if type(timeout) is float and math.isfinite(timeout):
        timeout = math.floor(timeout)  # a fractional deadline is rounded down, never refused
    if timeout is not None and type(timeout) is not int:
        problems.append(
            f"{DATA_PATH}.executionTimeoutMs: expected int, got {value_text(timeout)} "
            f"(the default {DEFAULT_TOOL_TIMEOUT_MS} ms is used)"
        )
        return DEFAULT_TOOL_TIMEOUT_MS
    if timeout is None:
        return DEFAULT_TOOL_TIMEOUT_MS
    if timeout <= 0:
        problems.append(
            f"{DATA_PATH}.executionTimeoutMs: {timeout} is not a positive deadline "
            "(the shortest budget is used)"
        )
    return timeout


def tool_execute_data(data: dict[str, Any], problems: list[str]) -> ToolExecuteData | None:
    """The view of a `tool_execute`; None without a call id (it cannot be answered)."""
    read = Lenient(data, DATA_PATH, problems)
    call_id = read.required_text("toolCallId")
    if call_id is None:
        return None
    arguments = data.get("arguments")
    if arguments is None:
        arguments = ""
    elif type(arguments) is not str:
        problems.append(str(mistyped(f"{DATA_PATH}.arguments", "str", arguments)))
        arguments = None
    return ToolExecuteData(
        tool_call_id=call_id,
        identifier=read.text_or("identifier", ""),
        api_name=read.text_or("apiName", ""),
        arguments=arguments,
        execution_timeout_ms=_timeout(data, problems),
        assistant_message_id=read.text("assistantMessageId"),
        problems=tuple(problems),
    )


def _body(data: dict[str, Any]) -> Any:
    if "body" in data:
        return data["body"]
    detail = {
        key: data[key]
        for key in _RUNTIME_DETAIL
        if data.get(key) is not None and not (key == "error" and type(data[key]) is str)
    }
    return detail or None


def error_data(data: dict[str, Any], problems: list[str]) -> ErrorData:
    """The view of an `error` object: `{message}`, `{error}`, structured `{type, body,
    message}` or model-runtime `{errorType, error, _responseBody?, budget?, provider?}`."""
    kind = data.get("errorType")
    if kind is None:
        kind = data.get("type")
    if kind is not None and type(kind) is not str:
        problems.append(f"{DATA_PATH}.errorType: expected str, got {json_type_name(kind)}")
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
        message=message,
        kind=kind if type(kind) is str else None,
        body=_body(data),
        problems=tuple(problems),
    )
