"""The reference gateway's HTTP endpoint: token renewal, the user's answers, interrupts.

Owns: `serve_http_endpoint`, a small HTTP/1.1 server (h11 over Trio, loopback only)
whose routes are one table, `ROUTES`, so that a ``gatewayops watch`` in another process
can do what an in-process client does through the gateway's methods:

| request (all ``POST``)                                 | answer                     |
|--------------------------------------------------------|----------------------------|
| ``/token`` ``{"token": T}``                            | 200 ``{"token": fresh}``   |
| ``/user-token`` ``{"token": U}`` (a v2 user token)     | 200 ``{"token": fresh}``   |
| ``/answer`` ``{operationId, toolCallId,                | 200 ``{"accepted": true}`` |
| resolutionRequestId, result}`` (a decline:             |                            |
| ``"cancelled": true`` instead of ``result``)           |                            |
| ``/interrupt`` ``{"operationId": ...}``                | 200 ``{"interrupted": b}`` |
| ... whose run is unknown or was forgotten              | 404 ``{"error": "..."}``   |
| ... no token, or one not issued by this gateway        | 401                        |
| ... a token of another run than ``operationId``        | 403                        |
| ... an answer the agent does not take (none asked,     | 409                        |
| its deadline passed, another answer taken)             |                            |
| ... a body that is not such JSON, or over 64 KiB       | 400                        |
| ... the user token service fails (`fail_user_tokens`)  | 503                        |
| another path / another method                          | 404 / 405                  |

``/answer`` and ``/interrupt`` are authenticated with the run's token in an
``Authorization: Bearer`` header; ``/token`` takes it in its body. Proof of a token of
a run is the only credential, and it reaches that run only: whoever holds one may keep
following, answering and stopping that run, and nothing else (an expired token is
accepted, as ``/token`` would renew it anyway). ``/user-token`` is protocol v2's token
service (what a v2 client's token provider calls before each dial): it trades a user
token of this gateway, expired or not, for a fresh one of the same user, through
`MuxGateway.renew_user_token`; a run's token does not open it, nor a user token the
others. Each request is answered on its own
connection (``Connection: close``) within `REQUEST_TIMEOUT`, and logged as one line on
``gatewayops.gateway``, never with a token.

Must not know: the CLI, how tokens are made (`Gateway.renew_token`,
`Gateway.token_run` and `MuxGateway.renew_user_token` decide), or how an answer reaches
the agent (`Gateway.submit_intervention`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NoReturn

import attrs
import h11
import trio

from gatewayops._secrets import get_logger
from gatewayops.exceptions import InterventionRefused, OperationNotFound, UserTokenUnavailable
from gatewayops.gateway._gateway import Gateway
from gatewayops.gateway._limits import check_loopback
from gatewayops.gateway._tokens import DEFAULT_TOKEN_TTL

__all__ = [
    "ANSWER_PATH",
    "INTERRUPT_PATH",
    "MAX_BODY_BYTES",
    "REQUEST_TIMEOUT",
    "ROUTES",
    "TOKEN_PATH",
    "USER_TOKEN_PATH",
    "serve_http_endpoint",
]

_log = get_logger("gatewayops.gateway")

TOKEN_PATH = "/token"
"""The route that renews a run's token."""

USER_TOKEN_PATH = "/user-token"
"""The route that gives a v2 client a fresh user token."""

ANSWER_PATH = "/answer"
"""The route that gives the agent the user's answer (or decline)."""

INTERRUPT_PATH = "/interrupt"
"""The route that stops a run."""

MAX_BODY_BYTES = 64 * 1024
"""Largest request (head or body) the endpoint reads."""

REQUEST_TIMEOUT = 10.0
"""Seconds a client has to send its request before the connection is dropped."""

_Answer = tuple[int, dict[str, Any]]


class _BadRequest(Exception):
    """The request cannot be carried out (its answer is the argument)."""


def _refuse(status: int, error: str) -> NoReturn:
    raise _BadRequest((status, {"error": error}))


@attrs.frozen(kw_only=True)
class _Request:
    """What a route is given: the parsed JSON object body, the bearer token if any."""

    gateway: Gateway
    body: dict[str, Any]
    bearer: str | None
    token_ttl: float

    def text(self, name: str) -> str:
        """The body's string field `name` (non-empty)."""
        value = self.body.get(name)
        if not isinstance(value, str) or not value:
            _refuse(400, f"expected a non-empty string {name!r} in the JSON body")
        return value

    def authorize(self) -> tuple[str, str]:
        """The topic and the operation the body names, once the bearer token is of that run."""
        operation_id = self.text("operationId")
        if self.bearer is None:
            _refuse(401, "expected an Authorization: Bearer header with the run's token")
        try:
            topic_id, token_operation = self.gateway.token_run(self.bearer)
        except ValueError as error:
            _refuse(401, str(error))
        if token_operation != operation_id:
            _refuse(403, f"the token is not one of operation {operation_id!r}")
        return topic_id, operation_id


@attrs.frozen(kw_only=True)
class _PostedAnswer:
    """An answer as ``POST /answer`` carries it (the gateway's `Answer` protocol)."""

    operation_id: str
    tool_call_id: str
    resolution_request_id: str
    result: Any
    cancelled: bool


