"""Input nobody wrote by hand, for v2: valid hub frames mutated at the wire level.

Hypothesis draws a valid hub frame, then deletes fields, changes their types, puts in
huge numbers and strings, or truncates its text. Whatever comes out, the hub-side decoder
(PROTOCOL.md 7.3; DESIGN.md section 4):

* raises nothing but `ProtocolError`, and that only when the `type` cannot be read;
* keeps what decides a life: a surviving string `operationId` is the message's, and a
  surviving terminal `status` of a `status_change` is read as that status;
* gives a message the codec can encode again (a recording of it replays).

The hub's strict decoder, given mutated client frames, returns a message or raises
`ProtocolError`, nothing else, and what it returns encodes to a frame it reads back the same.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatewayops.exceptions import ProtocolError
from gatewayops.protocol import (
    SessionStatus,
    StatusChange,
    decode_json,
    decode_mux,
    decode_mux_client,
    encode_mux,
    mux_to_wire,
)
from gatewayops.testing import strategies as gs
from gatewayops.testing._wire_mutations import encode, field_mutated


def _as_read(text: str) -> Any:
    """The JSON value of `text` as the codec reads it (huge numbers as `NumberText`), or
    None when it is not JSON."""
    try:
        return decode_json(text)
    except (ValueError, RecursionError):
        return None


@st.composite
def mutated_frames(draw: st.DrawFn, messages: st.SearchStrategy[Any]) -> str:
    """A valid frame of `messages` after 1-3 mutations of its JSON, maybe truncated, as
    wire text."""
    frame: dict[str, Any] = mux_to_wire(draw(messages))
    for _ in range(draw(st.integers(1, 3))):
        field_mutated(draw, frame, delete=draw(st.booleans()))
    text = encode(frame)
    if draw(st.integers(0, 5)) == 0:
        return text[: draw(st.integers(0, max(0, len(text) - 1)))]
    return text


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=300)
@given(mutated_frames(gs.mux_server_messages()))
def test_mutated_hub_frames_degrade_but_keep_what_decides_a_life(text: str) -> None:
    """Only an unreadable type refuses a frame; a readable operationId and a terminal
    status survive; every decoded message encodes again."""
    frame = _as_read(text)
    try:
        message = decode_mux(text)
    except ProtocolError:
        assert not isinstance(frame, dict) or not isinstance(frame.get("type"), str)
        return
    assert isinstance(frame, dict)
    operation_id = frame.get("operationId")
    if isinstance(operation_id, str) and hasattr(message, "operation_id"):
        assert message.operation_id == operation_id
    status = frame.get("status")
    if isinstance(message, StatusChange) and status in ("completed", "error", "interrupted"):
        assert message.status is SessionStatus(status)
    encode_mux(message)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=200)
@given(mutated_frames(gs.mux_client_messages()))
def test_mutated_client_frames_are_read_or_refused_by_the_hub(text: str) -> None:
    """The hub's decoder returns a client message or raises ProtocolError, and what it
    returns survives encode -> decode unchanged."""
    try:
        message = decode_mux_client(text)
    except ProtocolError:
        return
    assert decode_mux_client(encode_mux(message)) == message
