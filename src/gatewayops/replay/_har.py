"""Import a browser HAR capture's WebSocket frames as a replayable log.

Owns: `from_har`. Every HAR entry whose request URL has an ``operationId=`` query and
that carries ``_webSocketMessages`` (Chrome's and Firefox's extension) is one socket of
that operation. The browser's frames become records: ``receive`` messages inbound
frames (`MessageReceived`, decoded by the protocol codec, or `BadMessageReceived`),
``send`` messages outbound frames (`SendMessage`). What a HAR does not hold is
synthesised, and only that: the operation's start (`OperationStarted`, or
`OperationAttached` when its first ``resume`` names a cursor; gateway URL from the
socket URL, topic ``har-topic:<operation id>``, token ``"<redacted>"``), each socket's
`SocketOpened`, a `ToolFinished` before each ``tool_result`` the browser sends, and
between two sockets of one operation what today's reducer needs to dial again (the
old socket's `SocketClosed`, the backoff `TimerFired`, or a `TokenRefreshed` when a
refresh is in flight). Secrets are redacted as the HAR is read: the token of every
``auth`` frame, and anything shaped like a token in every frame's text (value by
value, so the frame stays JSON) and in the socket URL; no header is kept. Records of
all sockets are merged in time order. Must not know: how the log is replayed or
written.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Iterator
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit, urlunsplit

import attrs

from gatewayops._secrets import redact_secrets
from gatewayops.exceptions import LocalUsageError, RemoteProtocolError
from gatewayops.protocol import Auth, Resume, ToolResult, decode_client
from gatewayops.replay._codec import PLACES, REDACTED, Direction, Item, item_subject
from gatewayops.replay._format import Header, LogItem, LogWarning, Record, ReplayFormatError
from gatewayops.replay._safety import MAX_NESTING, nested_too_deeply, redact_json_text, shown
from gatewayops.store import (
    Action,
    GatewayState,
    OperationAttached,
    OperationStarted,
    RefreshStatus,
    Resource,
    SendMessage,
    Socket,
    SocketClosed,
    SocketOpened,
    StoreConfig,
    Timer,
    TimerFired,
    TimerKind,
    TokenRefreshed,
    ToolFinished,
    frame_received,
    link_resources,
    reduce,
)

__all__ = ["from_har"]


@attrs.frozen(kw_only=True)
class _Socket:
    """One HAR entry that is a socket of an operation."""

    entry: int
    operation_id: str
    gateway_url: str
    opened: float
    messages: tuple[tuple[float, str, str], ...]
    """(time, "send" or "receive", data), in the entry's order."""


def _fail(entry: int, message: str) -> ReplayFormatError:
    return ReplayFormatError(f"HAR entry {entry}: {message}", entry=entry)


def _epoch(text: Any, entry: int) -> float:
    if type(text) is not str:
        raise _fail(entry, f"startedDateTime: expected an ISO 8601 time, got {shown(text)}")
    try:
        return datetime.datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise _fail(entry, f"startedDateTime: not an ISO 8601 time: {shown(text)}") from None


def _socket(entry: Any, index: int) -> _Socket | None:
    if type(entry) is not dict:
        raise _fail(index, "expected an object")
    request = entry.get("request")
    url = request.get("url") if type(request) is dict else None
    if type(url) is not str:
        raise _fail(index, "request.url: missing")
    parts = urlsplit(redact_secrets(url))
    operation_ids = parse_qs(parts.query).get("operationId")
    messages = entry.get("_webSocketMessages")
    if not operation_ids or messages is None:
        return None
    if type(messages) is not list:
        raise _fail(index, "_webSocketMessages: expected an array")
    opened = _epoch(entry.get("startedDateTime"), index)
    parsed = []
    for number, message in enumerate(messages):
        where = f"_webSocketMessages[{number}]"
        if type(message) is not dict:
            raise _fail(index, f"{where}: expected an object")
        kind, time, data = message.get("type"), message.get("time", ""), message.get("data")
        if kind not in ("send", "receive"):
            raise _fail(index, f"{where}.type: expected 'send' or 'receive', got {shown(kind)}")
        if type(time) not in (int, float):
            raise _fail(index, f"{where}.time: expected seconds since the epoch, got {shown(time)}")
        if type(data) is not str:
            raise _fail(index, f"{where}.data: expected a string, got {shown(data)}")
        if nested_too_deeply(data):  # a log could not hold it (nor replay show it)
            raise _fail(index, f"{where}.data: nested more than {MAX_NESTING} levels deep")
        parsed.append((float(time), kind, redact_json_text(data)))
    path = parts.path.rstrip("/").removesuffix("/ws")
    return _Socket(
        entry=index,
        operation_id=operation_ids[0],
        gateway_url=urlunsplit((parts.scheme, parts.netloc, path, "", "")),
        opened=opened,
        messages=tuple(parsed),
    )


