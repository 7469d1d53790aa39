"""operation_url: the v1 socket URL of an operation (PROTOCOL.md 1.1)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatewayops.exceptions import InvalidGatewayUrl, LocalUsageError
from gatewayops.protocol import check_gateway_url, operation_url


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("https://gateway.test.com", "wss://gateway.test.com/ws?operationId=op-123"),
        ("http://localhost:8787", "ws://localhost:8787/ws?operationId=op-123"),
    ],
)
def test_upstream_examples(base: str, expected: str) -> None:
    """The two examples from the upstream tests map http(s) to ws(s)."""
    assert operation_url(base, "op-123") == expected


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("wss://gw.test", "wss://gw.test/ws?operationId=op-123"),
        ("wss://gw.test/", "wss://gw.test/ws?operationId=op-123"),
        ("ws://127.0.0.1:8787///", "ws://127.0.0.1:8787/ws?operationId=op-123"),
        ("wss://gw.test/prefix/", "wss://gw.test/prefix/ws?operationId=op-123"),
    ],
)
def test_ws_base_loses_trailing_slashes(base: str, expected: str) -> None:
    """A ws:// or wss:// base keeps its scheme and path, minus trailing slashes."""
    assert operation_url(base, "op-123") == expected


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("https://gw.test/", "wss://gw.test//ws?operationId=op-123"),
        ("http://gw.test/api//", "ws://gw.test/api///ws?operationId=op-123"),
    ],
)
def test_http_base_keeps_trailing_slashes(base: str, expected: str) -> None:
    """An http(s) base keeps its trailing slashes, as the upstream client does."""
    assert operation_url(base, "op-123") == expected


@pytest.mark.parametrize(
    ("operation_id", "encoded"),
    [
        ("op 1", "op%201"),
        ("a/b?c=d&e", "a%2Fb%3Fc%3Dd%26e"),
        ("caf\u00e9", "caf%C3%A9"),
        ("op_x-1.2~", "op_x-1.2~"),
    ],
)
def test_operation_id_is_url_encoded(operation_id: str, encoded: str) -> None:
    """The operation id is percent-encoded, slashes included."""
    assert operation_url("wss://gw.test", operation_id).endswith(f"/ws?operationId={encoded}")


@given(st.text(min_size=1))
def test_operation_id_survives_encoding(operation_id: str) -> None:
    """Parsing the URL's query gives back exactly the operation id."""
    url = operation_url("https://gw.test", operation_id)
    parts = urlsplit(url)
    assert parts.scheme == "wss"
    assert parts.path == "/ws"
    assert parse_qs(parts.query, keep_blank_values=True) == {"operationId": [operation_id]}


@pytest.mark.parametrize(
    "base", ["", "gw.test", "ftp://gw.test", "HTTPS://gw.test", "//gw.test", "wss:/gw.test"]
)
def test_bad_scheme_raises(base: str) -> None:
    """A base with no or another scheme raises InvalidGatewayUrl, a local usage error."""
    with pytest.raises(InvalidGatewayUrl, match="expected a ws://, wss://, http:// or https://"):
        operation_url(base, "op-123")
    assert issubclass(InvalidGatewayUrl, LocalUsageError)
    assert issubclass(InvalidGatewayUrl, ValueError)


def test_empty_operation_id_raises() -> None:
    """An empty operation id is refused."""
    with pytest.raises(InvalidGatewayUrl, match="operation id"):
        operation_url("wss://gw.test", "")


def test_token_is_never_in_the_url() -> None:
    """The v1 URL carries only the operation id (the token goes in the auth frame)."""
    assert urlsplit(operation_url("https://gw.test", "op-1")).query == "operationId=op-1"


@pytest.mark.parametrize(
    "base",
    [
        "ws://127.0.0.1:9/ws?operationId=op-1",
        "https://gw.test/ws",
        "wss://gw.test/ws/",
        "http://gw.test/?x=1",
    ],
)
def test_a_socket_url_as_base_raises(base: str) -> None:
    """An operation's socket URL passed as the base is refused, not extended a second time."""
    with pytest.raises(InvalidGatewayUrl, match="base URL"):
        operation_url(base, "op-1")


@pytest.mark.parametrize(
    ("base", "problem"),
    [
        ("ws://", "no host"),
        ("wss:///ws-root", "no host"),
        ("http://:8080", "no host"),
        ("ws://127.0.0.1:0", "expected a port from 1 to 65535"),
        ("ws://127.0.0.1:65536", "expected a port from 1 to 65535"),
        ("https://gw.test:99999/", "expected a port from 1 to 65535"),
        ("ws://127.0.0.1:port", "expected a port from 1 to 65535"),
    ],
)
def test_a_base_without_a_host_or_with_a_bad_port_raises(base: str, problem: str) -> None:
    """A base with no host, or a port outside 1-65535 (or not a number), is refused
    naming the URL and what is wrong with it."""
    with pytest.raises(InvalidGatewayUrl, match=problem) as refused:
        operation_url(base, "op-1")
    assert repr(base) in str(refused.value)


@pytest.mark.parametrize("base", ["ws://127.0.0.1:1", "wss://gw.test:65535", "http://gw.test"])
def test_check_gateway_url_accepts_ports_1_to_65535_and_none(base: str) -> None:
    """`check_gateway_url` returns a usable base unchanged (the port is optional)."""
    assert check_gateway_url(base) == base
