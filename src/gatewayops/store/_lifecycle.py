"""The lifecycles as tables, in the manner of h11's `_state.py`.

Rules in prose:

* An operation is RUNNING while followed, DETACHED while the app looks away, and
  FINISHED once, for good: no entry leaves FINISHED, so terminal states are absorbing.
* A running operation's connection dials (CONNECTING), opens (AUTHENTICATING), is
  accepted (CONNECTED) or told its token expired (EXPIRED: socket open, waiting for a
  fresh token). Any loss of a socket (close, failure, watchdog, missed heartbeats)
  leads to RECONNECTING, whose backoff timer dials again. A fresh token REDIALs at once
  from any state. CLOSE (finish or detach) leads to DISCONNECTED from anywhere.
* A (status, event) pair missing from a table is an event that does not apply in that
  status; the reducer ignores it.

Owns: the tables, the one-lookup `transition`, and the Mermaid rendering the docs'
state diagram is generated from. Must not know: what else an event changes.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TypeVar

from gatewayops.store._resources import SOCKET_STATUSES
from gatewayops.store._state import ConnectionStatus, OperationStatus

__all__ = [
    "CONNECTION_TABLE",
    "OPERATION_TABLE",
    "ConnectionEvent",
    "OperationEvent",
    "mermaid",
    "transition",
]


class OperationEvent(enum.StrEnum):
    """What moves an operation between its lifecycle statuses."""

    DETACH = "detach"
    ATTACH = "attach"
    FINISH = "finish"


class ConnectionEvent(enum.StrEnum):
    """What moves a connection between its statuses."""

    DIAL = "dial"
    OPENED = "opened"
    AUTH_SUCCEEDED = "auth_succeeded"
    AUTH_EXPIRED = "auth_expired"
    LOST = "lost"
    BACKOFF_ELAPSED = "backoff_elapsed"
    REDIAL = "redial"
    CLOSE = "close"


OPERATION_TABLE: Mapping[tuple[OperationStatus, OperationEvent], OperationStatus] = {
    (OperationStatus.RUNNING, OperationEvent.DETACH): OperationStatus.DETACHED,
    (OperationStatus.DETACHED, OperationEvent.ATTACH): OperationStatus.RUNNING,
    (OperationStatus.RUNNING, OperationEvent.FINISH): OperationStatus.FINISHED,
    (OperationStatus.DETACHED, OperationEvent.FINISH): OperationStatus.FINISHED,
}

_Status = TypeVar("_Status", bound=enum.Enum)
_Event = TypeVar("_Event", bound=enum.Enum)
_C = ConnectionStatus
_E = ConnectionEvent

CONNECTION_TABLE: Mapping[tuple[ConnectionStatus, ConnectionEvent], ConnectionStatus] = {
    (_C.DISCONNECTED, _E.DIAL): _C.CONNECTING,
    (_C.CONNECTING, _E.OPENED): _C.AUTHENTICATING,
    (_C.AUTHENTICATING, _E.AUTH_SUCCEEDED): _C.CONNECTED,
    (_C.CONNECTED, _E.AUTH_SUCCEEDED): _C.CONNECTED,
    (_C.AUTHENTICATING, _E.AUTH_EXPIRED): _C.EXPIRED,
    (_C.CONNECTED, _E.AUTH_EXPIRED): _C.EXPIRED,
    (_C.EXPIRED, _E.AUTH_EXPIRED): _C.EXPIRED,
    (_C.RECONNECTING, _E.BACKOFF_ELAPSED): _C.CONNECTING,
    **{(status, _E.LOST): _C.RECONNECTING for status in SOCKET_STATUSES},
    **{(status, _E.REDIAL): _C.CONNECTING for status in (*SOCKET_STATUSES, _C.RECONNECTING)},
    **{(status, _E.CLOSE): _C.DISCONNECTED for status in ConnectionStatus},
}


def transition(
    table: Mapping[tuple[_Status, _Event], _Status], status: _Status, event: _Event
) -> _Status | None:
    """The status after `event`, or None when the event does not apply in `status`."""
    return table.get((status, event))


def _definition_order(member: enum.Enum) -> int:
    return list(type(member)).index(member)


def mermaid(table: Mapping[tuple[_Status, _Event], _Status], initial: _Status) -> str:
    """A Mermaid ``stateDiagram-v2`` of a lifecycle table (one edge per entry).

    Edges are listed in the enums' definition order, not the table's (which is built in
    part from frozensets, whose order changes from one interpreter run to the next), so
    the same table always renders the same text.
    """
    lines = ["stateDiagram-v2", f"    [*] --> {initial.name}"]
    edges: dict[tuple[str, str], list[str]] = {}
    entries = sorted(
        table.items(),
        key=lambda entry: (
            _definition_order(entry[0][0]),
            _definition_order(entry[1]),
            _definition_order(entry[0][1]),
        ),
    )
    for (source, event), target in entries:
        edges.setdefault((source.name, target.name), []).append(str(event.value))
    for (source_name, target_name), events in edges.items():
        lines.append(f"    {source_name} --> {target_name}: {', '.join(events)}")
    return "\n".join(lines) + "\n"
