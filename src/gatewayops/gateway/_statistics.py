"""What the reference gateway holds open, counted: `GatewayStatistics`.

Owns: the snapshot's fields and how each is counted from the registry (operations,
their subscribers, runs and tool calls), the server (handshakes, held connections,
closes by cause, v1 and v2) and protocol v2's hub. Must not know: the control API that
hands it out (`Gateway.statistics`), sockets' internals, or the client.
"""

from __future__ import annotations

import attrs
import trio

from gatewayops.gateway._limits import CloseCause
from gatewayops.gateway._operations import OperationRegistry
from gatewayops.gateway._server import GatewayServer, tasks_under

__all__ = ["GatewayStatistics", "gateway_statistics"]


@attrs.frozen(kw_only=True)
class GatewayStatistics:
    """A snapshot of what the gateway holds open, and of what its limits cut off.

    Attributes:
        open_sockets: accepted WebSockets not yet closed, v1's and v2's (`v2_sockets`
            of them are v2's).
        authenticated_sockets: open v1 sockets that passed `auth` (and were not expired).
        subscribed_sockets: v1 sockets receiving live events (authenticated and resumed).
        handshaking_connections: TCP connections whose WebSocket upgrade is under way.
        held_connections: black-holed connections currently held.
        queued_frames: frames queued on open sockets but not yet written.
        queued_chars: characters in those frames.
        live_runs: scripted runs still playing.
        waiting_tool_calls: `tool_execute` calls whose run waits for a `tool_result` now.
        operations: known (not forgotten) operations.
        tasks: Trio tasks the gateway runs now (listeners, runs, and per connection its
            handler and the socket's reader, writer and auth-deadline tasks).
        accepted_total: handshakes completed since start, v1's and v2's.
        rejected_total: handshakes rejected (bad path, missing operationId or clientId,
            or the `MuxFaults.remove_endpoint` fault's 404).
        auth_timeouts_total: sockets closed (1008) for sending no `auth` in time.
        expired_auth_timeouts_total: sockets closed (1008) for not authenticating again
            in time after `auth_expired`.
        outbox_overflows_total: sockets closed (1008) because the client stopped
            reading and their outbox reached its bound (v1's and v2's).
        v2_sockets: open v2 sockets (ready or not; counted in `open_sockets` too).
        v2_users: users with at least one open v2 socket.
        v2_subscriptions: (v2 socket, operation) subscriptions live now.
        v2_executors: those of them that receive `tool_execute`.
        v2_refused_total: v2 upgrades closed with 4401 since start (a bad or expired
            user token, or the `reject_upgrades` fault).
    """

    open_sockets: int
    authenticated_sockets: int
    subscribed_sockets: int
    handshaking_connections: int
    held_connections: int
    queued_frames: int
    queued_chars: int
    live_runs: int
    waiting_tool_calls: int
    operations: int
    tasks: int
    accepted_total: int
    rejected_total: int
    auth_timeouts_total: int
    expired_auth_timeouts_total: int
    outbox_overflows_total: int
    v2_sockets: int
    v2_users: int
    v2_subscriptions: int
    v2_executors: int
    v2_refused_total: int


def gateway_statistics(
    registry: OperationRegistry, server: GatewayServer, nursery: trio.Nursery
) -> GatewayStatistics:
    """Count what `registry`, `server` and the tasks under `nursery` hold right now."""
    peers = registry.peers()
    operations = registry.operations
    hub = server.mux.hub.statistics()
    return GatewayStatistics(
        open_sockets=len(peers) + hub.sockets,
        authenticated_sockets=sum(1 for peer in peers if peer.authenticated),
        subscribed_sockets=sum(len(operation.subscribers) for operation in operations),
        handshaking_connections=server.handshaking,
        held_connections=server.held,
        queued_frames=sum(peer.queued_frames for peer in peers),
        queued_chars=sum(peer.queued_chars for peer in peers),
        live_runs=sum(1 for operation in operations if operation.run_scope is not None),
        waiting_tool_calls=sum(len(operation.pending_tools) for operation in operations),
        operations=len(operations),
        tasks=tasks_under(nursery),
        accepted_total=server.accepted + server.mux.accepted,
        rejected_total=server.rejected,
        auth_timeouts_total=server.closed_by[CloseCause.AUTH_TIMEOUT],
        expired_auth_timeouts_total=server.closed_by[CloseCause.EXPIRED_AUTH_TIMEOUT],
        outbox_overflows_total=server.closed_by[CloseCause.OUTBOX_OVERFLOW]
        + server.mux.closed_by[CloseCause.OUTBOX_OVERFLOW],
        v2_sockets=hub.sockets,
        v2_users=hub.users,
        v2_subscriptions=hub.subscriptions,
        v2_executors=hub.executors,
        v2_refused_total=server.mux.refused,
    )
