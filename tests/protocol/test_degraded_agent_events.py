"""agent_event frames whose fields fail to read: each is degraded and named in `problems`.

What decides the operation's life is always read (the frame is an agent_event, whose
operation it is, its type); detail that cannot be read becomes a default or a form that
cannot mislead, and the message's `problems` says which field and why.
"""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest

from gatewayops.protocol import (
    FOREIGN_OPERATION_ID,
    REDACTED,
    AgentEvent,
    AgentEventMessage,
    HeartbeatAck,
    decode,
)

EVENT: dict[str, Any] = {
    "type": "stream_chunk",
    "operationId": "op-1",
    "stepIndex": 0,
    "timestamp": 1700000000000,
    "data": {"chunkType": "text", "content": "hi"},
}
DATA = EVENT["data"]
TOKEN = jwt.encode({"sub": "x"}, "k" * 32, algorithm="HS256")
BIG = "9" * 5000  # over Python's 4,300-digit limit for int <-> str
BIG_PROBLEM = "frame: integer 99999999999999999999... (5000 characters) read as text"
NUMBER_TEXT = "number Python cannot hold exactly"


def frame(**fields: Any) -> str:
    """A JSON text frame with `fields`."""
    return json.dumps(fields)


def event_frame(**overrides: Any) -> str:
    """An agent_event frame whose event has `overrides` (a value of None deletes the key)."""
    event = {**EVENT, **overrides}
    return frame(type="agent_event", event={k: v for k, v in event.items() if v is not None})


def decoded(text: str) -> AgentEventMessage:
    """decode(text), which must be an agent_event."""
    message = decode(text)
    assert isinstance(message, AgentEventMessage)
    return message


def chunk(**fields: Any) -> AgentEvent:
    """The EVENT as decoded, with `fields` changed."""
    clean: dict[str, Any] = {
        "type": "stream_chunk",
        "operation_id": "op-1",
        "step_index": 0,
        "timestamp": 1700000000000,
        "data": DATA,
    }
    return AgentEvent(**{**clean, **fields})


# --------------------------------------------------------------------------- the event


def test_clean_event_has_no_problems() -> None:
    """A well-formed agent_event decodes exactly, with problems ()."""
    assert decoded(event_frame()) == AgentEventMessage(event=chunk(), problems=())


def test_agent_event_without_event() -> None:
    """agent_event with no `event` decodes to an empty event, the problem naming the field;
    the envelope id (the resume cursor) is still read."""
    assert decoded(frame(type="agent_event", id="1")) == AgentEventMessage(
        event=AgentEvent(type=""),
        id="1",
        problems=("agent_event.event: missing required field (expected object)",),
    )


@pytest.mark.parametrize(("value", "got"), [([], "array"), ("e", "str"), (None, "null")])
def test_agent_event_event_not_object(value: object, got: str) -> None:
    """An `event` that is not an object decodes to an empty event, naming its JSON type."""
    assert decoded(frame(type="agent_event", event=value)) == AgentEventMessage(
        event=AgentEvent(type=""), problems=(f"agent_event.event: expected object, got {got}",)
    )


@pytest.mark.parametrize(
    ("field", "expected", "degraded"),
    [("type", "str", {"type": ""}), ("stepIndex", "int", {"step_index": 0}),
     ("timestamp", "number", {"timestamp": 0})],
)  # fmt: skip
def test_event_missing_required_field(field: str, expected: str, degraded: dict[str, Any]) -> None:
    """A missing type, stepIndex or timestamp becomes "" or 0, the problem naming it."""
    assert decoded(event_frame(**{field: None})) == AgentEventMessage(
        event=chunk(**degraded),
        problems=(f"agent_event.event.{field}: missing required field (expected {expected})",),
    )


