"""The records a HAR import writes, and the ones it synthesises, whatever the protocol.

Owns: `HarSocket` (one gateway socket of a capture, as `_har` reads it), `entry_error`,
and `Importer`, the base of both protocols' importers (`_har` for v1, `_har_v2` for
v2): it numbers the records and reduces every action it writes, so that it knows what
today's reducer expects next; it synthesises what a HAR does not hold and a replay
needs, and only that: an operation's start (`OperationStarted`, or `OperationAttached`
when the browser's first frame for it names a cursor; topic ``har-topic:<operation
id>``, token ``"<redacted>"``), and between two sockets of one link the old socket's
`SocketClosed` and the backoff `TimerFired` that dials again; and it keeps the import
notes. A subclass says what a socket's opening and each of its frames become (`open`,
`message`). Must not know: files, the HAR's JSON, or how the log is replayed.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from typing import TypeVar, cast

import attrs

from gatewayops.exceptions import LocalUsageError, RemoteProtocolError
from gatewayops.replay._format import LogWarning, Record, ReplayFormatError
from gatewayops.replay._places import PLACES, REDACTED, Direction, Item, item_subject
from gatewayops.store import (
    Action,
    GatewayState,
    OperationAttached,
    OperationStarted,
    Protocol,
    Resource,
    Socket,
    SocketClosed,
    StoreConfig,
    Timer,
    TimerFired,
    TimerKind,
    link_resources,
    reduce,
)

__all__ = ["HarSocket", "Importer", "entry_error"]

_Sent = TypeVar("_Sent")


@attrs.frozen(kw_only=True)
class HarSocket:
    """One HAR entry that is a gateway socket.

    Attributes:
        entry: the entry's index in ``log.entries`` (0-based).
        protocol: v1 (a socket of one operation) or v2 (the user's socket).
        operation_id: v1: the operation of the socket; v2: "" (each frame names its own).
        gateway_url: the gateway's base URL (no path to the socket, no query).
        opened: when the socket opened, in seconds since the epoch.
        messages: (time, ``"send"`` or ``"receive"``, redacted text), in the entry's order.
    """

    entry: int
    protocol: Protocol
    operation_id: str
    gateway_url: str
    opened: float
    messages: tuple[tuple[float, str, str], ...]


def entry_error(entry: int, message: str) -> ReplayFormatError:
    """The error of a malformed HAR entry (its index is in the message and `entry`)."""
    return ReplayFormatError(f"HAR entry {entry}: {message}", entry=entry)


class Importer(abc.ABC):
    """Turns a protocol's sockets into records, reducing what it writes as it goes.

    Attributes:
        config: the store settings the log is replayed with (its header's).
        state: the state today's reducer is in after the records written so far.
        generations: per HAR entry, the generation of its socket.
        notes: what the import could not carry over, for the log's warnings.
    """

    def __init__(self, t0: float, config: StoreConfig) -> None:
        self.t0 = t0
        self.config = config
        self.state = GatewayState(config=config)
        self.seq = 0
        self.generations: dict[int, int] = {}
        self.notes: list[LogWarning] = []

    @abc.abstractmethod
    def open(self, socket: HarSocket) -> Iterator[Record]:
        """The records of `socket` opening (and what must come before it)."""

    @abc.abstractmethod
    def message(self, socket: HarSocket, t: float, kind: str, data: str) -> Iterator[Record]:
        """The records of one frame of `socket`, sent or received at `t`."""

    def record(self, t: float, item: Item) -> Record:
        """The next record; an action is also reduced, to know what the reducer expects."""
        self.seq += 1
        if PLACES[type(item)][0] is not Direction.OUT:
            self.state = reduce(self.state, cast(Action, item)).state
        return Record(seq=self.seq, t=round(t - self.t0, 6), op=item_subject(item), item=item)

    def note(self, socket: HarSocket, message: str) -> None:
        """Keep an import note about `socket`'s entry."""
        entry = socket.entry
        self.notes.append(LogWarning(message=f"HAR entry {entry}: {message}", entry=entry))

    def sent(self, socket: HarSocket, data: str, decode: Callable[[str], _Sent]) -> _Sent | None:
        """The frame the browser sent, decoded; None, and a note, if `decode` cannot."""
        try:
            return decode(data)
        except RemoteProtocolError as error:
            self.note(socket, f"a sent frame the codec cannot read is left out ({error})")
            return None

    def start(
        self, socket: HarSocket, t: float, operation_id: str, cursor: str, executor: bool = True
    ) -> Iterator[Record]:
        """The synthesised start of an operation first seen on `socket`: from its first
        event, or attached from `cursor` if the browser's first frame names one."""
        url, topic = socket.gateway_url, f"har-topic:{operation_id}"
        start: Item = (
            OperationAttached(
                operation_id=operation_id,
                topic_id=topic,
                gateway_url=url,
                token=REDACTED,
                last_event_id=cursor,
                executor=executor,
            )
            if cursor
            else OperationStarted(
                operation_id=operation_id,
                topic_id=topic,
                gateway_url=url,
                token=REDACTED,
                executor=executor,
            )
        )
        try:
            yield self.record(t, start)
        except LocalUsageError as error:
            raise entry_error(
                socket.entry, f"cannot follow {operation_id} from its URL: {error}"
            ) from None

    def wanted(self, link_id: str) -> frozenset[Resource]:
        """The sockets and timers the link wants now (none if there is no such link)."""
        link = self.state.links.get(link_id)
        return frozenset() if link is None else link_resources(link, self.state.config)

    def closed(self, t: float, link_id: str) -> Iterator[Record]:
        """The link's socket, if it still wants one, closes: the browser opened another."""
        link = self.state.links.get(link_id)
        if link is not None and any(isinstance(r, Socket) for r in self.wanted(link_id)):
            reason = "HAR: the browser opened another socket"
            yield self.record(
                t, SocketClosed(link_id=link_id, generation=link.generation, reason=reason)
            )

    def backoff_fired(self, t: float, link_id: str) -> Iterator[Record]:
        """The link's backoff timers fire, so that it dials again."""
        for timer in sorted(self.wanted(link_id), key=repr):
            if isinstance(timer, Timer) and timer.kind is TimerKind.BACKOFF:
                yield self.record(t, TimerFired(timer=timer))
