"""`from_wire` and `client_from_wire`: the codec's decoding halves on parsed JSON."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatewayops.exceptions import ProtocolError
from gatewayops.protocol import (
    AuthFailed,
    ClientMessage,
    ServerMessage,
    client_from_wire,
    decode,
    decode_client,
    decode_json,
    from_wire,
    redact_secrets,
    to_wire,
)
from gatewayops.testing import strategies as gs


@given(gs.server_messages())
def test_from_wire_matches_decode(message: ServerMessage) -> None:
    """`from_wire(obj)` is `decode(json.dumps(obj))`, and inverts `to_wire` (an auth_failed
    reason comes back with its secrets redacted)."""
    obj = json.loads(json.dumps(to_wire(message)))
    expected = message
    if isinstance(message, AuthFailed):
        expected = attrs.evolve(message, reason=redact_secrets(message.reason))
    assert from_wire(obj) == decode(json.dumps(obj)) == expected


@given(gs.client_messages())
def test_client_from_wire_matches_decode_client(message: ClientMessage) -> None:
    """`client_from_wire(obj)` is `decode_client(json.dumps(obj))`, and inverts `to_wire`."""
    obj = json.loads(json.dumps(to_wire(message)))
    assert client_from_wire(obj) == decode_client(json.dumps(obj)) == message


@pytest.mark.parametrize(
    "obj",
    [
        {"type": "agent_event", "event": {"type": "stream_chunk", "stepIndex": "0"}},
        {"type": "agent_event"},
        {"type": "agent_event", "event": [], "id": 7},
        {"type": "agent_event", "event": {"type": "x", "operationId": 0, "id": 2.0}},
        {"type": "resume_complete", "status": "done"},
        {"type": "auth_failed", "reason": 403},
    ],
)
def test_from_wire_degrades_as_decode(obj: dict[str, Any]) -> None:
    """An object with unreadable fields gives the same degraded message, problems included,
    as its text would."""
    message = from_wire(obj)
    assert message.problems
    assert message == decode(json.dumps(obj))


@pytest.mark.parametrize("obj", [{"type": 7}, {}, [], "auth_success", None])
def test_from_wire_errors_match_decode(obj: Any) -> None:
    """An object without a string type raises the same ProtocolError (message and path) as
    its text would."""
    with pytest.raises(ProtocolError) as expected:
        decode(json.dumps(obj))
    with pytest.raises(ProtocolError) as actual:
        from_wire(obj)
    assert (str(actual.value), actual.value.path) == (str(expected.value), expected.value.path)


@given(
    st.sampled_from(["agent_event", "auth_failed", "resume_complete", "auth_success"]),
    gs.json_objects(),
    st.none() | gs.json_objects(),
)
def test_from_wire_matches_decode_on_any_fields(
    message_type: str, fields: dict[str, Any], event: dict[str, Any] | None
) -> None:
    """For any object with a string type, from_wire and decode give the same message."""
    obj = {**fields, "type": message_type}
    if event is not None:
        obj["event"] = event
    assert from_wire(obj) == decode(json.dumps(obj))


@pytest.mark.parametrize(
    "text",
    [
        '{"type":"auth_failed","reason":1e400}',
        '{"type":"agent_event","id":' + "9" * 5000 + ',"event":{"type":"x","stepIndex":0,'
        '"timestamp":-1e400,"operationId":1e400}}',
        '{"type":"status_change","n":1e400}',
    ],
    ids=["auth-failed", "agent-event", "unknown"],
)
def test_from_wire_of_number_texts_matches_decode_without_frame_problems(text: str) -> None:
    """Given decode_json's object (NumberTexts and all), from_wire gives what decode gives,
    less the frame-level lines, which only decode (reading the text) can note."""
    message = decode(text)
    field_problems = tuple(p for p in message.problems if not p.startswith("frame: "))
    assert len(field_problems) < len(message.problems)
    assert from_wire(decode_json(text)) == attrs.evolve(message, problems=field_problems)


@pytest.mark.parametrize("obj", [{"type": "auth"}, {"type": "nope"}, {"token": "t"}, None])
def test_client_from_wire_errors_match_decode_client(obj: Any) -> None:
    """Likewise for client frames, an unknown type included."""
    with pytest.raises(ProtocolError) as expected:
        decode_client(json.dumps(obj))
    with pytest.raises(ProtocolError) as actual:
        client_from_wire(obj)
    assert (str(actual.value), actual.value.path) == (str(expected.value), expected.value.path)
