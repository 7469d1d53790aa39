"""mux_url: the v2 socket URL of a user (PROTOCOL.md 7.1), and that its token never shows."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from gatewayops._secrets import contains_secret, get_logger, redact_secrets
from gatewayops.exceptions import InvalidGatewayUrl
from gatewayops.protocol import mux_url

TOKEN = jwt.encode({"sub": "user-1", "exp": 1}, "k" * 32, algorithm="HS256")


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("https://gw.test", "wss://gw.test/v2/ws"),
        ("http://localhost:8787", "ws://localhost:8787/v2/ws"),
        ("http://localhost:8787//", "ws://localhost:8787/v2/ws"),
        ("https://gw.test/prefix/", "wss://gw.test/prefix/v2/ws"),
        ("ws://127.0.0.1:8787/", "ws://127.0.0.1:8787/v2/ws"),
        ("wss://gw.test", "wss://gw.test/v2/ws"),
    ],
)
def test_scheme_as_v1_and_trailing_slashes_stripped_in_both_branches(
    base: str, expected: str
) -> None:
    """http(s) becomes ws(s), ws(s) stays, and trailing slashes go in either case."""
    assert mux_url(base, "t.k.n", "client-1").split("?")[0] == expected


def test_the_query_carries_the_token_and_the_client_id_encoded() -> None:
    """token and clientId are percent-encoded query parameters that read back exactly."""
    url = mux_url("ws://h:1", "a+b/c=", "client 1&x")
    assert parse_qs(urlsplit(url).query) == {"token": ["a+b/c="], "clientId": ["client 1&x"]}


@pytest.mark.parametrize(
    ("base", "token", "client_id", "named"),
    [
        ("ftp://h", "t", "c", "expected a ws://"),
        ("http://", "t", "c", "no host"),
        ("ws://h:0", "t", "c", "port"),
        ("ws://h:99999", "t", "c", "port"),
        ("ws://h/v2/ws", "t", "c", "base URL"),
        ("ws://h/ws", "t", "c", "base URL"),
        ("ws://h?x=1", "t", "c", "base URL"),
        ("ws://h", "", "c", "token"),
        ("ws://h", "t", "", "client id"),
    ],
)
def test_bad_input_is_refused_naming_what_was_wrong(
    base: str, token: str, client_id: str, named: str
) -> None:
    """Another scheme, no host, a bad port, a socket URL, an empty token or client id: a
    clear error."""
    with pytest.raises(InvalidGatewayUrl, match=named):
        mux_url(base, token, client_id)


def test_a_socket_url_passed_as_base_is_refused_without_showing_its_token() -> None:
    """The error for a v2 socket URL given as the base does not quote its token."""
    with pytest.raises(InvalidGatewayUrl) as error:
        mux_url(mux_url("ws://h:1", TOKEN, "c"), TOKEN, "c")
    assert TOKEN not in str(error.value)


def test_the_url_is_redacted_by_the_secret_rule() -> None:
    """redact_secrets hides the token of a v2 URL and keeps the rest."""
    url = mux_url("ws://h:1", TOKEN, "client-1")
    assert contains_secret(url)
    shown = redact_secrets(url)
    assert TOKEN not in shown
    assert shown == "ws://h:1/v2/ws?token=<redacted>&clientId=client-1"


def test_a_logged_v2_url_shows_no_token(caplog: pytest.LogCaptureFixture) -> None:
    """A gatewayops logger that logs the URL as an argument writes it redacted."""
    caplog.set_level(logging.INFO, logger="gatewayops.test_mux_url")
    get_logger("gatewayops.test_mux_url").info("dialing %s", mux_url("ws://h:1", TOKEN, "c"))
    assert TOKEN not in caplog.text
    assert "token=<redacted>" in caplog.text
