"""Import a browser HAR capture's WebSocket frames as a replayable log.

Owns: `from_har`: reading the capture, and what a protocol v1 socket's frames become.
An entry is a gateway socket when it carries ``_webSocketMessages`` (Chrome's and
Firefox's extension) and its request URL is either a v1 socket of one operation (an
``operationId=`` query) or a protocol v2 socket of the user (its path ends in
``/v2/ws``); any other entry is left out. A capture with a v2 socket is imported as v2
by `_har_v2`, its v1 sockets left out with a note. Otherwise each socket is one of its
operation's (v1): ``receive`` messages become inbound frames (`MessageReceived`,
decoded by the protocol codec, or `BadMessageReceived`), ``send`` messages outbound
frames (`SendMessage`). What a HAR does not hold is synthesised (`_har_steps`), and only
that: the operation's start (attached when its first ``resume`` names a cursor), each
socket's `SocketOpened`, a `ToolFinished` before each ``tool_result`` the browser sends,
and between two sockets of one operation what today's reducer needs to dial again (the
old socket's `SocketClosed`, the backoff `TimerFired`, or a `TokenRefreshed` when a
refresh is in flight). Secrets are redacted as the HAR is read: the token of every
``auth`` frame, and anything shaped like a token in every frame's text (value by value,
so the frame stays JSON) and in the socket URL (v2's carries the user token); no query
or header is kept. Records of all sockets are merged in time order. Must not know: how
the log is replayed or written.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from gatewayops._secrets import redact_secrets
from gatewayops.exceptions import RemoteProtocolError
from gatewayops.protocol import MUX_PATH, Auth, Resume, ToolResult, decode_client
from gatewayops.replay._format import Header, LogItem, Record, ReplayFormatError
from gatewayops.replay._har_steps import HarSocket, Importer, entry_error
from gatewayops.replay._har_v2 import MuxImporter
from gatewayops.replay._places import REDACTED
from gatewayops.replay._safety import MAX_NESTING, nested_too_deeply, redact_json_text, shown
from gatewayops.store import (
    Protocol,
    RefreshStatus,
    SendMessage,
    SocketOpened,
    StoreConfig,
    TokenRefreshed,
    ToolFinished,
    frame_received,
)

__all__ = ["from_har"]

# --------------------------------------------------------------------------- reading


def _epoch(text: Any, entry: int) -> float:
    if type(text) is not str:
        raise entry_error(entry, f"startedDateTime: expected an ISO 8601 time, got {shown(text)}")
    try:
        return datetime.datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise entry_error(entry, f"startedDateTime: not an ISO 8601 time: {shown(text)}") from None


def _messages(messages: Any, index: int) -> tuple[tuple[float, str, str], ...]:
    if type(messages) is not list:
        raise entry_error(index, "_webSocketMessages: expected an array")
    parsed = []
    for number, message in enumerate(messages):
        where = f"_webSocketMessages[{number}]"
        if type(message) is not dict:
            raise entry_error(index, f"{where}: expected an object")
        kind, time, data = message.get("type"), message.get("time", ""), message.get("data")
        if kind not in ("send", "receive"):
            raise entry_error(
                index, f"{where}.type: expected 'send' or 'receive', got {shown(kind)}"
            )
        if type(time) not in (int, float):
            raise entry_error(
                index, f"{where}.time: expected seconds since the epoch, got {shown(time)}"
            )
        if type(data) is not str:
            raise entry_error(index, f"{where}.data: expected a string, got {shown(data)}")
        if nested_too_deeply(data):  # a log could not hold it (nor replay show it)
            raise entry_error(index, f"{where}.data: nested more than {MAX_NESTING} levels deep")
        parsed.append((float(time), kind, redact_json_text(data)))
    return tuple(parsed)


def _socket(entry: Any, index: int) -> HarSocket | None:
    if type(entry) is not dict:
        raise entry_error(index, "expected an object")
    request = entry.get("request")
    url = request.get("url") if type(request) is dict else None
    if type(url) is not str:
        raise entry_error(index, "request.url: missing")
    parts = urlsplit(redact_secrets(url))
    path = parts.path.rstrip("/")
    operation_ids = parse_qs(parts.query).get("operationId")
    messages = entry.get("_webSocketMessages")
    if messages is None:
        return None
    if path.endswith(MUX_PATH):
        protocol, operation_id, path = Protocol.V2, "", path.removesuffix(MUX_PATH)
    elif operation_ids:
        protocol, operation_id, path = Protocol.V1, operation_ids[0], path.removesuffix("/ws")
    else:
        return None
    return HarSocket(
        entry=index,
        protocol=protocol,
        operation_id=operation_id,
        gateway_url=urlunsplit((parts.scheme, parts.netloc, path, "", "")),
        opened=_epoch(entry.get("startedDateTime"), index),
        messages=_messages(messages, index),
    )


def _load(har_path: str | os.PathLike[str]) -> list[HarSocket]:
    """The gateway sockets of the HAR at `har_path`, in the order they opened.

    Raises:
        ReplayFormatError: the file is not JSON or not a HAR, or an entry is malformed.
        OSError: the file cannot be read.
    """
    try:
        with open(har_path, encoding="utf-8") as file:
            har = json.load(file)
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError
        line = getattr(error, "lineno", None)
        raise ReplayFormatError(f"HAR: not JSON ({error})", line=line) from None
    except RecursionError:
        raise ReplayFormatError("HAR: nested too deeply to read") from None
    log = har.get("log") if type(har) is dict else None
    entries = log.get("entries") if type(log) is dict else None
    if type(entries) is not list:
        raise ReplayFormatError("HAR: expected an object with log.entries (an array)")
    sockets = [socket for index, entry in enumerate(entries) if (socket := _socket(entry, index))]
    return sorted(sockets, key=lambda socket: (socket.opened, socket.entry))


# --------------------------------------------------------------------------- protocol v1


def _first_cursor(socket: HarSocket) -> str:
    for _, kind, data in socket.messages:
        if kind == "send":
            try:
                message = decode_client(data)
            except RemoteProtocolError:
                continue
            if isinstance(message, Resume):
                return message.last_event_id
    return ""


class _V1Importer(Importer):
    """Protocol v1: every socket is one of its operation's, on the operation's own link."""

    def open(self, socket: HarSocket) -> Iterator[Record]:
        op_id, t = socket.operation_id, socket.opened
        op = self.state.operations.get(op_id)
        if op is None:
            yield from self.start(socket, t, op_id, _first_cursor(socket))
        elif not op.is_finished:
            if op.refresh.status is RefreshStatus.IN_FLIGHT:
                yield self.record(t, TokenRefreshed(operation_id=op_id, token=REDACTED))
            else:
                yield from self.closed(t, op.link_id)
            yield from self.backoff_fired(t, op.link_id)
        else:
            self.note(
                socket,
                f"a socket of {op_id} after it finished; its frames are recorded as they are "
                "(the reducer ignores them)",
            )
        op = self.state.operations[op_id]
        generation = self.state.link_of(op).generation + (1 if op.is_finished else 0)
        self.generations[socket.entry] = generation
        yield self.record(t, SocketOpened(link_id=op.link_id, generation=generation))

    def message(self, socket: HarSocket, t: float, kind: str, data: str) -> Iterator[Record]:
        op_id, generation = socket.operation_id, self.generations[socket.entry]
        if kind == "receive":
            yield self.record(t, frame_received(op_id, generation, data))
            return
        sent = self.sent(socket, data, decode_client)
        if sent is None:
            return
        if isinstance(sent, ToolResult):
            yield self.record(t, ToolFinished(operation_id=op_id, result=sent))
        if isinstance(sent, Auth):
            sent = Auth(token=REDACTED)
        frame = SendMessage(link_id=op_id, generation=generation, message=sent)  # v1: op's link
        yield self.record(t, frame)


def from_har(har_path: str | os.PathLike[str]) -> list[LogItem]:
    """A replayable log from a HAR capture: its `Header` (source ``har``; protocol v2
    if the capture has a ``/v2/ws`` socket), then records.

    Import notes (a sent frame that could not be read, a socket after the operation
    finished, a socket of the other protocol) come as `LogWarning` items after the
    header.

    Raises:
        ReplayFormatError: the file is not JSON or not a HAR, or an entry is malformed;
            `entry` names the entry (0-based), `line` the line of a JSON syntax error.
        OSError: the file cannot be read.
    """
    sockets = _load(har_path)
    mux = [socket for socket in sockets if socket.protocol is Protocol.V2]
    t0 = min((socket.opened for socket in mux or sockets), default=0.0)
    importer: Importer = MuxImporter(t0, mux) if mux else _V1Importer(t0, StoreConfig())
    if mux:
        for socket in sockets:
            if socket.protocol is Protocol.V1:
                importer.note(socket, "a v1 socket in a capture of protocol v2 is left out")
        sockets = mux
    events = [(socket.opened, socket.entry, -1, socket) for socket in sockets]
    events.extend(  # a frame is never before its socket opened, whatever the clocks say
        (max(time, socket.opened), socket.entry, number, socket)
        for socket in sockets
        for number, (time, _, _) in enumerate(socket.messages)
    )
    records: list[LogItem] = []
    for time, _, number, socket in sorted(events, key=lambda event: event[:3]):
        if number < 0:
            records.extend(importer.open(socket))
        else:
            _, kind, data = socket.messages[number]
            records.extend(importer.message(socket, time, kind, data))
    started = datetime.datetime.fromtimestamp(t0, datetime.UTC).isoformat(timespec="milliseconds")
    header = Header(config=importer.config, started_at=started, source="har")
    return [header, *importer.notes, *records]
