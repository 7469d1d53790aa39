"""Decoding errors: each names the offending field and the type it expected."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatewayops.exceptions import FrameTooLarge, ProtocolError, RemoteProtocolError
from gatewayops.protocol import (
    AgentEvent,
    AgentEventMessage,
    AuthFailed,
    HeartbeatAck,
    Resume,
    ResumeComplete,
    SessionStatus,
    ToolError,
    ToolResult,
    UnknownMessage,
    decode,
    decode_client,
)
from gatewayops.testing import strategies as gs

EVENT: dict[str, Any] = {
    "type": "stream_chunk",
    "operationId": "op-1",
    "stepIndex": 0,
    "timestamp": 1700000000000,
    "data": {"chunkType": "text", "content": "hi"},
}


def frame(**fields: Any) -> str:
    """A JSON text frame with `fields`."""
    return json.dumps(fields)


def event_frame(**overrides: Any) -> str:
    """An agent_event frame whose event has `overrides` (a value of None deletes the key)."""
    event = {**EVENT, **overrides}
    return frame(type="agent_event", event={k: v for k, v in event.items() if v is not None})


def decode_error(text: str | bytes) -> ProtocolError:
    """The ProtocolError decoding `text` raises."""
    with pytest.raises(ProtocolError) as info:
        decode(text)
    return info.value


def client_error(text: str) -> ProtocolError:
    """The ProtocolError decode_client raises for `text`."""
    with pytest.raises(ProtocolError) as info:
        decode_client(text)
    return info.value


# --------------------------------------------------------------------------- the frame


def test_protocol_error_is_the_peers_fault() -> None:
    """ProtocolError belongs to the RemoteProtocolError family (the peer broke the rules)."""
    assert issubclass(ProtocolError, RemoteProtocolError)
    assert issubclass(FrameTooLarge, ProtocolError)


@pytest.mark.parametrize("text", ["{", "", "not json", '{"type": "auth_success",}', "{'a': 1}"])
def test_malformed_json(text: str) -> None:
    """Text that is not JSON raises a ProtocolError about the whole frame."""
    error = decode_error(text)
    assert str(error).startswith("frame: malformed JSON")
    assert error.path == ""


@pytest.mark.parametrize(
    ("text", "got"),
    [("[]", "array"), ('[{"type": "auth_success"}]', "array"), ('"auth_success"', "str"),
     ("42", "int"), ("4.5", "float"), ("null", "null"), ("true", "bool")],
)  # fmt: skip
def test_non_object_frame(text: str, got: str) -> None:
    """A JSON value that is not an object is rejected, naming what it was."""
    assert str(decode_error(text)) == f"frame: expected object, got {got}"


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"])
def test_non_finite_numbers_are_not_json(literal: str) -> None:
    """NaN, Infinity and numbers that overflow to infinity are malformed JSON."""
    text = '{"type":"agent_event","event":{"type":"x","stepIndex":0,"timestamp":' + literal + "}}"
    assert str(decode_error(text)).startswith("frame: malformed JSON")


def test_deep_nesting_is_malformed_not_a_crash() -> None:
    """A frame nested past the recursion limit raises ProtocolError, not RecursionError."""
    text = '{"type":"x","data":' + "[" * 100_000 + "]" * 100_000 + "}"
    assert str(decode_error(text)) == "frame: malformed JSON (nested too deeply)"


def test_invalid_utf8_bytes() -> None:
    """A bytes frame that is not valid UTF-8 raises ProtocolError."""
    assert str(decode_error(b'{"type":"\xff"}')).startswith("frame: malformed JSON")


def test_missing_type() -> None:
    """A frame without `type` names frame.type and the expected str."""
    error = decode_error("{}")
    assert str(error) == "frame.type: missing required field (expected str)"
    assert error.path == "frame.type"


@pytest.mark.parametrize(("value", "got"), [(1, "int"), (None, "null"), (["a"], "array")])
def test_mistyped_type(value: object, got: str) -> None:
    """A non-string `type` names frame.type, str, and what it got."""
    assert str(decode_error(frame(type=value))) == f"frame.type: expected str, got {got}"


# --------------------------------------------------------------------------- agent_event


def test_agent_event_without_event() -> None:
    """agent_event with no `event` names agent_event.event as a missing object."""
    error = decode_error(frame(type="agent_event", id="1"))
    assert str(error) == "agent_event.event: missing required field (expected object)"
    assert error.path == "agent_event.event"


def test_agent_event_event_not_object() -> None:
    """An `event` that is not an object names its JSON type."""
    error = decode_error(frame(type="agent_event", event=[]))
    assert str(error) == "agent_event.event: expected object, got array"


def test_mistyped_operation_id() -> None:
    """An integer operationId is reported exactly as `expected str, got int`."""
    error = decode_error(event_frame(operationId=123))
    assert str(error) == "agent_event.event.operationId: expected str, got int"
    assert error.path == "agent_event.event.operationId"


def test_absent_or_null_operation_id_is_empty() -> None:
    """An event without operationId (or with null) decodes with operation_id ``""``."""
    with_empty = decode(event_frame(operationId=""))
    assert isinstance(with_empty, AgentEventMessage)
    assert with_empty.event.operation_id == ""
    assert decode(event_frame(operationId=None)) == with_empty
    assert decode(frame(type="agent_event", event={**EVENT, "operationId": None})) == with_empty


@pytest.mark.parametrize(
    ("field", "expected"), [("type", "str"), ("stepIndex", "int"), ("timestamp", "number")]
)
def test_event_missing_required_field(field: str, expected: str) -> None:
    """A missing type, stepIndex or timestamp names the field and its type."""
    error = decode_error(event_frame(**{field: None}))
    path = f"agent_event.event.{field}"
    assert str(error) == f"{path}: missing required field (expected {expected})"
    assert error.path == path


@pytest.mark.parametrize(("field", "expected"), [("stepIndex", "int"), ("timestamp", "number")])
def test_bool_is_not_a_number(field: str, expected: str) -> None:
    """`true` is not accepted where a number is required."""
    error = decode_error(event_frame(**{field: True}))
    assert str(error) == f"agent_event.event.{field}: expected {expected}, got bool"


@pytest.mark.parametrize(
    ("field", "value", "got"),
    [("stepIndex", 1.5, "float"), ("stepIndex", "3", "str"), ("timestamp", "1700", "str"),
     ("type", 7, "int")],
)  # fmt: skip
def test_event_mistyped_field(field: str, value: object, got: str) -> None:
    """Other mistyped event fields name the field, the expected type and the actual one."""
    error = decode_error(event_frame(**{field: value}))
    assert str(error).startswith(f"agent_event.event.{field}: expected ")
    assert str(error).endswith(f", got {got}")


def test_integral_float_step_index_is_accepted() -> None:
    """A stepIndex written as 2.0 decodes as the int 2."""
    message = decode(event_frame(stepIndex=2.0))
    assert isinstance(message, AgentEventMessage)
    assert message.event.step_index == 2
    assert type(message.event.step_index) is int


def test_mistyped_event_id() -> None:
    """A non-string id inside the event names agent_event.event.id."""
    assert str(decode_error(event_frame(id=5))) == "agent_event.event.id: expected str, got int"


def test_mistyped_envelope_id() -> None:
    """A non-string envelope id names agent_event.id."""
    error = decode_error(frame(type="agent_event", event=EVENT, id=17))
    assert str(error) == "agent_event.id: expected str, got int"
    assert error.path == "agent_event.id"


def test_event_type_is_kept_raw_and_data_untouched() -> None:
    """An event type outside EventType still decodes; `data` is kept as raw JSON."""
    message = decode(event_frame(type="brand_new_event", data=[1, {"x": None}]))
    assert message == AgentEventMessage(
        event=AgentEvent(
            type="brand_new_event",
            operation_id="op-1",
            step_index=0,
            timestamp=1700000000000,
            data=[1, {"x": None}],
        )
    )


# --------------------------------------------------------------------------- other server frames


def test_resume_complete_unknown_status() -> None:
    """A status outside SessionStatus lists the allowed values and quotes what came."""
    error = decode_error(frame(type="resume_complete", status="done"))
    assert str(error) == (
        "resume_complete.status: expected one of running, waiting_input, "
        "waiting_confirmation, completed, error, interrupted, got 'done'"
    )
    assert error.path == "resume_complete.status"


def test_resume_complete_missing_or_mistyped_status() -> None:
    """A missing or non-string status names resume_complete.status."""
    assert str(decode_error(frame(type="resume_complete"))) == (
        "resume_complete.status: missing required field (expected str)"
    )
    assert str(decode_error(frame(type="resume_complete", status=1))) == (
        "resume_complete.status: expected str, got int"
    )


@pytest.mark.parametrize("status", list(SessionStatus))
def test_resume_complete_every_status(status: SessionStatus) -> None:
    """Every SessionStatus value decodes to its enum member."""
    assert decode(frame(type="resume_complete", status=status.value)) == ResumeComplete(
        status=status
    )


def test_auth_failed_reason() -> None:
    """auth_failed keeps its reason, defaults it to "" and rejects a non-string one."""
    assert decode(frame(type="auth_failed", reason="gone")) == AuthFailed(reason="gone")
    assert decode(frame(type="auth_failed")) == AuthFailed(reason="")
    assert str(decode_error(frame(type="auth_failed", reason=403))) == (
        "auth_failed.reason: expected str, got int"
    )


def test_unknown_type_is_kept() -> None:
    """An unknown server type decodes to UnknownMessage with the whole frame as payload."""
    payload = {"type": "status_change", "status": "running", "id": "9"}
    message = decode(json.dumps(payload))
    assert message == UnknownMessage(type="status_change")
    assert isinstance(message, UnknownMessage)
    assert message.payload == payload


def test_unknown_extra_fields_are_ignored() -> None:
    """Extra fields on a frame or inside an event do not change what decodes."""
    assert decode(frame(type="heartbeat_ack", at=1, extra={"x": [1]})) == HeartbeatAck()
    plain = decode(event_frame())
    noisy = frame(type="agent_event", event={**EVENT, "future": True}, summary="s")
    assert decode(noisy) == plain


# --------------------------------------------------------------------------- frame size


def test_frame_over_the_limit() -> None:
    """A frame one character over max_frame_chars raises FrameTooLarge before parsing."""
    text = event_frame()
    with pytest.raises(FrameTooLarge, match=f"over the limit of {len(text) - 1}"):
        decode(text, max_frame_chars=len(text) - 1)
    with pytest.raises(FrameTooLarge):
        decode_client(frame(type="heartbeat"), max_frame_chars=5)


def test_frame_exactly_at_the_limit() -> None:
    """A frame exactly max_frame_chars long decodes."""
    text = event_frame()
    assert isinstance(decode(text, max_frame_chars=len(text)), AgentEventMessage)


def test_oversized_garbage_is_too_large_not_malformed() -> None:
    """The size check comes first: oversized garbage is FrameTooLarge, not malformed JSON."""
    with pytest.raises(FrameTooLarge):
        decode("x" * 11, max_frame_chars=10)


# --------------------------------------------------------------------------- client frames


def test_decode_client_unknown_type() -> None:
    """decode_client rejects a type no client sends, listing the known ones."""
    error = client_error(frame(type="agent_event"))
    assert str(error) == (
        "frame.type: expected one of auth, resume, heartbeat, tool_result, interrupt, "
        "got 'agent_event'"
    )
    assert error.path == "frame.type"


def test_decode_client_missing_token() -> None:
    """auth without a token names auth.token."""
    assert str(client_error(frame(type="auth"))) == (
        "auth.token: missing required field (expected str)"
    )


def test_decode_client_resume_fields() -> None:
    """resume defaults an absent cursor to "" and wantStatus to false; mistypes are named."""
    assert decode_client(frame(type="resume")) == Resume(last_event_id="", want_status=False)
    assert str(client_error(frame(type="resume", lastEventId=3))) == (
        "resume.lastEventId: expected str, got int"
    )
    assert str(client_error(frame(type="resume", wantStatus="yes"))) == (
        "resume.wantStatus: expected bool, got str"
    )


def test_tool_result_mistyped_content() -> None:
    """tool_result content must be a string or null."""
    error = client_error(frame(type="tool_result", toolCallId="c", success=True, content=1))
    assert str(error) == "tool_result.content: expected str or null, got int"
    assert error.path == "tool_result.content"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"success": True}, "tool_result.toolCallId: missing required field (expected str)"),
        ({"toolCallId": "c"}, "tool_result.success: missing required field (expected bool)"),
        ({"toolCallId": "c", "success": 1}, "tool_result.success: expected bool, got int"),
        (
            {"toolCallId": "c", "success": False, "error": "boom"},
            "tool_result.error: expected object, got str",
        ),
        (
            {"toolCallId": "c", "success": False, "error": {}},
            "tool_result.error.message: missing required field (expected str)",
        ),
        (
            {"toolCallId": "c", "success": False, "error": {"message": "m", "type": 2}},
            "tool_result.error.type: expected str, got int",
        ),
    ],
)
def test_tool_result_field_errors(fields: dict[str, Any], message: str) -> None:
    """Each required or mistyped tool_result field is named."""
    assert str(client_error(frame(type="tool_result", **fields))) == message


def test_tool_result_full_frame() -> None:
    """A complete tool_result decodes every field, opaque ones untouched."""
    text = frame(
        type="tool_result",
        toolCallId="call_1",
        success=False,
        content=None,
        error={"message": "timed out", "type": "client_executor_timeout"},
        state={"step": [1, 2]},
        workRegistration={"id": "w"},
    )
    assert decode_client(text) == ToolResult(
        tool_call_id="call_1",
        success=False,
        error=ToolError(message="timed out", type="client_executor_timeout"),
        state={"step": [1, 2]},
        work_registration={"id": "w"},
    )


# --------------------------------------------------------------------------- fuzzing


def decode_errors(text: str | bytes) -> list[ProtocolError]:
    """The ProtocolErrors `decode` and `decode_client` raise for `text` (other errors escape)."""
    errors = []
    for decoder in (decode, decode_client):
        try:
            decoder(text)
        except ProtocolError as error:
            errors.append(error)
    return errors


@given(st.text(max_size=200) | st.binary(max_size=200))
def test_decoding_garbage_raises_only_protocol_error(text: str | bytes) -> None:
    """Arbitrary text or bytes either decodes or raises ProtocolError, never anything else."""
    decode_errors(text)


_KNOWN_TYPES = [
    "auth_success", "auth_failed", "auth_expired", "heartbeat_ack", "agent_event",
    "session_complete", "resume_complete", "auth", "resume", "heartbeat", "tool_result",
    "interrupt",
]  # fmt: skip
_FIELDS = st.sampled_from(
    ["event", "id", "status", "reason", "token", "lastEventId", "wantStatus", "toolCallId",
     "success", "content", "error", "state"]
)  # fmt: skip
_EVENT_FIELDS = st.sampled_from(["type", "operationId", "stepIndex", "timestamp", "data", "id"])


@given(
    st.sampled_from(_KNOWN_TYPES),
    st.dictionaries(_FIELDS, gs.json_values(max_leaves=6), max_size=6),
    st.none() | st.dictionaries(_EVENT_FIELDS, gs.json_values(max_leaves=4)),
)
def test_wrong_shapes_raise_only_protocol_error_naming_a_field(
    message_type: str, fields: dict[str, Any], event: dict[str, Any] | None
) -> None:
    """Known types with arbitrary field values decode or raise a ProtocolError with a path."""
    if event is not None:
        fields["event"] = event
    for error in decode_errors(json.dumps({**fields, "type": message_type})):
        assert error.path, str(error)
        assert str(error).startswith(error.path + ": ")
