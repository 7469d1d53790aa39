"""Long-lived resources derived from state: which sockets and timers should exist.

Owns: `Socket` and `Timer` descriptions, `link_resources(link, config)` (a link's socket
and its watchdog, heartbeat and backoff timers) and `operation_resources(op, config)` (a
session's own timers: resume flush, token refresh, tool and intervention deadlines),
pure functions of one link or one operation (Elm-style subscriptions). The runtime diffs
them after every step: a resource that appeared is opened or armed, one that disappeared
is closed or cancelled. A finished operation has none, and neither has the link of one,
so "nothing survives a terminal state" is a property of state. Must not know: how
resources are carried out.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from operator import attrgetter, is_

import attrs

from gatewayops.store._config import Protocol, StoreConfig, backoff_delay_ms
from gatewayops.store._state import (
    ConnectionStatus,
    GatewayState,
    Link,
    Operation,
    OperationStatus,
    RefreshStatus,
)

__all__ = [
    "RESOURCE_INPUTS",
    "SOCKET_STATUSES",
    "Resource",
    "Socket",
    "Timer",
    "TimerKind",
    "link_resources",
    "operation_resources",
    "resources",
    "resources_may_differ",
]

SOCKET_STATUSES = frozenset(
    {
        ConnectionStatus.CONNECTING,
        ConnectionStatus.AUTHENTICATING,
        ConnectionStatus.CONNECTED,
        ConnectionStatus.EXPIRED,
    }
)
"""Link statuses in which the link's socket exists."""

_WATCHDOG_STATUSES = frozenset({ConnectionStatus.CONNECTING, ConnectionStatus.AUTHENTICATING})
_HEARTBEAT_STATUSES = frozenset({ConnectionStatus.CONNECTED, ConnectionStatus.EXPIRED})


class TimerKind(enum.StrEnum):
    """What a timer is for (the first three belong to links, the others to operations)."""

    CONNECT_WATCHDOG = "connect_watchdog"
    HEARTBEAT = "heartbeat"
    BACKOFF = "backoff"
    """Reconnect delay; the runtime applies jitter to it."""
    RESUME_FLUSH = "resume_flush"
    REFRESH_RETRY = "refresh_retry"
    """Delay before retrying a failed token refresh; the runtime applies jitter."""
    REFRESH_TIMEOUT = "refresh_timeout"
    """A refresh in flight for this long counts as failed."""
    TOOL_DEADLINE = "tool_deadline"
    INTERVENTION_DEADLINE = "intervention_deadline"
    """The producer stops waiting for the user's answer (`tool_call_id` names it)."""
    IDLE_CLOSE = "idle_close"
    """v2, lazy: the user's socket carries no subscription; it closes when this fires
    (after 0 ms, so a subscription that ends and one that starts in the same turn of
    the event loop share the socket)."""


LINK_TIMERS = frozenset(
    {TimerKind.CONNECT_WATCHDOG, TimerKind.HEARTBEAT, TimerKind.BACKOFF, TimerKind.IDLE_CLOSE}
)


@attrs.frozen(kw_only=True)
class Socket:
    """The socket of one connection attempt (`generation`) of a link.

    `quiet_after_ms`: the socket task reports `SocketWentQuiet` once this long passes
    without a frame other than a heartbeat ack (and again after the next such frame).
    `protocol` says how its frames are read and written; a v2 socket's `url` is the
    gateway's base URL, to which the runtime adds the user token it fetches first.
    """

    link_id: str
    generation: int
    url: str
    quiet_after_ms: int
    protocol: Protocol = Protocol.V1


@attrs.frozen(kw_only=True)
class Timer:
    """A one-shot timer; the whole value is its key (a new `seq` re-arms it).

    `owner` is the link (for the kinds in `LINK_TIMERS`) or the operation it belongs
    to. `delay_ms` counts from the moment the timer first appears in the resources.
    `full_jitter`: the runtime draws the delay from all of ``[0, delay_ms)`` (v2's
    backoff, PROTOCOL.md 7.6) instead of its upper half.
    """

    owner: str
    kind: TimerKind
    generation: int = 0
    seq: int = 0
    delay_ms: int
    tool_call_id: str = ""
    full_jitter: bool = False

    @property
    def jittered(self) -> bool:
        """Whether the runtime spreads this delay with jitter (backoff kinds only)."""
        return self.kind in _JITTERED_KINDS

    @property
    def of_link(self) -> bool:
        """Whether this timer belongs to a link (else to an operation)."""
        return self.kind in LINK_TIMERS


_JITTERED_KINDS = frozenset({TimerKind.BACKOFF, TimerKind.REFRESH_RETRY})