@pytest.mark.parametrize(
    ("field", "degraded"), [("stepIndex", {"step_index": 0}), ("timestamp", {"timestamp": 0})]
)
def test_bool_is_not_a_number(field: str, degraded: dict[str, Any]) -> None:
    """`true` where a number is required becomes 0, the problem saying it was a bool."""
    expected = "int" if field == "stepIndex" else "number"
    assert decoded(event_frame(**{field: True})) == AgentEventMessage(
        event=chunk(**degraded),
        problems=(f"agent_event.event.{field}: expected {expected}, got bool",),
    )


@pytest.mark.parametrize(
    ("field", "value", "degraded", "problem"),
    [
        ("stepIndex", 1.5, {"step_index": 0}, "stepIndex: expected int, got float"),
        ("stepIndex", "3", {"step_index": 0}, "stepIndex: expected int, got str"),
        ("timestamp", "1700", {"timestamp": 0}, "timestamp: expected number, got str"),
        ("type", 7, {"type": ""}, "type: expected str, got int"),
        ("type", ["stream_chunk"], {"type": ""}, "type: expected str, got array"),
    ],
)
def test_event_mistyped_field(
    field: str, value: object, degraded: dict[str, Any], problem: str
) -> None:
    """A mistyped type, stepIndex or timestamp becomes "" or 0, naming what it got."""
    assert decoded(event_frame(**{field: value})) == AgentEventMessage(
        event=chunk(**degraded), problems=(f"agent_event.event.{problem}",)
    )


def test_unreadable_event_type_is_not_terminal() -> None:
    """An event whose type cannot be read is never taken for a terminal one."""
    message = decoded(event_frame(type=7, data={"reason": "error"}))
    assert message.event.type == ""
    assert not message.event.is_terminal_type


def test_integral_float_step_index_is_accepted() -> None:
    """A stepIndex written as 2.0 decodes as the int 2, without a problem."""
    message = decoded(event_frame(stepIndex=2.0))
    assert message == AgentEventMessage(event=chunk(step_index=2), problems=())
    assert type(message.event.step_index) is int


def test_float_timestamp_is_kept() -> None:
    """A float timestamp is a number: it is kept as it is, without a problem."""
    assert decoded(event_frame(timestamp=1.5)) == AgentEventMessage(event=chunk(timestamp=1.5))


def test_every_event_field_at_once() -> None:
    """Every field of an event failing at once gives one problem each, in field order."""
    event = {"type": 1, "operationId": True, "stepIndex": "a", "timestamp": "b", "id": []}
    assert decoded(frame(type="agent_event", event=event, id=[])) == AgentEventMessage(
        event=AgentEvent(type="", operation_id=FOREIGN_OPERATION_ID + "true"),
        problems=(
            "agent_event.event.type: expected str, got int",
            "agent_event.event.operationId: expected str, got true (treated as foreign)",
            "agent_event.event.stepIndex: expected int, got str",
            "agent_event.event.timestamp: expected number, got str",
            "agent_event.event.id: expected str, got [] (ignored)",
            "agent_event.id: expected str, got [] (ignored)",
        ),
    )


# --------------------------------------------------------------------------- operationId


def test_absent_or_null_operation_id_is_empty() -> None:
    """An event without operationId, with null or with "" decodes to "" with no problem."""
    with_empty = decoded(event_frame(operationId=""))
    assert with_empty == AgentEventMessage(event=chunk(operation_id=""), problems=())
    assert decoded(event_frame(operationId=None)) == with_empty
    assert decoded(frame(type="agent_event", event={**EVENT, "operationId": None})) == with_empty


@pytest.mark.parametrize(
    ("value", "text"), [(False, "false"), (0, "0"), (0.0, "0.0"), (-0.0, "-0.0")]
)
def test_js_falsy_operation_id_counts_as_absent(value: object, text: str) -> None:
    """A falsy non-string operationId (upstream's ``!id``) makes the event the follower's
    own, as an absent one would; the problem says so."""
    message = decoded(event_frame(operationId=value))
    assert message == AgentEventMessage(
        event=chunk(operation_id=""),
        problems=(f"agent_event.event.operationId: expected str, got {text} (treated as absent)",),
    )
    assert message.event.is_own("op-1")


