"""The client side of a token endpoint: trade a run's token for a fresh one over HTTP.

Owns: `fetch_token`, one ``POST`` of ``{"token": "..."}`` to a token URL (``http://``
only, h11 over a Trio TCP stream, one request per connection, within a timeout), and
what its answers mean for the run: 200 ``{"token": "..."}`` is the fresh token; 404 means
the gateway no longer knows the run (`OperationNotFound`: the run ends as gone); any
other answer, or no answer, is a `TokenUnavailable` whose message says what happened,
so the refresh is retried within the refresh budget. This is the protocol of the
reference gateway's endpoint (``gatewayops serve`` prints its URL); a real backend's
token service may speak it too.

Must not know: the reference gateway, the store. Never logs or shows a token.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import h11
import trio

from gatewayops.exceptions import OperationNotFound, TokenUnavailable

__all__ = ["check_token_url", "fetch_token"]

_MAX_ANSWER_BYTES = 64 * 1024
_TIMEOUT = 10.0


def check_token_url(url: str) -> tuple[str, int, str]:
    """The host, port and path of an ``http://HOST[:PORT]/PATH`` token URL.

    Raises:
        ValueError: another scheme, no host, or a port outside 1-65535.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"token URL {url!r}: expected http://HOST:PORT/PATH")
    try:
        port = 80 if parts.port is None else parts.port
    except ValueError:
        port = 0  # not a number, or outside 0-65535
    if not 1 <= port <= 65_535:
        raise ValueError(f"token URL {url!r}: expected a port from 1 to 65535")
    return parts.hostname, port, parts.path or "/"


async def _exchange(host: str, port: int, path: str, body: bytes) -> tuple[int, bytes]:
    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=_MAX_ANSWER_BYTES)
    stream = await trio.open_tcp_stream(host, port)
    async with stream:
        headers = [
            ("Host", f"{host}:{port}"),
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
        ]
        request = h11.Request(method="POST", target=path, headers=headers)
        for sent in (request, h11.Data(data=body), h11.EndOfMessage()):
            await stream.send_all(conn.send(sent) or b"")
        status, answer = 0, bytearray()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await stream.receive_some(_MAX_ANSWER_BYTES))
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                answer += event.data
                if len(answer) > _MAX_ANSWER_BYTES:
                    raise h11.RemoteProtocolError("the answer is too large")
            elif isinstance(event, h11.EndOfMessage):
                return status, bytes(answer)
            else:
                raise h11.RemoteProtocolError("the connection closed mid-answer")


def _field(answer: bytes, name: str) -> str:
    try:
        parsed: Any = json.loads(answer)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return ""
    value = parsed.get(name) if isinstance(parsed, dict) else None
    return value if isinstance(value, str) else ""


async def fetch_token(url: str, token: str) -> str:
    """A fresh token for the run `token` belongs to, from the token endpoint at `url`.

    Raises:
        OperationNotFound: the endpoint answered 404 (the run is unknown or forgotten).
        TokenUnavailable: no answer, or another one; the message says which.
    """
    host, port, path = check_token_url(url)
    body = json.dumps({"token": token}).encode()
    try:
        with trio.fail_after(_TIMEOUT):
            status, answer = await _exchange(host, port, path, body)
    except trio.TooSlowError:
        raise TokenUnavailable(f"token endpoint {url}: no answer within {_TIMEOUT:g} s") from None
    except (OSError, trio.BrokenResourceError, h11.ProtocolError) as error:
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise TokenUnavailable(f"token endpoint {url}: {reason}") from None
    fresh = _field(answer, "token")
    if status == 200 and fresh:
        return fresh
    refusal = _field(answer, "error") or f"HTTP {status}"
    if status == 404:
        raise OperationNotFound(f"token endpoint: {refusal}")
    raise TokenUnavailable(f"token endpoint {url} refused a fresh token: {refusal}")
