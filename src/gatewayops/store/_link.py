"""A link's socket life, whatever protocol it speaks: dial, open, authenticate, lose.

Owns: the moves of a `Link` through `CONNECTION_TABLE` (each socket attempt gets the
next generation), the backoff count (a lost socket adds one; only a connection that
proved healthy -- an agent event or a heartbeat ack after `auth_success` -- returns it to
0, PROTOCOL.md 11.25), the heartbeat tick (counted missed first; past the limit the
socket counts as lost), and the quiet flag the socket task reports. Every function takes
a link and returns the next one, or None when the event does not apply. Must not know:
frames, sessions, or what an operation does about it.
"""

from __future__ import annotations

from typing import Any

import attrs

from gatewayops.store._config import StoreConfig
from gatewayops.store._lifecycle import CONNECTION_TABLE, ConnectionEvent, transition
from gatewayops.store._resources import SOCKET_STATUSES
from gatewayops.store._state import ConnectionStatus, Link


def carries(link: Link, generation: int) -> bool:
    """Whether news of socket `generation` is about the link's live socket (an older
    generation's late news, or any after the socket went, is stale)."""
    return generation == link.generation and link.status in SOCKET_STATUSES


__all__ = [
    "acked",
    "authenticated",
    "carries",
    "closed",
    "dialled",
    "expired",
    "healthy",
    "heard",
    "lost",
    "opened",
    "quieted",
    "redialled",
    "ticked",
]


def dialled(link: Link, event: ConnectionEvent) -> Link | None:
    """A new socket attempt (the next generation); the old socket, if any, goes."""
    status = transition(CONNECTION_TABLE, link.status, event)
    if status is None:
        return None
    return attrs.evolve(
        link,
        status=status,
        generation=link.generation + 1,
        missed_heartbeats=0,
        heartbeat_ticks=0,
        quiet=False,
    )


def redialled(link: Link) -> Link:
    """Dial again now (the application asked): the backoff starts again."""
    event = ConnectionEvent.DIAL
    if link.status is not ConnectionStatus.DISCONNECTED:
        event = ConnectionEvent.REDIAL
    dial = dialled(attrs.evolve(link, attempt=0), event)
    assert dial is not None  # DIAL from DISCONNECTED, REDIAL from any other status
    return dial


def _moved(link: Link, event: ConnectionEvent, **changes: Any) -> Link | None:
    """The link after `event` (with `changes`, in the same copy), or None."""
    status = transition(CONNECTION_TABLE, link.status, event)
    return None if status is None else attrs.evolve(link, status=status, **changes)


def opened(link: Link) -> Link | None:
    """The handshake completed: the socket must now authenticate."""
    return _moved(link, ConnectionEvent.OPENED, ever_opened=True)


def authenticated(link: Link) -> Link | None:
    """The gateway accepted the token: connected (the backoff is not reset here)."""
    return _moved(link, ConnectionEvent.AUTH_SUCCEEDED, missed_heartbeats=0)


def expired(link: Link) -> Link | None:
    """Only the token's `exp` failed: the socket stays open, unauthenticated."""
    return _moved(link, ConnectionEvent.AUTH_EXPIRED)


def lost(link: Link) -> Link:
    """The socket is gone (closed, failed, watchdog, heartbeats): back off, then redial."""
    status = transition(CONNECTION_TABLE, link.status, ConnectionEvent.LOST)
    return attrs.evolve(link, status=status, attempt=link.attempt + 1, missed_heartbeats=0)


def closed(link: Link) -> Link:
    """No socket any more, and none will be dialled (the operation is not followed)."""
    status = transition(CONNECTION_TABLE, link.status, ConnectionEvent.CLOSE)
    return attrs.evolve(link, status=status, quiet=False)


def healthy(link: Link) -> Link:
    """An agent event or heartbeat ack on an authenticated socket: the backoff restarts."""
    if link.attempt == 0 or link.status is not ConnectionStatus.CONNECTED:
        return link
    return attrs.evolve(link, attempt=0)


def acked(link: Link) -> Link:
    """A heartbeat ack: nothing is missed; the connection proved healthy."""
    if link.missed_heartbeats:
        link = attrs.evolve(link, missed_heartbeats=0)
    return healthy(link)


def ticked(link: Link, config: StoreConfig) -> Link | None:
    """The heartbeat tick: counted missed (a heartbeat is due), or None once more than
    `max_missed_heartbeats` are unanswered (the socket counts as lost)."""
    missed = link.missed_heartbeats + 1
    if missed > config.max_missed_heartbeats:
        return None
    return attrs.evolve(link, missed_heartbeats=missed, heartbeat_ticks=link.heartbeat_ticks + 1)


def quieted(link: Link) -> Link:
    """The socket task saw nothing but heartbeat acks for `quiet_after_ms`: say so. Only
    an authenticated socket can be quiet (before that the connect watchdog decides);
    quiet is news for the user, never an ending (PROTOCOL.md 11.5)."""
    if link.quiet or link.status is not ConnectionStatus.CONNECTED:
        return link
    return attrs.evolve(link, quiet=True)


def heard(link: Link) -> Link:
    """A frame other than a heartbeat ack arrived: no longer quiet."""
    return attrs.evolve(link, quiet=False) if link.quiet else link