@pytest.mark.parametrize(
    ("value", "text"),
    [(True, "true"), (123, "123"), (1.5, "1.5"), (-1, "-1"), ([], "[]"), ({}, "{}"),
     ({"id": "op-1"}, '{"id":"op-1"}'), (["op-1"], '["op-1"]')],
)  # fmt: skip
def test_js_truthy_operation_id_is_foreign(value: object, text: str) -> None:
    """A truthy non-string operationId (empty arrays and objects included, as in JS) makes
    the event foreign: FOREIGN_OPERATION_ID followed by the value's JSON text."""
    message = decoded(event_frame(operationId=value))
    assert message == AgentEventMessage(
        event=chunk(operation_id=FOREIGN_OPERATION_ID + text),
        problems=(f"agent_event.event.operationId: expected str, got {text} (treated as foreign)",),
    )
    assert not message.event.is_own("op-1")


def test_foreign_operation_id_redacts_a_jwt_before_cutting() -> None:
    """A foreign operationId's text is the value's JSON text, redacted and then cut to 80
    characters, so no part of a JWT in it survives (in the id or the problem)."""
    text = '{"x":"' + "p" * 25 + REDACTED + '"}'
    message = decoded(event_frame(operationId={"x": "p" * 25 + TOKEN}))
    assert message == AgentEventMessage(
        event=chunk(operation_id=FOREIGN_OPERATION_ID + text),
        problems=(f"agent_event.event.operationId: expected str, got {text} (treated as foreign)",),
    )


def test_number_text_operation_id_is_foreign() -> None:
    """An operationId that is a number Python cannot hold is truthy: the event is foreign,
    its text being the number's literal."""
    text = event_frame().replace('"operationId": "op-1"', '"operationId": 1e400')
    message = decoded(text)
    assert message == AgentEventMessage(
        event=chunk(operation_id=FOREIGN_OPERATION_ID + "1e400"),
        problems=(
            "frame: number 1e400 (5 characters) read as text",
            "agent_event.event.operationId: expected str, got 1e400 (treated as foreign)",
        ),
    )
    assert not message.event.is_own("op-1")


@pytest.mark.parametrize("value", [123, True, ["op-1"]])
def test_foreign_operation_id_never_equals_a_string_id(value: object) -> None:
    """The foreign form of a value is never the id of an operation named like its text."""
    event = decoded(event_frame(operationId=value)).event
    for name in ("123", "true", '["op-1"]', "op-1", ""):
        assert event.operation_id != name
        assert not event.is_own(name)


# --------------------------------------------------------------------------- ids


@pytest.mark.parametrize(
    ("value", "read_as", "problem"),
    [
        (17, "17", "expected str, got int (read as '17')"),
        (17.0, "17", "expected str, got float (read as '17')"),
        (0, "0", "expected str, got int (read as '0')"),
        (True, None, "expected str, got true (ignored)"),
        (False, None, "expected str, got false (ignored)"),
        (17.5, None, "expected str, got 17.5 (ignored)"),
        ({"n": 1}, None, 'expected str, got {"n":1} (ignored)'),
    ],
)
def test_numeric_envelope_id(value: object, read_as: str | None, problem: str) -> None:
    """An integral envelope id (the resume cursor) is read as its decimal text; any other
    non-string id is ignored; both are named as agent_event.id."""
    assert decoded(frame(type="agent_event", event=EVENT, id=value)) == AgentEventMessage(
        event=chunk(), id=read_as, problems=(f"agent_event.id: {problem}",)
    )


