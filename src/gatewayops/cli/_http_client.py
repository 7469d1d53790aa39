"""The client side of a gateway's HTTP endpoint: one JSON ``POST``, its status and answer.

Owns: `check_http_url` (an ``http://HOST[:PORT]/PATH`` URL, checked once with an error
naming it) and `post_json` (one ``POST`` of a JSON body, optionally with an
``Authorization: Bearer`` header, h11 over a Trio TCP stream, one request per
connection, within `TIMEOUT`), and `refusal` (the ``error`` an answer names, else its
status). What an answer means is its caller's (`_token_client`, `_answer_client`).

Must not know: the reference gateway, the store, which route is spoken to. Never logs
or shows a token.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import h11
import trio

__all__ = ["TIMEOUT", "EndpointUnreachable", "check_http_url", "post_json", "refusal"]

_MAX_ANSWER_BYTES = 64 * 1024

TIMEOUT = 10.0
"""Seconds one request may take, connecting included."""


class EndpointUnreachable(Exception):
    """No answer came: the message says what happened instead (refused, timed out...)."""


def check_http_url(url: str, what: str) -> tuple[str, int, str]:
    """The host, port and path of an ``http://HOST[:PORT]/PATH`` URL (`what` names it
    in the error).

    Raises:
        ValueError: another scheme, no host, or a port outside 1-65535.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"{what} {url!r}: expected http://HOST:PORT/PATH")
    try:
        port = 80 if parts.port is None else parts.port
    except ValueError:
        port = 0  # not a number, or outside 0-65535
    if not 1 <= port <= 65_535:
        raise ValueError(f"{what} {url!r}: expected a port from 1 to 65535")
    return parts.hostname, port, parts.path or "/"


async def _exchange(
    host: str, port: int, path: str, body: bytes, bearer: str | None
) -> tuple[int, bytes]:
    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=_MAX_ANSWER_BYTES)
    stream = await trio.open_tcp_stream(host, port)
    async with stream:
        headers = [
            ("Host", f"{host}:{port}"),
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
        ]
        if bearer is not None:
            headers.append(("Authorization", f"Bearer {bearer}"))
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


async def post_json(
    url: str, payload: Any, *, bearer: str | None = None, what: str = "endpoint"
) -> tuple[int, dict[str, Any]]:
    """POST `payload` as JSON to `url`; the status and the answer's JSON object (empty
    when the answer is not one).

    Raises:
        ValueError: `url` is not an ``http://`` URL (see `check_http_url`).
        EndpointUnreachable: no answer within `TIMEOUT`, or the connection failed; the
            message starts with `what` and the URL.
    """
    host, port, path = check_http_url(url, what)
    body = json.dumps(payload).encode()
    try:
        with trio.fail_after(TIMEOUT):
            status, answer = await _exchange(host, port, path, body, bearer)
    except trio.TooSlowError:
        raise EndpointUnreachable(f"{what} {url}: no answer within {TIMEOUT:g} s") from None
    except (OSError, trio.BrokenResourceError, h11.ProtocolError) as error:
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise EndpointUnreachable(f"{what} {url}: {reason}") from None
    try:
        parsed: Any = json.loads(answer)
    except (UnicodeDecodeError, json.JSONDecodeError):
        parsed = {}
    return status, parsed if isinstance(parsed, dict) else {}


def refusal(status: int, answer: dict[str, Any]) -> str:
    """What a refusing answer says: its ``error`` string, else ``HTTP <status>``."""
    error = answer.get("error")
    return error if isinstance(error, str) and error else f"HTTP {status}"
