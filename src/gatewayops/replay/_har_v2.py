"""What a protocol v2 socket of a HAR capture becomes: every operation it carried.

Owns: `MuxImporter`. A ``/v2/ws`` socket is the user's link (id ``v2:<base URL>``),
carrying many operations; it is split into the operations it carried by the envelope
``operationId`` of the frames the browser sent: each operation is started (or attached
from the ``lastEventId`` of its first ``subscribe``, with that subscribe's executor
flag) and replayed as a session of the v2 link, as the live client follows it. An
operation the browser subscribed to right after ``ready`` (before any frame of an
operation came back) is started before the socket opens, so that today's reducer
subscribes it on ``ready`` as the browser did; one subscribed later is started just
before its ``subscribe``. Received frames are decoded by the v2 codec; the hub's
``ready``, its user feed (``op_lifecycle``), heartbeat acks, and frames for an
operation the browser never subscribed to are recorded as they are (the reducer keeps
them off every session, as live). Before a ``tool_result`` the browser sends comes the
`ToolFinished` of its call; before an ``unsubscribe`` of an operation still followed,
its `OperationDetached`. Between two sockets the old one closes and the backoff fires
(`_har_steps`). Must not know: the HAR's JSON, files, or how the log is replayed.
"""

from __future__ import annotations

from collections.abc import Iterator

from gatewayops.exceptions import RemoteProtocolError
from gatewayops.protocol import (
    HeartbeatAck,
    MuxToolResult,
    OpLifecycle,
    Ready,
    Subscribe,
    Unsubscribe,
    decode_mux,
    decode_mux_client,
)
from gatewayops.replay._format import Record
from gatewayops.replay._har_steps import HarSocket, Importer
from gatewayops.store import (
    OperationDetached,
    OperationStatus,
    Protocol,
    SendMessage,
    SocketOpened,
    StoreConfig,
    ToolFinished,
    frame_received,
)
from gatewayops.store._link_v2 import mux_link_id

__all__ = ["MuxImporter"]

_LINK_FRAMES = (Ready, OpLifecycle, HeartbeatAck)
"""Frames of the link as a whole: they do not end the browser's burst of subscribes."""


def _subscribed_on_ready(socket: HarSocket) -> tuple[Subscribe, ...]:
    """The first `subscribe` of each operation the browser sent before any frame but the
    link's own (`ready`, the user feed, heartbeat acks) came back on `socket`."""
    burst: dict[str, Subscribe] = {}
    for _, kind, data in socket.messages:
        try:
            if kind == "receive":
                if not isinstance(decode_mux(data), _LINK_FRAMES):
                    break
            elif isinstance(message := decode_mux_client(data), Subscribe):
                burst.setdefault(message.operation_id, message)
        except RemoteProtocolError:
            continue  # a frame the codec cannot read is noted where it is imported
    return tuple(burst.values())


class MuxImporter(Importer):
    """Protocol v2: every socket is the user's link; its frames name their operation."""

    def __init__(self, t0: float, sockets: list[HarSocket]) -> None:
        super().__init__(t0, StoreConfig(protocol=Protocol.V2))
        self._on_ready = {socket.entry: _subscribed_on_ready(socket) for socket in sockets}

    def _followed(self, socket: HarSocket, t: float, subscribe: Subscribe) -> Iterator[Record]:
        """The start of the operation `subscribe` names, the first time it is named."""
        op_id = subscribe.operation_id
        if op_id not in self.state.operations:
            cursor, executor = subscribe.last_event_id, subscribe.executor
            yield from self.start(socket, t, op_id, cursor, executor)

    def _carried(self, link_id: str, operation_id: str) -> bool:
        """Whether the link still carries the operation, followed (it has not ended)."""
        op = self.state.operations.get(operation_id)
        link = self.state.links.get(link_id)
        running = op is not None and op.status is OperationStatus.RUNNING
        return running and link is not None and operation_id in link.sessions

    def open(self, socket: HarSocket) -> Iterator[Record]:
        t, link_id = socket.opened, mux_link_id(socket.gateway_url)
        yield from self.closed(t, link_id)
        yield from self.backoff_fired(t, link_id)
        for subscribe in self._on_ready[socket.entry]:
            yield from self._followed(socket, t, subscribe)
        link = self.state.links.get(link_id)
        if link is None:
            self.note(socket, "a v2 socket that carried no operation")
        generation = 0 if link is None else link.generation
        self.generations[socket.entry] = generation
        yield self.record(t, SocketOpened(link_id=link_id, generation=generation))

    def message(self, socket: HarSocket, t: float, kind: str, data: str) -> Iterator[Record]:
        link_id, generation = mux_link_id(socket.gateway_url), self.generations[socket.entry]
        if kind == "receive":
            yield self.record(t, frame_received(link_id, generation, data, protocol=Protocol.V2))
            return
        sent = self.sent(socket, data, decode_mux_client)
        if sent is None:
            return
        match sent:
            case Subscribe():
                yield from self._followed(socket, t, sent)
            case MuxToolResult(operation_id=op_id, result=result):
                yield self.record(t, ToolFinished(operation_id=op_id, result=result))
            case Unsubscribe(operation_id=op_id) if self._carried(link_id, op_id):
                yield self.record(t, OperationDetached(operation_id=op_id))
            case _:
                pass  # a heartbeat, or an answer the reducer sends on the app's word
        yield self.record(t, SendMessage(link_id=link_id, generation=generation, message=sent))