def _load(har_path: str | os.PathLike[str]) -> list[_Socket]:
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


def _first_cursor(socket: _Socket) -> str:
    for _, kind, data in socket.messages:
        if kind == "send":
            try:
                message = decode_client(data)
            except RemoteProtocolError:
                continue
            if isinstance(message, Resume):
                return message.last_event_id
    return ""


class _Importer:
    """Turns sockets into records, reducing the synthesised actions to know what comes next."""

    def __init__(self, t0: float) -> None:
        self.t0 = t0
        self.state = GatewayState(config=StoreConfig())
        self.seq = 0
        self.generations: dict[int, int] = {}
        self.notes: list[LogWarning] = []

    def record(self, t: float, item: Item) -> Record:
        """The next record; an action is also reduced, to know what the reducer expects."""
        self.seq += 1
        if PLACES[type(item)][0] is not Direction.OUT:
            self.state = reduce(self.state, cast(Action, item)).state
        return Record(seq=self.seq, t=round(t - self.t0, 6), op=item_subject(item), item=item)

    def open(self, socket: _Socket) -> Iterator[Record]:
        op_id, t = socket.operation_id, socket.opened
        op = self.state.operations.get(op_id)
        if op is None:
            cursor = _first_cursor(socket)
            url, topic = socket.gateway_url, f"har-topic:{op_id}"
            start: Item = (
                OperationAttached(
                    operation_id=op_id,
                    topic_id=topic,
                    gateway_url=url,
                    token=REDACTED,
                    last_event_id=cursor,
                )
                if cursor
                else OperationStarted(
                    operation_id=op_id, topic_id=topic, gateway_url=url, token=REDACTED
                )
            )
            try:
                yield self.record(t, start)
            except LocalUsageError as error:
                raise _fail(socket.entry, f"cannot follow {op_id} from its URL: {error}") from None
        elif not op.is_finished:
            if op.refresh.status is RefreshStatus.IN_FLIGHT:
                yield self.record(t, TokenRefreshed(operation_id=op_id, token=REDACTED))
            elif any(isinstance(r, Socket) for r in self._link_resources(op_id)):
                closed = SocketClosed(
                    link_id=op.link_id,
                    generation=self.state.link_of(op).generation,
                    reason="HAR: the browser opened another socket",
                )
                yield self.record(t, closed)
            for timer in sorted(self._link_resources(op_id), key=repr):
                if isinstance(timer, Timer) and timer.kind is TimerKind.BACKOFF:
                    yield self.record(t, TimerFired(timer=timer))
        else:
            self.notes.append(
                LogWarning(
                    message=f"HAR entry {socket.entry}: a socket of {op_id} after it finished; "
                    "its frames are recorded as they are (the reducer ignores them)",
                    entry=socket.entry,
                )
            )
        op = self.state.operations[op_id]
        generation = self.state.link_of(op).generation + (1 if op.is_finished else 0)
        self.generations[socket.entry] = generation
        yield self.record(t, SocketOpened(link_id=op.link_id, generation=generation))

    def _link_resources(self, operation_id: str) -> frozenset[Resource]:
        op = self.state.operations[operation_id]
        return link_resources(self.state.link_of(op), self.state.config)

    def message(self, socket: _Socket, t: float, kind: str, data: str) -> Iterator[Record]:
        op_id, generation = socket.operation_id, self.generations[socket.entry]
        if kind == "receive":
            yield self.record(t, frame_received(op_id, generation, data))
            return
        try:
            sent = decode_client(data)
        except RemoteProtocolError as error:
            self.notes.append(
                LogWarning(
                    message=f"HAR entry {socket.entry}: a sent frame the codec cannot read is "
                    f"left out ({error})",
                    entry=socket.entry,
                )
            )
            return
        if isinstance(sent, ToolResult):
            yield self.record(t, ToolFinished(operation_id=op_id, result=sent))
        if isinstance(sent, Auth):
            sent = Auth(token=REDACTED)
        frame = SendMessage(link_id=op_id, generation=generation, message=sent)  # v1: op's link
        yield self.record(t, frame)


def from_har(har_path: str | os.PathLike[str]) -> list[LogItem]:
    """A replayable log from a HAR capture: its `Header` (source ``har``), then records.

    Import notes (a sent frame that could not be read, a socket after the operation
    finished) come as `LogWarning` items after the header.

    Raises:
        ReplayFormatError: the file is not JSON or not a HAR, or an entry is malformed;
            `entry` names the entry (0-based), `line` the line of a JSON syntax error.
        OSError: the file cannot be read.
    """
    sockets = _load(har_path)
    t0 = min((socket.opened for socket in sockets), default=0.0)
    importer = _Importer(t0)
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
    header = Header(config=StoreConfig(), started_at=started, source="har")
    return [header, *importer.notes, *records]