@pytest.mark.parametrize(
    ("value", "read_as", "problem"),
    [
        (5, "5", "expected str, got int (read as '5')"),
        (5.0, "5", "expected str, got float (read as '5')"),
        (True, None, "expected str, got true (ignored)"),
        (5.5, None, "expected str, got 5.5 (ignored)"),
        ({"a": 1}, None, 'expected str, got {"a":1} (ignored)'),
    ],
)
def test_numeric_event_id(value: object, read_as: str | None, problem: str) -> None:
    """The id inside the event follows the same rule, named as agent_event.event.id."""
    assert decoded(event_frame(id=value)) == AgentEventMessage(
        event=chunk(id=read_as), problems=(f"agent_event.event.id: {problem}",)
    )


@pytest.mark.parametrize(
    ("digits", "frame_problem"),
    [(BIG, BIG_PROBLEM),
     ("-" + BIG, "frame: integer -9999999999999999999... (5001 characters) read as text")],
    ids=["5000-digits", "negative"],
)  # fmt: skip
def test_huge_integer_envelope_id_is_its_digits(digits: str, frame_problem: str) -> None:
    """An integer envelope id too long for Python's int is still read as its digits (the
    resume cursor stays exact), named as agent_event.id."""
    text = '{"type":"agent_event","id":' + digits + ',"event":' + json.dumps(EVENT) + "}"
    assert decoded(text) == AgentEventMessage(
        event=chunk(),
        id=digits,
        problems=(
            frame_problem,
            f"agent_event.id: expected str, got {NUMBER_TEXT} "
            f"(read as {digits[:20] + f'... ({len(digits)} digits)'!r})",
        ),
    )


def test_huge_integer_event_id_is_its_digits() -> None:
    """Likewise an integer event id too long for Python's int is read as its digits."""
    text = event_frame(id=0).replace('"id": 0', '"id": ' + BIG)
    assert decoded(text) == AgentEventMessage(
        event=chunk(id=BIG),
        problems=(
            BIG_PROBLEM,
            f"agent_event.event.id: expected str, got {NUMBER_TEXT} "
            f"(read as {BIG[:20] + f'... ({len(BIG)} digits)'!r})",
        ),
    )


def test_non_integer_number_text_ids_are_ignored() -> None:
    """An envelope or event id beyond float range (1e400) is not an integer: it is ignored,
    each named with the number's literal."""
    event = event_frame(id=0).replace('"id": 0', '"id": 1e400')
    text = event[:-1] + ',"id":-1e400}'
    assert decoded(text) == AgentEventMessage(
        event=chunk(),
        id=None,
        problems=(
            "frame: number 1e400 (5 characters) read as text",
            "frame: number -1e400 (6 characters) read as text",
            "agent_event.event.id: expected str, got 1e400 (ignored)",
            "agent_event.id: expected str, got -1e400 (ignored)",
        ),
    )


def test_null_ids_are_absent() -> None:
    """A null envelope or event id is simply absent: no problem."""
    text = frame(type="agent_event", event={**EVENT, "id": None}, id=None)
    assert decoded(text) == AgentEventMessage(event=chunk(), id=None, problems=())


# --------------------------------------------------------------------------- what is kept


def test_event_type_is_kept_raw_and_data_untouched() -> None:
    """An event type outside EventType still decodes; `data` is kept as raw JSON."""
    message = decoded(event_frame(type="brand_new_event", data=[1, {"x": None}]))
    assert message == AgentEventMessage(
        event=AgentEvent(
            type="brand_new_event",
            operation_id="op-1",
            step_index=0,
            timestamp=1700000000000,
            data=[1, {"x": None}],
        )
    )


def test_unknown_extra_fields_are_ignored() -> None:
    """Extra fields on a frame or inside an event do not change what decodes."""
    assert decode(frame(type="heartbeat_ack", at=1, extra={"x": [1]})) == HeartbeatAck()
    plain = decode(event_frame())
    noisy = frame(type="agent_event", event={**EVENT, "future": True}, summary="s")
    assert decode(noisy) == plain
