"""Transports: the trio-websocket adapter on loopback, and the in-memory transport.

The WebSocket tests use real loopback sockets (and Trio's real clock); each takes
milliseconds. DESIGN.md section 4.
"""

from __future__ import annotations

import gc
import socket
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial

import pytest
import trio
import trio_websocket
import wsproto
from wsproto.events import CloseConnection, Request

from gatewayops.effects import open_client
from gatewayops.protocol import Auth, AuthSuccess, Resume, decode_client, encode
from gatewayops.store import Result
from gatewayops.transport import (
    ConnectFailed,
    ConnectionEnded,
    HandshakeRejected,
    MemoryTransport,
    WebSocketTransport,
    is_retryable_status,
)

from .helpers import OP, TOKEN, TOPIC, chunk, refresh_ok, runtime_end

Handler = Callable[[trio_websocket.WebSocketRequest], Awaitable[None]]


@asynccontextmanager
async def ws_server(handler: Handler) -> AsyncIterator[str]:
    """A trio-websocket server on a free loopback port; yields its base URL."""
    async with trio.open_nursery() as nursery:
        server = await nursery.start(trio_websocket.serve_websocket, handler, "127.0.0.1", 0, None)
        yield f"ws://127.0.0.1:{server.port}"
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(400, False), (404, False), (401, False), (408, True), (429, True), (500, True), (503, True)],
)
def test_handshake_statuses_are_sorted_into_retryable_and_fatal(
    status: int, retryable: bool
) -> None:
    """4xx is fatal except 408 and 429; 5xx is retryable."""
    assert is_retryable_status(status) is retryable
    assert HandshakeRejected(status).retryable is retryable


async def test_websocket_round_trip_and_remote_close() -> None:
    """Frames go both ways; a remote close ends `receive` with its code and reason."""

    async def handler(request: trio_websocket.WebSocketRequest) -> None:
        ws = await request.accept()
        greeting = await ws.get_message()
        assert isinstance(greeting, str)
        await ws.send_message("hello " + greeting)
        await ws.aclose(4000, "bye")

    async with ws_server(handler) as base:
        transport = WebSocketTransport()
        async with transport.connect(f"{base}/ws?operationId=op-1") as connection:
            assert connection.url.endswith("/ws?operationId=op-1")
            await connection.send("client")
            assert await connection.receive() == "hello client"
            with pytest.raises(ConnectionEnded) as ended:
                await connection.receive()
            assert (ended.value.code, ended.value.reason) == (4000, "bye")
            with pytest.raises(ConnectionEnded):
                await connection.send("after close")


async def test_websocket_stream_is_closed_after_a_remote_close() -> None:
    """The TCP stream trio-websocket leaves open after a peer's close is closed by us."""

    async def handler(request: trio_websocket.WebSocketRequest) -> None:
        ws = await request.accept()
        await ws.aclose()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        async with (
            ws_server(handler) as base,
            WebSocketTransport().connect(f"{base}/ws") as connection,
        ):
            with pytest.raises(ConnectionEnded):
                await connection.receive()
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


@pytest.mark.parametrize(("status", "retryable"), [(404, False), (400, False), (503, True)])
async def test_websocket_rejected_handshake(status: int, retryable: bool) -> None:
    """An HTTP answer other than 101 raises `HandshakeRejected` with its status."""

    async def handler(request: trio_websocket.WebSocketRequest) -> None:
        await request.reject(status, body=b"no such operation")

    async with ws_server(handler) as base:
        with pytest.raises(HandshakeRejected) as rejected:
            async with WebSocketTransport().connect(f"{base}/nope"):
                pass  # pragma: no cover
    assert rejected.value.status_code == status
    assert rejected.value.retryable is retryable


