"""The lifecycles as tables, in the manner of h11's `_state.py`.

Rules in prose:

* An operation is RUNNING while followed, DETACHED while the app looks away, and
  FINISHED once, for good: no entry leaves FINISHED, so terminal states are absorbing.
* A link dials (CONNECTING), opens (AUTHENTICATING), is accepted (CONNECTED) or told its
  token expired (EXPIRED: socket open, waiting for a fresh token). Any loss of a socket
  (close, failure, watchdog, missed heartbeats) leads to RECONNECTING, whose backoff
  timer dials again. A fresh token (or the app) REDIALs at once. CLOSE (finish or
  detach) leads to DISCONNECTED from anywhere. v2 only: the application's disconnect
  HOLDs the link (DISCONNECTED from anywhere, its sessions kept) and its connect
  RELEASEs it (a held link dials).
* A token refresh is single-flight: IDLE -> IN_FLIGHT -> IDLE, or RETRY_WAIT after a
  failure, then IN_FLIGHT again when the retry delay elapses.
* A resume replay is buffered (BUFFERING) from its start until it is flushed.
* (The tool-call lifecycle, `TOOL_TABLE`, lives with the tools in `_tools`, and the
  intervention lifecycle, `INTERVENTION_TABLE`, with the interventions in
  `_interventions`.)

Every table is total over the pairs that can happen: a pair whose event has no effect in
that status is written out as `IGNORED` (with the reason beside it), and a pair that is
missing can only be reached by a bug, so `transition` raises `KeyError` for it (and the
reducer's safety net ends the operation as an internal error). `tests/store` pins both.

Owns: the events of each lifecycle, the tables, the one-lookup `transition`,
and the Mermaid rendering the docs' state diagrams are generated from. Must not know:
what else an event changes.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any, Final, TypeVar

from gatewayops.store._state import ConnectionStatus, OperationStatus, RefreshStatus, ResumeStatus

__all__ = [
    "CONNECTION_TABLE",
    "IGNORED",
    "OPERATION_TABLE",
    "REFRESH_TABLE",
    "RESUME_TABLE",
    "ConnectionEvent",
    "OperationEvent",
    "RefreshEvent",
    "ResumeEvent",
    "mermaid",
    "transition",
]


class _Ignored:
    def __repr__(self) -> str:
        return "IGNORED"


IGNORED: Final[Any] = _Ignored()
"""A table's value for an event that does not apply in that status (no change)."""


class OperationEvent(enum.StrEnum):
    """What moves an operation between its lifecycle statuses."""

    DETACH = "detach"
    ATTACH = "attach"
    FINISH = "finish"


class ConnectionEvent(enum.StrEnum):
    """What moves a link's connection between its statuses."""

    DIAL = "dial"
    OPENED = "opened"
    AUTH_SUCCEEDED = "auth_succeeded"
    AUTH_EXPIRED = "auth_expired"
    LOST = "lost"
    BACKOFF_ELAPSED = "backoff_elapsed"
    REDIAL = "redial"
    CLOSE = "close"
    HOLD = "hold"
    """v2: the application disconnected the link; its sessions wait, nothing dials."""
    RELEASE = "release"
    """v2: the application connected a held link again: it dials."""


class RefreshEvent(enum.StrEnum):
    """What moves a token refresh."""

    START = "start"
    """`auth_expired` asks for a fresh token."""
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    """The refresh failed or timed out (within the budget: it is retried)."""
    RETRY_ELAPSED = "retry_elapsed"
    STOP = "stop"
    """The operation stopped being followed: nothing is pending any more."""


class ResumeEvent(enum.StrEnum):
    """What moves resume buffering."""

    REPLAY_STARTS = "replay_starts"
    """Authenticated, reattached with no cursor: the replay that follows is buffered."""
    FLUSH = "flush"
    """Show the buffer (debounce, `resume_complete`, a terminal, a lost link, a stop)."""


_Status = TypeVar("_Status", bound=enum.Enum)
_Event = TypeVar("_Event", bound=enum.Enum)
_O, _OE = OperationStatus, OperationEvent
_C, _CE = ConnectionStatus, ConnectionEvent
_R, _RE = RefreshStatus, RefreshEvent
_S, _SE = ResumeStatus, ResumeEvent
_SOCKET = (_C.CONNECTING, _C.AUTHENTICATING, _C.CONNECTED, _C.EXPIRED)


def _each(statuses: Iterable[_Status], event: _Event, target: Any) -> dict[Any, Any]:
    return {(status, event): target for status in statuses}


