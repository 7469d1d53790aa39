"""The v2 client-side decoder (the hub's): strict, and naming the offending field."""

from __future__ import annotations

import pytest

from gatewayops.exceptions import ProtocolError
from gatewayops.protocol import Subscribe, decode_mux_client


@pytest.mark.parametrize(
    ("frame", "named"),
    [
        ('{"type":"subscribe"}', "subscribe.operationId"),
        ('{"type":"subscribe","operationId":""}', "subscribe.operationId"),
        ('{"type":"subscribe","operationId":"o","lastEventId":3}', "subscribe.lastEventId"),
        ('{"type":"subscribe","operationId":"o","executor":"yes"}', "subscribe.executor"),
        ('{"type":"unsubscribe","operationId":7}', "unsubscribe.operationId"),
        ('{"type":"tool_result","toolCallId":"c","success":true}', "tool_result.operationId"),
        ('{"type":"tool_result","operationId":"o","success":true}', "tool_result.toolCallId"),
        ('{"type":"resume","lastEventId":""}', "frame.type"),
        ('{"type":"tool_confirmation","operationId":"o","toolCallId":"t"}', "approved"),
        ('{"type":"user_input","operationId":"o","requestId":"r","content":1}', "content"),
        ('{"type":"input_request","operationId":"o","requestId":"r","prompt":"?"}', "type"),
        ('{"type":"subscribe","operationId":"o","lastEventId":1e400}', "1e400"),
    ],
)
def test_a_bad_client_frame_is_refused_naming_the_field(frame: str, named: str) -> None:
    """A missing, empty or mistyped field, an unknown type or an inexact number is an error
    whose message names it."""
    with pytest.raises(ProtocolError) as error:
        decode_mux_client(frame)
    assert named in str(error.value)


def test_a_null_optional_field_counts_as_absent() -> None:
    """subscribe with lastEventId and executor null is a subscribe from the start."""
    frame = '{"type":"subscribe","operationId":"o","lastEventId":null,"executor":null}'
    assert decode_mux_client(frame) == Subscribe(operation_id="o")


def test_unknown_extra_fields_are_ignored() -> None:
    """A newer client's extra field does not make the hub refuse the frame."""
    frame = '{"type":"subscribe","operationId":"o","docChannel":"d-1"}'
    assert decode_mux_client(frame) == Subscribe(operation_id="o")
