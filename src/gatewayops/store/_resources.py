"""Long-lived resources derived from state: which sockets and timers should exist.

Owns: `Socket` and `Timer` descriptions and `operation_resources(op, config)`, a pure
function of one operation (Elm-style subscriptions). The runtime diffs it after every
step: a resource that appeared is opened or armed, one that disappeared is closed or
cancelled. A finished operation has none, so "nothing survives a terminal state" is a
property of state. Must not know: how resources are carried out.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator

import attrs

from gatewayops.store._config import StoreConfig, backoff_delay_ms
from gatewayops.store._state import (
    ConnectionStatus,
    GatewayState,
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
"""Connection statuses in which the operation's socket exists."""

_WATCHDOG_STATUSES = frozenset({ConnectionStatus.CONNECTING, ConnectionStatus.AUTHENTICATING})
_HEARTBEAT_STATUSES = frozenset({ConnectionStatus.CONNECTED, ConnectionStatus.EXPIRED})


class TimerKind(enum.StrEnum):
    """What a timer is for."""

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


@attrs.frozen(kw_only=True)
class Socket:
    """The socket of one connection attempt (`generation`) of an operation.

    `quiet_after_ms`: the socket task reports `SocketWentQuiet` once this long passes
    without a frame other than a heartbeat ack (and again after the next such frame).
    """

    operation_id: str
    generation: int
    url: str
    quiet_after_ms: int


@attrs.frozen(kw_only=True)
class Timer:
    """A one-shot timer; the whole value is its key (a new `seq` re-arms it).

    `delay_ms` counts from the moment the timer first appears in the resources.
    """

    operation_id: str
    kind: TimerKind
    generation: int = 0
    seq: int = 0
    delay_ms: int
    tool_call_id: str = ""

    @property
    def jittered(self) -> bool:
        """Whether the runtime spreads this delay with jitter (backoff kinds only)."""
        return self.kind in _JITTERED_KINDS


_JITTERED_KINDS = frozenset({TimerKind.BACKOFF, TimerKind.REFRESH_RETRY})

Resource = Socket | Timer


def _connection_resources(op: Operation, config: StoreConfig) -> Iterator[Resource]:
    conn = op.connection
    if conn.status in SOCKET_STATUSES:
        yield Socket(
            operation_id=op.id,
            generation=conn.generation,
            url=op.url,
            quiet_after_ms=config.quiet_after_ms,
        )
    if conn.status in _WATCHDOG_STATUSES:
        yield Timer(
            operation_id=op.id,
            kind=TimerKind.CONNECT_WATCHDOG,
            generation=conn.generation,
            delay_ms=config.connect_timeout_ms,
        )
    elif conn.status in _HEARTBEAT_STATUSES:
        yield Timer(
            operation_id=op.id,
            kind=TimerKind.HEARTBEAT,
            generation=conn.generation,
            seq=conn.heartbeat_ticks,
            delay_ms=config.heartbeat_interval_ms,
        )
    elif conn.status is ConnectionStatus.RECONNECTING:
        yield Timer(
            operation_id=op.id,
            kind=TimerKind.BACKOFF,
            generation=conn.generation,
            seq=conn.attempt,
            delay_ms=backoff_delay_ms(config, conn.attempt),
        )
    if op.resume.buffering:
        yield Timer(
            operation_id=op.id,
            kind=TimerKind.RESUME_FLUSH,
            generation=conn.generation,
            seq=op.resume.arrivals,
            delay_ms=config.resume_flush_ms,
        )
    if op.refresh.status is RefreshStatus.RETRY_WAIT:
        yield Timer(
            operation_id=op.id,
            kind=TimerKind.REFRESH_RETRY,
            seq=op.refresh.attempts,
            delay_ms=backoff_delay_ms(config, op.refresh.attempts),
        )
    elif op.refresh.status is RefreshStatus.IN_FLIGHT:
        yield Timer(
            operation_id=op.id,
            kind=TimerKind.REFRESH_TIMEOUT,
            seq=op.refresh.attempts,
            delay_ms=config.refresh_timeout_ms,
        )


def operation_resources(op: Operation, config: StoreConfig) -> frozenset[Resource]:
    """The sockets and timers that should exist for `op` right now."""
    if op.status is OperationStatus.FINISHED:
        return frozenset()
    found: list[Resource] = []
    if op.status is OperationStatus.RUNNING:
        found.extend(_connection_resources(op, config))
    found.extend(
        Timer(
            operation_id=op.id,
            kind=TimerKind.TOOL_DEADLINE,
            delay_ms=tool.deadline_ms,
            tool_call_id=tool.id,
        )
        for tool in op.tools.values()  # only the calls still owed a result
    )
    return frozenset(found)


def resources(state: GatewayState) -> frozenset[Resource]:
    """Every resource of every operation (O(n); for checks, not for the hot path)."""
    return frozenset(
        resource
        for op in state.operations.values()
        for resource in operation_resources(op, state.config)
    )


RESOURCE_INPUTS = ("id", "url", "status", "connection", "resume", "refresh", "tools")
"""The `Operation` fields `operation_resources` reads (a test pins this list)."""


def resources_may_differ(old: Operation | None, new: Operation | None) -> bool:
    """Whether `operation_resources` could differ between two versions of an operation.

    False when none of `RESOURCE_INPUTS` changed (compared by identity: state is
    persistent, so an unchanged part is the same object). A streamed chunk changes only
    the transcript and the cursor, so the runtime skips the resource diff for it.
    """
    return (
        old is None
        or new is None
        or old.connection is not new.connection
        or old.status is not new.status
        or old.resume is not new.resume
        or old.refresh is not new.refresh
        or old.tools is not new.tools
        or old.url is not new.url
        or old.id is not new.id
    )