Resource = Socket | Timer
_NONE: frozenset[Resource] = frozenset()


def _link_resources(link: Link, config: StoreConfig) -> Iterator[Resource]:
    status = link.status
    v2 = link.protocol is Protocol.V2
    if status in SOCKET_STATUSES:
        yield Socket(
            link_id=link.id,
            generation=link.generation,
            url=link.url,
            quiet_after_ms=config.quiet_after_ms,
            protocol=link.protocol,
        )
    if v2 and not link.sessions and not config.v2_keep_alive:
        yield Timer(
            owner=link.id, kind=TimerKind.IDLE_CLOSE, generation=link.generation, delay_ms=0
        )
    if status in _WATCHDOG_STATUSES:
        yield Timer(
            owner=link.id,
            kind=TimerKind.CONNECT_WATCHDOG,
            generation=link.generation,
            delay_ms=config.connect_timeout_ms,
        )
    elif status in _HEARTBEAT_STATUSES:
        yield Timer(
            owner=link.id,
            kind=TimerKind.HEARTBEAT,
            generation=link.generation,
            seq=link.heartbeat_ticks,
            delay_ms=config.heartbeat_interval_ms,
        )
    elif status is ConnectionStatus.RECONNECTING:
        yield Timer(
            owner=link.id,
            kind=TimerKind.BACKOFF,
            generation=link.generation,
            seq=link.attempt,
            delay_ms=backoff_delay_ms(config, link.attempt),
            full_jitter=v2,
        )


def link_resources(link: Link, config: StoreConfig) -> frozenset[Resource]:
    """The socket and timers that should exist for `link` right now."""
    if link.status is ConnectionStatus.DISCONNECTED:
        return _NONE
    return frozenset(_link_resources(link, config))


def _operation_resources(op: Operation, config: StoreConfig) -> Iterator[Resource]:
    if op.status is OperationStatus.RUNNING:
        if op.resume.buffering:
            yield Timer(
                owner=op.id,
                kind=TimerKind.RESUME_FLUSH,
                generation=op.resume.generation,
                seq=op.resume.arrivals,
                delay_ms=config.resume_flush_ms,
            )
        if op.refresh.status is RefreshStatus.RETRY_WAIT:
            yield Timer(
                owner=op.id,
                kind=TimerKind.REFRESH_RETRY,
                seq=op.refresh.attempts,
                delay_ms=backoff_delay_ms(config, op.refresh.attempts),
            )
        elif op.refresh.status is RefreshStatus.IN_FLIGHT:
            yield Timer(
                owner=op.id,
                kind=TimerKind.REFRESH_TIMEOUT,
                seq=op.refresh.attempts,
                delay_ms=config.refresh_timeout_ms,
            )
    for tool in op.tools.values():  # only the calls still owed a result
        yield Timer(
            owner=op.id,
            kind=TimerKind.TOOL_DEADLINE,
            delay_ms=tool.deadline_ms,
            tool_call_id=tool.id,
        )
    for item in op.human.open.values():  # only the interventions still waited for
        yield Timer(
            owner=op.id,
            kind=TimerKind.INTERVENTION_DEADLINE,
            delay_ms=item.deadline_ms,
            tool_call_id=item.tool_call_id,
        )


def operation_resources(op: Operation, config: StoreConfig) -> frozenset[Resource]:
    """The timers that should exist for `op` itself right now (its link has its own)."""
    if op.status is OperationStatus.FINISHED:
        return _NONE
    return frozenset(_operation_resources(op, config))


def resources(state: GatewayState) -> frozenset[Resource]:
    """Every resource of every link and operation (O(n); for checks, not the hot path)."""
    config = state.config
    found: set[Resource] = set()
    for link in state.links.values():
        found.update(link_resources(link, config))
    for op in state.operations.values():
        found.update(operation_resources(op, config))
    return frozenset(found)


RESOURCE_INPUTS = ("id", "status", "resume", "refresh", "tools", "human")
"""The `Operation` fields `operation_resources` reads (a test pins this list)."""
_resource_inputs = attrgetter(*RESOURCE_INPUTS)


def resources_may_differ(old: Operation | None, new: Operation | None) -> bool:
    """Whether `operation_resources` could differ between two versions of an operation.

    False when none of `RESOURCE_INPUTS` changed (compared by identity: state is
    persistent, so an unchanged part is the same object). A streamed chunk changes only
    the transcript and the cursor, so the runtime skips the resource diff for it.
    """
    if old is None or new is None:
        return True
    return not all(map(is_, _resource_inputs(old), _resource_inputs(new)))
