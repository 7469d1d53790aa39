"""`from_wire` and `client_from_wire`: the codec's decoding halves on parsed JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given

from gatewayops.exceptions import ProtocolError
from gatewayops.protocol import (
    ClientMessage,
    ServerMessage,
    client_from_wire,
    decode,
    decode_client,
    from_wire,
    to_wire,
)
from gatewayops.testing import strategies as gs


@given(gs.server_messages())
def test_from_wire_matches_decode(message: ServerMessage) -> None:
    """`from_wire(obj)` is `decode(json.dumps(obj))`, and inverts `to_wire`."""
    obj = json.loads(json.dumps(to_wire(message)))
    assert from_wire(obj) == decode(json.dumps(obj)) == message


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
        {"type": 7},
        {},
        [],
        "auth_success",
    ],
)
def test_from_wire_errors_match_decode(obj: Any) -> None:
    """A bad object raises the same ProtocolError (message and path) as its text would."""
    with pytest.raises(ProtocolError) as expected:
        decode(json.dumps(obj))
    with pytest.raises(ProtocolError) as actual:
        from_wire(obj)
    assert (str(actual.value), actual.value.path) == (str(expected.value), expected.value.path)


@pytest.mark.parametrize("obj", [{"type": "auth"}, {"type": "nope"}, {"token": "t"}, None])
def test_client_from_wire_errors_match_decode_client(obj: Any) -> None:
    """Likewise for client frames, an unknown type included."""
    with pytest.raises(ProtocolError) as expected:
        decode_client(json.dumps(obj))
    with pytest.raises(ProtocolError) as actual:
        client_from_wire(obj)
    assert (str(actual.value), actual.value.path) == (str(expected.value), expected.value.path)
