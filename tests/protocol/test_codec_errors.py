"""Refusals: the frames `decode` still refuses whole, and the strict client-frame side.

A server frame is refused (`ProtocolError`) only when not even its `type` can be read;
everything else degrades (see test_degraded_frames.py and test_degraded_agent_events.py).
`decode_client`, the gateway's side, stays strict and names the offending field.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatewayops.exceptions import FrameTooLarge, ProtocolError, RemoteProtocolError
from gatewayops.protocol import (
    AgentEventMessage,
    NumberText,
    Resume,
    ServerMessage,
    ToolError,
    ToolResult,
    client_from_wire,
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


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_are_not_json(literal: str) -> None:
    """The NaN and Infinity literals are malformed JSON, naming the literal."""
    text = '{"type":"agent_event","event":{"type":"x","stepIndex":0,"timestamp":' + literal + "}}"
    assert str(decode_error(text)) == f"frame: malformed JSON ({literal} is not a JSON number)"


def test_nan_is_refused_even_beside_a_number_kept_as_text() -> None:
    """A frame with both 1e400 (which alone would degrade) and NaN is still malformed."""
    text = '{"type":"auth_success","a":1e400,"b":NaN}'
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


@pytest.mark.parametrize(
    ("value", "got"), [(1, "int"), (None, "null"), (["a"], "array"), (True, "bool")]
)
def test_mistyped_type(value: object, got: str) -> None:
    """A non-string `type` names frame.type, str, and what it got."""
    error = decode_error(frame(type=value, event=EVENT))
    assert str(error) == f"frame.type: expected str, got {got}"
    assert error.path == "frame.type"


@pytest.mark.parametrize("number", ["1e400", "9" * 5000], ids=["1e400", "5000-digits"])
def test_numeric_type_kept_as_text_is_refused(number: str) -> None:
    """A `type` that is a number Python cannot hold is kept as a NumberText, which is no
    string: the frame has no string type and is refused, naming what the type was."""
    error = decode_error('{"type":' + number + "}")
    assert str(error) == "frame.type: expected str, got number Python cannot hold exactly"
    assert error.path == "frame.type"


# --------------------------------------------------------------------------- frame size


def test_frame_over_the_limit() -> None:
    """A frame one character over max_frame_chars raises FrameTooLarge before parsing."""
    text = frame(type="agent_event", event=EVENT)
    with pytest.raises(FrameTooLarge, match=f"over the limit of {len(text) - 1}"):
        decode(text, max_frame_chars=len(text) - 1)
    with pytest.raises(FrameTooLarge):
        decode_client(frame(type="heartbeat"), max_frame_chars=5)


def test_frame_exactly_at_the_limit() -> None:
    """A frame exactly max_frame_chars long decodes."""
    text = frame(type="agent_event", event=EVENT)
    assert isinstance(decode(text, max_frame_chars=len(text)), AgentEventMessage)


def test_oversized_garbage_is_too_large_not_malformed() -> None:
    """The size check comes first: oversized garbage is FrameTooLarge, not malformed JSON."""
    with pytest.raises(FrameTooLarge):
        decode("x" * 11, max_frame_chars=10)


def test_oversized_bytes_are_too_large() -> None:
    """A bytes frame is measured in bytes, and refused whole when over the limit."""
    with pytest.raises(FrameTooLarge, match="11 characters is over the limit of 10"):
        decode(b'{"type":""}', max_frame_chars=10)


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
    error = client_error(frame(type="auth"))
    assert str(error) == "auth.token: missing required field (expected str)"
    assert error.path == "auth.token"


def test_decode_client_resume_defaults() -> None:
    """resume defaults an absent cursor to "" and wantStatus to false."""
    assert decode_client(frame(type="resume")) == Resume(last_event_id="", want_status=False)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"lastEventId": 3}, "resume.lastEventId: expected str, got int"),
        ({"lastEventId": 3.0}, "resume.lastEventId: expected str, got float"),
        ({"wantStatus": "yes"}, "resume.wantStatus: expected bool, got str"),
    ],
)
def test_decode_client_resume_mistyped(fields: dict[str, Any], message: str) -> None:
    """decode_client does not read a numeric cursor as text, as decode does: it refuses."""
    assert str(client_error(frame(type="resume", **fields))) == message


def test_tool_result_mistyped_content() -> None:
    """tool_result content must be a string or null."""
    error = client_error(frame(type="tool_result", toolCallId="c", success=True, content=1))
    assert str(error) == "tool_result.content: expected str or null, got int"
    assert error.path == "tool_result.content"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"success": True}, "tool_result.toolCallId: missing required field (expected str)"),
        ({"toolCallId": 7, "success": True}, "tool_result.toolCallId: expected str, got int"),
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
    """Each required or mistyped tool_result field is named (no degrading on this side)."""
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


@pytest.mark.parametrize(
    ("number", "message"),
    [
        (
            "9" * 5000,
            "frame: integer 99999999999999999999... (5000 characters) cannot be read exactly",
        ),
        ("1e400", "frame: number 1e400 (5 characters) cannot be read exactly"),
    ],
    ids=["5000-digit-integer", "1e400"],
)
def test_decode_client_refuses_numbers_kept_as_text(number: str, message: str) -> None:
    """A number Python cannot hold, which decode would keep as text, is refused whole: the
    error says it cannot be read exactly (not that it was read as text)."""
    text = '{"type":"tool_result","toolCallId":"c","success":true,"state":{"n":' + number + "}}"
    error = client_error(text)
    assert str(error) == message
    assert error.path == ""


def test_decode_client_refuses_a_numeric_type_as_a_number() -> None:
    """A client frame whose type is such a number is refused for the number first."""
    assert str(client_error('{"type":1e400}')) == (
        "frame: number 1e400 (5 characters) cannot be read exactly"
    )


def test_client_from_wire_refuses_a_number_text_where_a_str_is_needed() -> None:
    """Given parsed JSON holding a NumberText, client_from_wire names it as mistyped."""
    with pytest.raises(ProtocolError) as info:
        client_from_wire({"type": "resume", "lastEventId": NumberText("9" * 5000)})
    assert str(info.value) == (
        "resume.lastEventId: expected str, got number Python cannot hold exactly"
    )
    assert info.value.path == "resume.lastEventId"


@pytest.mark.parametrize(
    "text",
    ['{"type":"heartbeat","x":NaN}', "[]", "{}", '{"type":7}', '{"type":"heartbeat",}'],
)
def test_decode_client_refuses_what_decode_refuses(text: str) -> None:
    """The frame-level refusals hold on the client side too, with the same message."""
    assert str(client_error(text)) == str(decode_error(text))


# --------------------------------------------------------------------------- fuzzing


@given(st.text(max_size=200) | st.binary(max_size=200))
def test_decoding_garbage_raises_only_protocol_error(text: str | bytes) -> None:
    """Arbitrary text or bytes either decodes or raises ProtocolError, never anything else."""
    for decoder in (decode, decode_client):
        with contextlib.suppress(ProtocolError):
            decoder(text)


_SERVER_TYPES = [
    "auth_success", "auth_failed", "auth_expired", "heartbeat_ack", "agent_event",
    "session_complete", "resume_complete",
]  # fmt: skip
_CLIENT_TYPES = ["auth", "resume", "heartbeat", "tool_result", "interrupt"]
_FIELDS = st.sampled_from(
    ["event", "id", "status", "reason", "token", "lastEventId", "wantStatus", "toolCallId",
     "success", "content", "error", "state"]
)  # fmt: skip
_EVENT_FIELDS = st.sampled_from(["type", "operationId", "stepIndex", "timestamp", "data", "id"])
_SHAPES = st.tuples(
    st.dictionaries(_FIELDS, gs.json_values(max_leaves=6), max_size=6),
    st.none() | st.dictionaries(_EVENT_FIELDS, gs.json_values(max_leaves=4)),
)


def client_error_or_none(text: str) -> ProtocolError | None:
    """The ProtocolError decode_client raises for `text`, or None if it decodes."""
    try:
        decode_client(text)
    except ProtocolError as error:
        return error
    return None


def wrong_shape(message_type: str, shape: tuple[dict[str, Any], dict[str, Any] | None]) -> str:
    """A frame of `message_type` with the drawn fields (and event, when one was drawn)."""
    fields, event = shape
    if event is not None:
        fields = {**fields, "event": event}
    return json.dumps({**fields, "type": message_type})


@given(st.sampled_from(_CLIENT_TYPES), _SHAPES)
def test_wrong_client_shapes_raise_only_protocol_error_naming_a_field(
    message_type: str, shape: tuple[dict[str, Any], dict[str, Any] | None]
) -> None:
    """Client types with arbitrary field values decode or raise a ProtocolError with a path."""
    error = client_error_or_none(wrong_shape(message_type, shape))
    if error is not None:
        assert error.path, str(error)
        assert str(error).startswith(error.path + ": ")


@given(st.sampled_from(_SERVER_TYPES), _SHAPES)
def test_wrong_server_shapes_never_raise(
    message_type: str, shape: tuple[dict[str, Any], dict[str, Any] | None]
) -> None:
    """Server types with arbitrary field values always decode; each problem names a field
    of that message (frame-level problems need numbers Python cannot hold)."""
    message: ServerMessage = decode(wrong_shape(message_type, shape))
    assert len(message.problems) <= 8
    for problem in message.problems:
        assert problem.startswith(message_type + "."), problem
        assert ": expected " in problem or ": missing required field " in problem, problem
