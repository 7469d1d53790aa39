"""Typed views of tool events whose data fails to read: degraded fields, UnreadableData.

A tool call without an id cannot be shown, ended or answered (UnreadableData); any other
field that fails is degraded to its default and named in the view's `problems`. A
`tool_execute` deadline that cannot be read gives the default budget; one that is not
positive is kept (the shortest budget) and named.
"""

from __future__ import annotations

from typing import Any

import pytest

from gatewayops.protocol import (
    DEFAULT_TOOL_TIMEOUT_MS,
    AgentEvent,
    EventData,
    NumberText,
    ToolCalling,
    ToolEndData,
    ToolExecuteData,
    ToolStartData,
    UnreadableData,
    parse_event_data,
)

TOOL_CALLING = {"id": "call_1", "identifier": "web", "apiName": "search", "arguments": "{}"}
HUGE = NumberText("1e400")  # as decode keeps a number Python cannot hold
NUMBER_TEXT = "number Python cannot hold exactly"


def parse(event_type: str, data: Any) -> EventData | None:
    """parse_event_data of an event of `event_type` carrying `data`."""
    return parse_event_data(AgentEvent(type=event_type, operation_id="op-1", data=data))


def unreadable(*problems: str) -> UnreadableData:
    """The UnreadableData with `problems`."""
    return UnreadableData(problems=problems)


# --------------------------------------------------------------------------- tool_start


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        pytest.param(
            {}, "event.data.toolCalling: missing required field (expected object)", id="absent"
        ),
        pytest.param(
            None, "event.data.toolCalling: missing required field (expected object)", id="no-data"
        ),
        pytest.param(
            {"toolCalling": None}, "event.data.toolCalling: expected object, got null", id="null"
        ),
        pytest.param(
            {"toolCalling": "c"}, "event.data.toolCalling: expected object, got str", id="str"
        ),
        pytest.param(
            {"toolCalling": {}},
            "event.data.toolCalling.id: missing required field (expected str)",
            id="no-id",
        ),
        pytest.param(
            {"toolCalling": {"id": 5}}, "event.data.toolCalling.id: expected str, got int", id="int"
        ),
        pytest.param(
            {"toolCalling": {"id": HUGE}},
            f"event.data.toolCalling.id: expected str, got {NUMBER_TEXT}",
            id="number-text",
        ),
    ],
)
def test_tool_start_without_a_call_id_is_unreadable(data: Any, problem: str) -> None:
    """A tool_start without a toolCalling object holding a string id cannot be shown; an
    absent toolCalling is named as missing, a null one as null."""
    assert parse("tool_start", data) == unreadable(problem)


@pytest.mark.parametrize(
    ("data", "calling", "parent", "problem"),
    [
        (
            {"toolCalling": {"id": "c", "apiName": 3}},
            ToolCalling(id="c"),
            None,
            "event.data.toolCalling.apiName: expected str, got int",
        ),
        (
            {"toolCalling": {"id": "c", "identifier": 3}},
            ToolCalling(id="c"),
            None,
            "event.data.toolCalling.identifier: expected str, got int",
        ),
        (
            {"toolCalling": TOOL_CALLING, "parentMessageId": 1},
            ToolCalling(id="call_1", identifier="web", api_name="search", arguments="{}"),
            None,
            "event.data.parentMessageId: expected str, got int",
        ),
    ],
)
def test_tool_start_mistyped_detail_is_defaulted(
    data: dict[str, Any], calling: ToolCalling, parent: str | None, problem: str
) -> None:
    """A tool_start with a call id keeps it; other mistyped fields get their default."""
    assert parse("tool_start", data) == ToolStartData(
        tool_calling=calling, parent_message_id=parent, problems=(problem,)
    )


@pytest.mark.parametrize(
    ("data", "success", "problem"),
    [
        ({"isSuccess": 1}, False, "event.data.isSuccess: expected bool, got int"),
        ({"isSuccess": True, "payload": "p"}, True, "event.data.payload: expected object, got str"),
        (
            {"isSuccess": True, "payload": {"toolCalling": 1}},
            True,
            "event.data.payload.toolCalling: expected object, got int",
        ),
        (
            {"isSuccess": True, "payload": {"toolCalling": {"id": 2}}},
            True,
            "event.data.payload.toolCalling.id: expected str, got int",
        ),
    ],
)
def test_tool_end_mistyped_field_is_defaulted(
    data: dict[str, Any], success: bool, problem: str
) -> None:
    """A mistyped isSuccess counts as a failure; an unreadable payload loses the call id."""
    assert parse("tool_end", data) == ToolEndData(is_success=success, problems=(problem,))