async def _renew(request: _Request) -> _Answer:
    await trio.lowlevel.checkpoint()
    token = request.text("token")
    try:
        return 200, {"token": request.gateway.renew_token(token, request.token_ttl)}
    except ValueError as error:
        _refuse(401, str(error))


async def _renew_user(request: _Request) -> _Answer:
    token = request.text("token")
    try:
        return 200, {"token": await request.gateway.v2.renew_user_token(token, request.token_ttl)}
    except ValueError as error:
        _refuse(401, str(error))
    except UserTokenUnavailable as error:
        _refuse(503, str(error))


async def _answer(request: _Request) -> _Answer:
    _, operation_id = request.authorize()
    cancelled = request.body.get("cancelled", False)
    if not isinstance(cancelled, bool):
        _refuse(400, "expected 'cancelled' to be true or false")
    if not cancelled and "result" not in request.body:
        _refuse(400, "expected a 'result' (any JSON value), or 'cancelled': true")
    answer = _PostedAnswer(
        operation_id=operation_id,
        tool_call_id=request.text("toolCallId"),
        resolution_request_id=request.text("resolutionRequestId"),
        result=None if cancelled else request.body["result"],
        cancelled=cancelled,
    )
    try:
        await request.gateway.submit_intervention(answer)
    except InterventionRefused as error:
        _refuse(409, str(error))
    return 200, {"accepted": True}


async def _interrupt(request: _Request) -> _Answer:
    topic_id, operation_id = request.authorize()
    return 200, {"interrupted": await request.gateway.interrupt(operation_id, topic_id)}


ROUTES: Mapping[str, Callable[[_Request], Awaitable[_Answer]]] = {
    TOKEN_PATH: _renew,
    ANSWER_PATH: _answer,
    INTERRUPT_PATH: _interrupt,
    USER_TOKEN_PATH: _renew_user,
}
"""Every route of the endpoint, by path; each takes ``POST`` only."""


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


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        parsed: Any = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        _refuse(400, "expected a JSON object body")
    if not isinstance(parsed, dict):
        _refuse(400, "expected a JSON object body")
    return parsed


def _bearer(request: h11.Request) -> str | None:
    for name, value in request.headers:
        if name == b"authorization":
            scheme, _, credential = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and credential.strip():
                return credential.strip()
    return None


def _path(request: h11.Request) -> str:
    """The request's path, without its query (which is never logged)."""
    return request.target.split(b"?")[0].decode("latin-1")


async def _route(gateway: Gateway, request: h11.Request, body: bytes, ttl: float) -> _Answer:
    path = _path(request)
    route = ROUTES.get(path)
    if route is None:
        _refuse(404, f"not found: the endpoint has POST {', '.join(ROUTES)}")
    if request.method != b"POST":
        _refuse(405, f"method not allowed: use POST {path}")
    parsed = _Request(
        gateway=gateway, body=_json_object(body), bearer=_bearer(request), token_ttl=ttl
    )
    try:
        return await route(parsed)
    except OperationNotFound as error:
        _refuse(404, str(error))


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
            what = "a request"
            try:
                request, body = await _read_request(conn, stream)
                what = f"{request.method.decode('latin-1')} {_path(request)}"
                answer = await _route(gateway, request, body, ttl)
            except _BadRequest as refused:
                answer = refused.args[0]
            _log.info("http endpoint: %s: HTTP %d", what, answer[0])
            if conn.our_state is h11.SEND_RESPONSE:
                await _respond(conn, stream, answer)
    except (h11.ProtocolError, trio.BrokenResourceError, trio.ClosedResourceError):
        _log.info("http endpoint: a request that could not be read was dropped")
    finally:
        await trio.aclose_forcefully(stream)


async def serve_http_endpoint(
    gateway: Gateway,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    token_ttl: float = DEFAULT_TOKEN_TTL,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> NoReturn:
    """Serve the HTTP endpoint of `gateway` on `host`:`port` until cancelled.

    Raises:
        ValueError: `host` is not a loopback address.

    Args:
        gateway: whose runs' tokens are renewed, questions answered and runs stopped.
        host: a loopback address to bind (the gateway's own).
        port: the port; ``0`` picks a free one.
        token_ttl: lifetime in seconds of the tokens ``/token`` and ``/user-token``
            hand out.
        task_status: Trio's start protocol; receives the endpoint's base URL,
            ``http://HOST:PORT`` (add a route of `ROUTES`).
    """
    check_loopback(host)
    listeners = await trio.open_tcp_listeners(port, host=host)
    bound_host, bound_port = listeners[0].socket.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    url = f"http://{shown}:{bound_port}"

    async def handle(stream: trio.SocketStream) -> None:
        await _handle(gateway, token_ttl, stream)

    async with trio.open_nursery() as nursery:
        await nursery.start(trio.serve_listeners, handle, listeners)
        _log.info("http endpoint listening on %s", url)
        task_status.started(url)
        await trio.sleep_forever()
    raise AssertionError("unreachable")  # pragma: no cover
