"""Fault injection for the reference gateway's protocol v2 endpoint.

Owns: `MuxFaults`, the switches that make ``/v2/ws`` misbehave as a real hub can (the
faults the client's reconnect, auth and fallback rules of PROTOCOL.md 7.6 exist for):
4401 storms (upgrades closed 4401 although the token is good), an old worker with no
v2 at all (``/v2/ws`` answered HTTP 404, #19557), a link that never says `ready`, a
link drop while it carries live subscriptions, a user token service that fails (it
raises `UserTokenUnavailable`), heartbeats left unacked, a watchdog that changes a
run's status without an event, and subscribes answered as still pending.

The per-socket switches (`take_missing_endpoint`, `take_rejected_upgrade`,
`take_withheld_ready`, `acks_heartbeat`) are read by the server's handshake and the v2
socket as it opens or gets a heartbeat; the rest act at once. `clear` (which
`Faults.clear` calls too) turns off every lasting switch. Must not know: WebSockets or
JWT internals.
"""

from __future__ import annotations

from typing import Literal

from gatewayops._secrets import get_logger
from gatewayops.gateway._faults import Quota
from gatewayops.gateway._hub import Hub
from gatewayops.gateway._operations import OperationRegistry
from gatewayops.protocol import SessionStatus

__all__ = ["AuthCloseReason", "MuxFaults"]

_log = get_logger("gatewayops.gateway")

AuthCloseReason = Literal["auth_expired", "auth_failed"]
"""The reason of a 4401 close (PROTOCOL.md 7.1)."""


class MuxFaults:
    """Switches that make one gateway's v2 endpoint misbehave; reach it as
    `Gateway.v2.faults`.

    Args:
        registry: the gateway's operations.
        hub: the gateway's v2 hub.
    """

    def __init__(self, registry: OperationRegistry, hub: Hub) -> None:
        self._registry = registry
        self._hub = hub
        self._rejected_upgrades = Quota()
        self._missing_endpoint = Quota()
        self._reject_reason: AuthCloseReason = "auth_expired"
        self._withheld_ready = Quota()
        self._failed_tokens = Quota()
        self._heartbeat_acks_off = False

    # ------------------------------------------------------------------ the upgrade

    def reject_upgrades(
        self, count: int | None = 1, *, reason: AuthCloseReason = "auth_expired"
    ) -> None:
        """Close the next `count` v2 upgrades (``None``: all) with 4401 and `reason`,
        whatever their token says: a storm of auth failures in a row.

        Raises:
            ValueError: `count` is negative.
        """
        self._rejected_upgrades.arm(count)
        self._reject_reason = reason

    def remove_endpoint(self, count: int | None = None) -> None:
        """Answer the next `count` v2 upgrades (``None``: all, until cleared) with HTTP 404,
        as an old worker that has no ``/v2/ws`` (#19557): a refusal no retry can overcome,
        so a client falls back to v1 (or gives up) at once.

        Raises:
            ValueError: `count` is negative.
        """
        self._missing_endpoint.arm(count)

    def withhold_ready(self, count: int | None = 1) -> None:
        """The next `count` v2 sockets (``None``: all) open but never say `ready`; the hub
        ignores what they send (no `heartbeat_ack` either) until the client gives up.

        Raises:
            ValueError: `count` is negative.
        """
        self._withheld_ready.arm(count)

    def fail_user_tokens(self, count: int | None = 1) -> None:
        """The next `count` calls of the user token service (``None``: all) raise
        `gatewayops.exceptions.UserTokenUnavailable`.

        Raises:
            ValueError: `count` is negative.
        """
        self._failed_tokens.arm(count)

    def answer_pending(self, count: int | None = 1) -> None:
        """Answer the next `count` subscribes (``None``: all) with `resume_complete{pending:
        true}`, as a hub whose operation is not initialised yet: no replay, and the stored
        status (which may be a stale terminal one). The subscription is live all the same.

        Raises:
            ValueError: `count` is negative.
        """
        self._hub.pending_subscribes.arm(count)

    # ------------------------------------------------------------------ live sockets

    def drop_links(self, user_id: str | None = None) -> tuple[int, int]:
        """Drop every v2 socket of `user_id` (``None``: of every user) at the TCP level,
        with no close frame; the client sees 1006 and must resubscribe each operation.

        Returns:
            How many sockets were dropped, and how many live subscriptions they carried.
        """
        peers = self._hub.peers(user_id)
        subscriptions = sum(len(self._hub.subscriptions_of(peer)) for peer in peers)
        for peer in peers:
            peer.abort()
        _log.info("fault: dropped %d v2 sockets (%d subscriptions)", len(peers), subscriptions)
        return len(peers), subscriptions

    def stop_heartbeat_acks(self) -> None:
        """Stop answering `heartbeat` on every v2 socket."""
        self._heartbeat_acks_off = True

    def change_status(self, operation_id: str, status: SessionStatus) -> None:
        """Persist `status` as a watchdog does, with no event: subscribers get only a
        `status_change`. A terminal status ends the run (it publishes nothing more).

        Raises:
            OperationNotFound: the operation is unknown or was forgotten.
        """
        operation = self._registry.require(operation_id)
        if status.is_terminal:
            operation.ended = True
            if operation.run_scope is not None:
                operation.run_scope.cancel()
        self._registry.set_status(operation, status)
        self._registry.notify()
        _log.info("fault: %s set to %s without an event", operation_id, status.value)

    # ------------------------------------------------------------------ read by the endpoint

    def take_missing_endpoint(self) -> bool:
        """Whether the v2 upgrade being answered now gets HTTP 404 (uses one)."""
        return self._missing_endpoint.take()

    def take_rejected_upgrade(self) -> AuthCloseReason | None:
        """The 4401 reason the upgrade being answered now gets, or None (uses one)."""
        return self._reject_reason if self._rejected_upgrades.take() else None

    def take_withheld_ready(self) -> bool:
        """Whether the socket opening now must never say `ready` (uses one)."""
        return self._withheld_ready.take()

    def take_failed_token(self) -> bool:
        """Whether the user token asked for now is refused (uses one)."""
        return self._failed_tokens.take()

    @property
    def acks_heartbeat(self) -> bool:
        """Whether a v2 `heartbeat` gets its `heartbeat_ack`."""
        return not self._heartbeat_acks_off

    def clear(self) -> None:
        """Turn off every lasting switch (rejected upgrades, a missing endpoint, withheld
        ready, failing tokens, pending subscribes, unacked heartbeats)."""
        self._rejected_upgrades.arm(0)
        self._missing_endpoint.arm(0)
        self._withheld_ready.arm(0)
        self._failed_tokens.arm(0)
        self._hub.pending_subscribes.arm(0)
        self._heartbeat_acks_off = False

    def __repr__(self) -> str:
        return "MuxFaults()"