OPERATION_TABLE: Mapping[tuple[OperationStatus, OperationEvent], Any] = {
    (_O.RUNNING, _OE.DETACH): _O.DETACHED,
    (_O.DETACHED, _OE.DETACH): IGNORED,  # detaching twice changes nothing
    (_O.DETACHED, _OE.ATTACH): _O.RUNNING,
    (_O.RUNNING, _OE.FINISH): _O.FINISHED,
    (_O.DETACHED, _OE.FINISH): _O.FINISHED,
    (_O.FINISHED, _OE.FINISH): IGNORED,  # finishing is idempotent: one ending only
}

CONNECTION_TABLE: Mapping[tuple[ConnectionStatus, ConnectionEvent], Any] = {
    (_C.DISCONNECTED, _CE.DIAL): _C.CONNECTING,
    (_C.CONNECTING, _CE.OPENED): _C.AUTHENTICATING,
    **_each((_C.AUTHENTICATING, _C.CONNECTED, _C.EXPIRED), _CE.OPENED, IGNORED),  # reported twice
    (_C.AUTHENTICATING, _CE.AUTH_SUCCEEDED): _C.CONNECTED,
    (_C.CONNECTED, _CE.AUTH_SUCCEEDED): _C.CONNECTED,  # accepted again: resume again
    (_C.CONNECTING, _CE.AUTH_SUCCEEDED): IGNORED,  # before the socket even opened
    (_C.EXPIRED, _CE.AUTH_SUCCEEDED): IGNORED,  # a fresh token is on its way: redial then
    **_each((_C.AUTHENTICATING, _C.CONNECTED, _C.EXPIRED), _CE.AUTH_EXPIRED, _C.EXPIRED),
    (_C.CONNECTING, _CE.AUTH_EXPIRED): IGNORED,  # before the socket even opened
    **_each(_SOCKET, _CE.LOST, _C.RECONNECTING),
    (_C.RECONNECTING, _CE.BACKOFF_ELAPSED): _C.CONNECTING,
    **_each((*_SOCKET, _C.RECONNECTING), _CE.REDIAL, _C.CONNECTING),
    **_each(ConnectionStatus, _CE.CLOSE, _C.DISCONNECTED),
    **_each(ConnectionStatus, _CE.HOLD, _C.DISCONNECTED),
    (_C.DISCONNECTED, _CE.RELEASE): _C.CONNECTING,  # only a held link is released
}

REFRESH_TABLE: Mapping[tuple[RefreshStatus, RefreshEvent], Any] = {
    (_R.IDLE, _RE.START): _R.IN_FLIGHT,
    (_R.IN_FLIGHT, _RE.START): IGNORED,  # single-flight: one refresh at a time
    (_R.RETRY_WAIT, _RE.START): IGNORED,  # a retry is already scheduled
    (_R.IN_FLIGHT, _RE.SUCCEEDED): _R.IDLE,
    (_R.IDLE, _RE.SUCCEEDED): IGNORED,  # an answer nobody is waiting for
    (_R.RETRY_WAIT, _RE.SUCCEEDED): IGNORED,
    (_R.IN_FLIGHT, _RE.FAILED): _R.RETRY_WAIT,
    (_R.IDLE, _RE.FAILED): IGNORED,
    (_R.RETRY_WAIT, _RE.FAILED): IGNORED,
    (_R.RETRY_WAIT, _RE.RETRY_ELAPSED): _R.IN_FLIGHT,
    **_each(RefreshStatus, _RE.STOP, _R.IDLE),
}

RESUME_TABLE: Mapping[tuple[ResumeStatus, ResumeEvent], Any] = {
    (_S.IDLE, _SE.REPLAY_STARTS): _S.BUFFERING,
    (_S.BUFFERING, _SE.FLUSH): _S.IDLE,
    (_S.IDLE, _SE.FLUSH): IGNORED,  # nothing buffered: nothing to show
}
"""(A replay starts only from IDLE: authenticating again flushes the last one first.)"""


def transition(table: Mapping[tuple[_Status, _Event], Any], status: _Status, event: _Event) -> Any:
    """The status after `event`, or None when the table says the event is `IGNORED`.

    Raises:
        KeyError: the pair is not in the table: no input can reach it, only a bug.
    """
    target = table[(status, event)]
    return None if target is IGNORED else target


def _definition_order(member: enum.Enum) -> int:
    return list(type(member)).index(member)


def mermaid(table: Mapping[tuple[_Status, _Event], Any], initial: _Status) -> str:
    """A Mermaid ``stateDiagram-v2`` of a lifecycle table (one edge per entry that moves).

    Edges are listed in the enums' definition order, not the table's, so the same table
    always renders the same text. `IGNORED` entries draw nothing.
    """
    lines = ["stateDiagram-v2", f"    [*] --> {initial.name}"]
    edges: dict[tuple[str, str], list[str]] = {}
    entries = sorted(
        ((key, target) for key, target in table.items() if target is not IGNORED),
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