async def test_websocket_refused_and_invalid_urls() -> None:
    """A refused port is retryable and says so in plain words (no errno, no address
    tuple); a URL trio-websocket cannot dial is fatal."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectFailed) as refused:
        async with WebSocketTransport().connect(f"ws://127.0.0.1:{port}/ws"):
            pass  # pragma: no cover
    assert refused.value.retryable
    assert str(refused.value) == f"cannot connect to 127.0.0.1:{port}: Connection refused"
    with pytest.raises(ConnectFailed) as invalid:
        async with WebSocketTransport().connect("http://127.0.0.1/ws"):
            pass  # pragma: no cover
    assert not invalid.value.retryable


async def test_websocket_oversized_frame_is_a_retryable_close() -> None:
    """A frame over `max_message_size` closes the socket with 1009, not a crash."""

    async def handler(request: trio_websocket.WebSocketRequest) -> None:
        ws = await request.accept()
        await ws.send_message("x" * 200)
        await trio.sleep_forever()

    async with (
        ws_server(handler) as base,
        WebSocketTransport(max_message_size=100).connect(f"{base}/ws") as connection,
    ):
        with pytest.raises(ConnectionEnded) as ended:
            await connection.receive()
    assert ended.value.code == 1009


async def test_websocket_cancelled_block_still_closes_with_1000() -> None:
    """Leaving the block by cancellation sends a 1000 close frame to the server."""
    codes: list[int] = []

    async def handler(request: trio_websocket.WebSocketRequest) -> None:
        ws = await request.accept()
        try:
            await ws.get_message()
        except trio_websocket.ConnectionClosed as closed:
            codes.append(closed.reason.code if closed.reason else -1)

    async with ws_server(handler) as base:
        with trio.move_on_after(0.05):
            async with WebSocketTransport().connect(f"{base}/ws") as connection:
                await connection.receive()
        await trio.sleep(0.05)
    assert codes == [1000]


async def _ping_instead_of_close(stream: trio.SocketStream) -> None:
    """A raw server that answers the client's close frame with a ping (upstream #184)."""
    ws = wsproto.WSConnection(wsproto.ConnectionType.SERVER)
    while True:
        data = await stream.receive_some()
        if not data:
            return
        ws.receive_data(data)
        for event in ws.events():
            if isinstance(event, Request):
                await stream.send_all(ws.send(wsproto.events.AcceptConnection()))
            elif isinstance(event, CloseConnection):  # a raw ping frame, bypassing wsproto
                payload = b"are you there"
                await stream.send_all(bytes([0x89, len(payload)]) + payload)


async def test_websocket_pong_after_local_close_does_not_crash() -> None:
    """trio-websocket's reader failing to pong while closing ends the block cleanly."""
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            partial(trio.serve_tcp, _ping_instead_of_close, 0, host="127.0.0.1")
        )
        port = listeners[0].socket.getsockname()[1]
        transport = WebSocketTransport(close_timeout=1.0)
        start = trio.current_time()

        async def close_while_pinged() -> None:
            async with transport.connect(f"ws://127.0.0.1:{port}/ws") as connection:
                await connection.send("hi")
                await connection.aclose()

        with pytest.raises(ConnectionEnded) as ended:
            await close_while_pinged()
        assert trio.current_time() - start < 0.5  # the dead reader cut the close short
        nursery.cancel_scope.cancel()
    assert ended.value.code == 1006
    assert "LocalProtocolError" in ended.value.reason


async def test_memory_transport_plans_and_ordering(autojump_clock: trio.testing.MockClock) -> None:
    """Refuse/reject plans apply in order; frames keep order; a local close discards."""
    transport = MemoryTransport()
    transport.refuse_next()
    transport.reject_next(404)
    with pytest.raises(ConnectFailed) as refused:
        async with transport.connect("ws://a/1"):
            pass  # pragma: no cover
    assert refused.value.retryable
    with pytest.raises(HandshakeRejected):
        async with transport.connect("ws://a/2"):
            pass  # pragma: no cover
    async with trio.open_nursery() as nursery:

        async def server_side() -> None:
            server = await transport.accept()
            assert await server.receive() == "ack"
            for n in range(3):
                server.send(str(n))
            server.close(4001, "done")
            with pytest.raises(ConnectionEnded):  # a local close discards unread frames
                await server.receive()

        nursery.start_soon(server_side)
        async with transport.connect("ws://a/3") as connection:
            await connection.send("ack")
            assert [await connection.receive() for _ in range(3)] == ["0", "1", "2"]
            with pytest.raises(ConnectionEnded) as ended:
                await connection.receive()
            assert ended.value.code == 4001
    assert transport.attempts == ["ws://a/1", "ws://a/2", "ws://a/3"]


async def test_client_over_real_websockets_finishes_and_closes_with_1000() -> None:
    """`open_client` with the default transport follows a run on loopback to its end."""
    closes: list[int] = []

    async def handler(request: trio_websocket.WebSocketRequest) -> None:
        ws = await request.accept()
        assert isinstance(decode_client(await ws.get_message()), Auth)
        await ws.send_message(encode(AuthSuccess()))
        assert isinstance(decode_client(await ws.get_message()), Resume)
        await ws.send_message(encode(chunk("hi", id="1")))
        await ws.send_message(encode(runtime_end(id="2")))
        try:
            await ws.get_message()
        except trio_websocket.ConnectionClosed as closed:
            closes.append(closed.reason.code if closed.reason else -1)

    async with ws_server(handler) as base:
        async with open_client(refresh_token=refresh_ok) as client:
            client.start(operation_id=OP, topic_id=TOPIC, gateway_url=base, token=TOKEN)
            outcome = await client.wait_finished(OP)
            assert client.state.operations[OP].transcript.text == "hi"
        await trio.sleep(0.05)
    assert outcome.result is Result.COMPLETED
    assert closes == [1000]
