"""The reference gateway's token endpoint: one HTTP route that renews a run's token.

Owns: `serve_token_endpoint`, a small HTTP/1.1 server (h11 over Trio, loopback only)
with one route, the protocol `gatewayops watch --token-url` speaks:

| request                                               | answer                          |
|-------------------------------------------------------|---------------------------------|
| ``POST /token``, body ``{"token": "<a run's token>"}`` | 200 ``{"token": "<fresh>"}``    |
| ... whose run is unknown or was forgotten             | 404 ``{"error": "..."}``        |
| ... not issued by this gateway (expired is fine)      | 401 ``{"error": "invalid ..."}``|
| a body that is not such JSON, or over 64 KiB          | 400 ``{"error": ...}``          |
| another path / another method                         | 404 / 405                       |

Proof of the old token is the only credential: whoever holds a token of a run may keep
following that run, and nothing else. Each request is answered on its own connection
(``Connection: close``) within `REQUEST_TIMEOUT`, and logged as one line on
``gatewayops.gateway``, never with a token.

Must not know: the CLI, or how tokens are made (`Gateway.renew_token` decides).
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

import h11
import trio

from gatewayops._secrets import get_logger
from gatewayops.exceptions import OperationNotFound
from gatewayops.gateway._gateway import Gateway
from gatewayops.gateway._limits import check_loopback
from gatewayops.gateway._tokens import DEFAULT_TOKEN_TTL

__all__ = ["MAX_BODY_BYTES", "REQUEST_TIMEOUT", "TOKEN_PATH", "serve_token_endpoint"]

_log = get_logger("gatewayops.gateway")

TOKEN_PATH = "/token"
"""The endpoint's one route."""

MAX_BODY_BYTES = 64 * 1024
"""Largest request (head or body) the endpoint reads."""

REQUEST_TIMEOUT = 10.0
"""Seconds a client has to send its request before the connection is dropped."""

_Answer = tuple[int, dict[str, str]]


class _BadRequest(Exception):
    """The request cannot be answered with a token (its answer is the argument)."""


def _refuse(status: int, error: str) -> NoReturn:
    raise _BadRequest((status, {"error": error}))


async def _read_request(
    conn: h11.Connection, stream: trio.SocketStream
) -> tuple[h11.Request, bytes]:
    request: h11.Request | None = None
    body = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await stream.receive_some(MAX_BODY_BYTES))
        elif isinstance(event, h11.Request):
            request = event
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_BODY_BYTES:
                _refuse(400, f"the body is larger than {MAX_BODY_BYTES} bytes")
        elif isinstance(event, h11.EndOfMessage) and request is not None:
            return request, bytes(body)
        else:  # the client hung up, or h11 paused on a second request
            raise h11.RemoteProtocolError("the request ended early")


def _token_of(body: bytes) -> str:
    try:
        parsed: Any = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        _refuse(400, 'expected a JSON body {"token": "..."}')
    token = parsed.get("token") if isinstance(parsed, dict) else None
    if not isinstance(token, str) or not token:
        _refuse(400, 'expected a JSON body {"token": "..."} with a non-empty token')
    return token


def _answer(gateway: Gateway, request: h11.Request, body: bytes, ttl: float) -> _Answer:
    if request.target.split(b"?")[0] != TOKEN_PATH.encode():
        _refuse(404, f"not found: the token endpoint is POST {TOKEN_PATH}")
    if request.method != b"POST":
        _refuse(405, f"method not allowed: use POST {TOKEN_PATH}")
    token = _token_of(body)
    try:
        return 200, {"token": gateway.renew_token(token, ttl)}
    except OperationNotFound as error:
        _refuse(404, str(error))
    except ValueError as error:
        _refuse(401, str(error))


async def _respond(conn: h11.Connection, stream: trio.SocketStream, answer: _Answer) -> None:
    status, payload = answer
    body = json.dumps(payload).encode()
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("Connection", "close"),
    ]
    for event in (h11.Response(status_code=status, headers=headers), h11.Data(data=body)):
        await stream.send_all(conn.send(event) or b"")
    await stream.send_all(conn.send(h11.EndOfMessage()) or b"")


async def _handle(gateway: Gateway, ttl: float, stream: trio.SocketStream) -> None:
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_BODY_BYTES)
    try:
        with trio.move_on_after(REQUEST_TIMEOUT):
            try:
                request, body = await _read_request(conn, stream)
                answer = _answer(gateway, request, body, ttl)
            except _BadRequest as refused:
                answer = refused.args[0]
            _log.info("token endpoint: HTTP %d", answer[0])
            if conn.our_state is h11.SEND_RESPONSE:
                await _respond(conn, stream, answer)
    except (h11.ProtocolError, trio.BrokenResourceError, trio.ClosedResourceError):
        _log.info("token endpoint: a request that could not be read was dropped")
    finally:
        await trio.aclose_forcefully(stream)


async def serve_token_endpoint(
    gateway: Gateway,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    token_ttl: float = DEFAULT_TOKEN_TTL,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> NoReturn:
    """Serve the token endpoint of `gateway` on `host`:`port` until cancelled.

    Raises:
        ValueError: `host` is not a loopback address.

    Args:
        gateway: whose runs' tokens are renewed.
        host: a loopback address to bind (the gateway's own).
        port: the port; ``0`` picks a free one.
        token_ttl: lifetime in seconds of the tokens it hands out.
        task_status: Trio's start protocol; receives the endpoint's URL,
            ``http://HOST:PORT/token``.
    """
    check_loopback(host)
    listeners = await trio.open_tcp_listeners(port, host=host)
    bound_host, bound_port = listeners[0].socket.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    url = f"http://{shown}:{bound_port}{TOKEN_PATH}"

    async def handle(stream: trio.SocketStream) -> None:
        await _handle(gateway, token_ttl, stream)

    async with trio.open_nursery() as nursery:
        await nursery.start(trio.serve_listeners, handle, listeners)
        _log.info("token endpoint listening on %s", url)
        task_status.started(url)
        await trio.sleep_forever()
    raise AssertionError("unreachable")  # pragma: no cover