def test_tool_end_without_is_success_counts_as_failed_and_names_it() -> None:
    """A tool_end with no isSuccess is read as a failure, and the problem names the missing
    required field; the call id is still read."""
    view = parse("tool_end", {"payload": {"toolCalling": {"id": "c"}}})
    assert view == ToolEndData(
        is_success=False,
        tool_calling=ToolCalling(id="c"),
        problems=("event.data.isSuccess: missing required field (expected bool)",),
    )
    assert parse("tool_end", {}) == ToolEndData(
        is_success=False, problems=("event.data.isSuccess: missing required field (expected bool)",)
    )


def test_tool_end_null_is_success_is_mistyped() -> None:
    """isSuccess: null is not absent but mistyped (a required field has no null)."""
    assert parse("tool_end", {"isSuccess": None}) == ToolEndData(
        is_success=False, problems=("event.data.isSuccess: expected bool, got null",)
    )


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({}, "event.data.toolCallId: missing required field (expected str)"),
        (None, "event.data.toolCallId: missing required field (expected str)"),
        ({"toolCallId": None}, "event.data.toolCallId: expected str, got null"),
        ({"toolCallId": 1}, "event.data.toolCallId: expected str, got int"),
        ({"toolCallId": HUGE}, f"event.data.toolCallId: expected str, got {NUMBER_TEXT}"),
    ],
)
def test_tool_execute_without_a_call_id_is_unreadable(data: Any, problem: str) -> None:
    """A tool_execute without a string toolCallId cannot be answered: UnreadableData."""
    assert parse("tool_execute", data) == unreadable(problem)


@pytest.mark.parametrize(
    ("arguments", "got"),
    [({"a": 1}, "object"), (7, "int"), (["a"], "array"), (True, "bool"), (HUGE, NUMBER_TEXT)],
)
def test_tool_execute_non_string_arguments_are_none(arguments: Any, got: str) -> None:
    """Non-string arguments give arguments=None (answered with arguments_parse_error)."""
    assert parse("tool_execute", {"toolCallId": "c", "arguments": arguments}) == ToolExecuteData(
        tool_call_id="c",
        identifier="",
        api_name="",
        arguments=None,
        problems=(f"event.data.arguments: expected str, got {got}",),
    )


@pytest.mark.parametrize(
    ("timeout", "text"),
    [("30s", '"30s"'), (True, "true"), ("1e400", '"1e400"'), ([], "[]"), (HUGE, "1e400")],
)
def test_tool_execute_non_int_timeout_is_the_default(timeout: Any, text: str) -> None:
    """A non-number executionTimeoutMs (or one Python cannot hold) gives the default budget,
    and the problem quotes it."""
    data = {"toolCallId": "c", "executionTimeoutMs": timeout}
    assert parse("tool_execute", data) == ToolExecuteData(
        tool_call_id="c",
        identifier="",
        api_name="",
        arguments="",
        execution_timeout_ms=DEFAULT_TOOL_TIMEOUT_MS,
        problems=(
            f"event.data.executionTimeoutMs: expected int, got {text} "
            "(the default 120000 ms is used)",
        ),
    )


def test_tool_execute_mistyped_names_are_empty() -> None:
    """Mistyped identifier and apiName become "", each named; the call stays answerable."""
    data = {"toolCallId": "c", "identifier": 1, "apiName": 2, "arguments": "{}"}
    assert parse("tool_execute", data) == ToolExecuteData(
        tool_call_id="c",
        identifier="",
        api_name="",
        arguments="{}",
        problems=(
            "event.data.identifier: expected str, got int",
            "event.data.apiName: expected str, got int",
        ),
    )


@pytest.mark.parametrize(
    ("timeout", "ms"),
    [(0, 0), (-5, -5), (0.0, 0), (-0.0, 0), (0.9, 0), (-3.5, -4)],
    ids=["0", "-5", "0.0", "-0.0", "0.9", "-3.5"],
)
def test_tool_execute_non_positive_timeout_is_kept_and_named(timeout: float, ms: int) -> None:
    """An executionTimeoutMs that is (or rounds down, with math.floor, to) zero or less is
    kept as it is, not replaced by the default: the problem says the shortest budget is
    used."""
    view = parse("tool_execute", {"toolCallId": "c", "executionTimeoutMs": timeout})
    assert view == ToolExecuteData(
        tool_call_id="c",
        identifier="",
        api_name="",
        arguments="",
        execution_timeout_ms=ms,
        problems=(
            f"event.data.executionTimeoutMs: {ms} is not a positive deadline "
            "(the shortest budget is used)",
        ),
    )
    assert isinstance(view, ToolExecuteData)
    assert type(view.execution_timeout_ms) is int
