"""Fault injection for the reference gateway: every upstream bug, on demand.

Owns: `Faults`, the switchboard a test flips to make the gateway misbehave the way real
deployments did (PROTOCOL.md section 10): tokens expiring mid-run, operations being
garbage-collected, sockets dropping, handshakes black-holed, `auth` never answered,
heartbeats never acked, durable objects hibernating, malformed or oversized frames, a
group member's terminal mirrored onto its supervisor with an echo `session_complete`,
the user's answers to the agent lost, late or duplicated on their way, and
`message_patch` revisions that never arrive (a gap the client must fetch past).

The connection-level switches (`take_blackhole`, `take_ignore_auth`, `acks_heartbeat`)
are read by the server for each new socket or frame; the rest act at once through the
registry and the sockets' `Peer` interface.

Must not know: WebSockets or JWT internals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gatewayops._secrets import get_logger
from gatewayops.gateway._operations import OperationRegistry
from gatewayops.gateway._tokens import TokenAuthority
from gatewayops.protocol import (
    DEFAULT_MAX_FRAME_CHARS,
    EventType,
    SessionStatus,
)

if TYPE_CHECKING:  # `_v2_faults` builds on `Quota`, defined here
    from gatewayops.gateway._v2_faults import MuxFaults

__all__ = ["Faults", "Quota"]

_log = get_logger("gatewayops.gateway")

_MIRRORED_STATUS = {"error": SessionStatus.ERROR, "interrupted": SessionStatus.INTERRUPTED}


class Quota:
    """ "The next N" (or "every", when N is ``None``) until cleared: the shape of every
    counted fault switch, v2's (`_v2_faults`) included."""

    def __init__(self) -> None:
        self._remaining: int | None = 0

    def arm(self, count: int | None) -> None:
        if count is not None and count < 0:
            raise ValueError(f"count: expected a non-negative number or None, got {count}")
        self._remaining = count

    def take(self) -> bool:
        if self._remaining is None:
            return True
        if self._remaining == 0:
            return False
        self._remaining -= 1
        return True


class Faults:
    """Switches that make one gateway misbehave; reach it as `Gateway.faults`.

    Every method that targets an operation raises `OperationNotFound` when the operation
    is unknown or was forgotten, except those that only touch sockets.

    Args:
        registry: the gateway's operations and sockets.
        tokens: the gateway's token authority.
        v2: the v2 endpoint's switches, which `clear` turns off too.
    """

    def __init__(self, registry: OperationRegistry, tokens: TokenAuthority, v2: MuxFaults) -> None:
        self._registry = registry
        self._tokens = tokens
        self._v2 = v2
        self._blackhole = Quota()
        self._ignore_auth = Quota()
        self._heartbeat_acks_off: set[str] = set()
        self._heartbeat_acks_off_everywhere = False
        self._lose_answers = Quota()
        self._duplicate_answers = Quota()
        self.answer_delay = 0.0
        """Seconds each answer takes to reach the agent (see `delay_answers`)."""

    # ------------------------------------------------------------------ tokens and lifetime

    def expire_tokens(self, operation_id: str) -> int:
        """Make every token issued so far for the operation count as expired from now on.

        Its authenticated sockets are told `auth_expired` at once and stop receiving
        events; the next `auth` with one of those tokens gets `auth_expired` too. A token
        from `Gateway.refresh_token` afterwards is valid again. A socket told so that does
        not authenticate again within the gateway's `expired_auth_timeout` is closed (1008).

        Returns:
            How many sockets were told `auth_expired`.
        """
        operation = self._registry.require(operation_id)
        operation.tokens_expired_through = self._tokens.last_generation
        told = [peer for peer in self._registry.peers(operation_id) if peer.authenticated]
        for peer in told:
            peer.expire()
        _log.info("fault: tokens of %s expired (%d sockets told)", operation_id, len(told))
        return len(told)

    def forget(self, operation_id: str) -> None:
        """Garbage-collect the operation: its run stops silently, its state is gone.

        Later `auth` frames get `auth_failed{reason:"operation not found"}`, a `resume` on
        a socket that is still open gets the same, and `Gateway.refresh_token` raises
        `OperationNotFound`. Open sockets are not closed: they just hear nothing more.
        """
        operation = self._registry.forget(operation_id)
        if operation.run_scope is not None:
            operation.run_scope.cancel()
        _log.info("fault: %s forgotten", operation_id)

    def skip_patches(self, operation_id: str, count: int = 1) -> None:
        """Do not send the operation's next `count` `message_patch` revisions: each is
        counted and applied to the server's list, so the next one sent (or the
        patch-mode end) shows the client a gap (PROTOCOL.md 7.8).

        Raises:
            ValueError: `count` is negative.
        """
        if count < 0:
            raise ValueError(f"count: expected a non-negative number, got {count}")
        self._registry.require(operation_id).patches_to_skip += count
        _log.info("fault: %s skips its next %d message patches", operation_id, count)

    def hibernate(self, operation_id: str) -> int:
        """Lose the operation's event buffer, keeping its status and its id counter.

        A later `resume` replays nothing (or only events published after this call) and
        `resume_complete` still reports the true status; new ids continue the sequence.

        Returns:
            How many buffered events were lost.
        """
        dropped = self._registry.require(operation_id).drop_buffer()
        _log.info("fault: %s hibernated (%d buffered events lost)", operation_id, dropped)
        return dropped

    # ------------------------------------------------------------------ sockets

    def drop_sockets(self, operation_id: str) -> int:
        """Close every open socket of the operation at the TCP level, with no close frame.

        Clients see an abnormal closure (1006) and should reconnect and resume.

        Returns:
            How many sockets were dropped.
        """
        peers = self._registry.peers(operation_id)
        for peer in peers:
            peer.abort()
        _log.info("fault: dropped %d sockets of %s", len(peers), operation_id)
        return len(peers)

    def blackhole_handshakes(self, count: int | None = 1) -> None:
        """Accept the next `count` TCP connections (``None``: all) but never answer the handshake.

        The held connections are released only when the client closes them or the
        gateway shuts down; a correct client's connect watchdog gives up and retries.
        """
        self._blackhole.arm(count)

    def clear_blackhole(self) -> None:
        """Answer handshakes normally again (already held connections stay held)."""
        self._blackhole.arm(0)

    def ignore_auth(self, count: int | None = 1) -> None:
        """The next `count` sockets (``None``: all) open normally but never get an `auth` answer.

        Having sent `auth`, such a socket is not closed by the gateway's `auth_timeout`.
        """
        self._ignore_auth.arm(count)

    def clear_ignore_auth(self) -> None:
        """Answer `auth` on new sockets again."""
        self._ignore_auth.arm(0)

    def stop_heartbeat_acks(self, operation_id: str | None = None) -> None:
        """Stop answering `heartbeat` on the operation's sockets (``None``: on every socket)."""
        if operation_id is None:
            self._heartbeat_acks_off_everywhere = True
        else:
            self._heartbeat_acks_off.add(operation_id)

    def resume_heartbeat_acks(self) -> None:
        """Answer every `heartbeat` again."""
        self._heartbeat_acks_off_everywhere = False
        self._heartbeat_acks_off.clear()

    # ------------------------------------------------------------------ frames

    def send_malformed_frame(
        self, operation_id: str, text: str = '{"type": "agent_event", '
    ) -> int:
        """Send a text frame that is not JSON to the operation's authenticated sockets.

        A correct client logs it and keeps the socket.

        Returns:
            How many sockets it was sent to.
        """
        return self._send_to_authenticated(operation_id, text)

    def send_oversized_frame(
        self, operation_id: str, chars: int = DEFAULT_MAX_FRAME_CHARS + 1
    ) -> int:
        """Send a well-formed `heartbeat_ack` padded to `chars` characters.

        Only its size is wrong, so a client that skips its size check would take it as a
        plain `heartbeat_ack`.

        Returns:
            How many sockets it was sent to.
        """
        head = '{"type":"heartbeat_ack","padding":"'
        tail = '"}'
        frame = head + "x" * max(0, chars - len(head) - len(tail)) + tail
        return self._send_to_authenticated(operation_id, frame)

    def _send_to_authenticated(self, operation_id: str, frame: str) -> int:
        peers = [peer for peer in self._registry.peers(operation_id) if peer.authenticated]
        return self._registry.broadcast(peers, frame)

    def mirror_member_terminal(
        self,
        operation_id: str,
        *,
        member_operation_id: str | None = None,
        reason: str | None = None,
        leave_status: bool = True,
    ) -> str | None:
        """Mirror a group member's `agent_runtime_end` onto a supervisor, as old gateways did.

        Publishes (buffered, with the next id) an `agent_runtime_end` whose
        `event.operationId` is the member's, then sends the supervisor's subscribers an
        echo `session_complete`. The supervisor's run keeps going. With `leave_status`
        the supervisor's persisted status also becomes the status the member's end
        leaves, so a later `resume_complete` reports it (stale) until the supervisor's
        own end overwrites it.

        Args:
            operation_id: the supervisor operation.
            member_operation_id: the member's id; ``"<operation_id>-member"`` if ``None``.
            reason: the member end's `data.reason` (``None`` = clean completion).
            leave_status: whether to leave the stale terminal status behind.

        Returns:
            The envelope id of the mirrored event, or ``None`` if the supervisor had
            already ended.
        """
        operation = self._registry.require(operation_id)
        member = member_operation_id or f"{operation_id}-member"
        data = {} if reason is None else {"reason": reason}
        message = self._registry.publish(
            operation, EventType.AGENT_RUNTIME_END, data, 0, event_operation_id=member
        )
        if message is None:
            return None
        self._registry.complete_session(operation)
        if leave_status:
            status = _MIRRORED_STATUS.get(reason or "", SessionStatus.COMPLETED)
            self._registry.set_status(operation, status)
        _log.info("fault: mirrored terminal of %s onto %s", member, operation_id)
        return message.id

    # ------------------------------------------------------------------ answers

    def lose_answers(self, count: int | None = 1) -> None:
        """The next `count` answers (``None``: all) are accepted but never reach the agent:
        the submission succeeds, the agent waits on until its deadline."""
        self._lose_answers.arm(count)

    def duplicate_answers(self, count: int | None = 1) -> None:
        """The next `count` answers (``None``: all) reach the agent twice (a retried
        delivery): the agent takes one and acknowledges the repeat again."""
        self._duplicate_answers.arm(count)

    def delay_answers(self, seconds: float) -> None:
        """Every answer takes `seconds` of Trio time to reach the agent; one that arrives
        after its deadline is refused (0 turns this off).

        Raises:
            ValueError: `seconds` is negative or not finite.
        """
        if not 0 <= seconds < float("inf"):
            raise ValueError(f"seconds: expected a finite number >= 0, got {seconds}")
        self.answer_delay = seconds

    def take_lost_answer(self) -> bool:
        """Whether the answer being delivered now is lost (uses one)."""
        return self._lose_answers.take()

    def take_duplicate_answer(self) -> bool:
        """Whether the answer being delivered now arrives twice (uses one)."""
        return self._duplicate_answers.take()

    # ------------------------------------------------------------------ read by the server

    def take_blackhole(self) -> bool:
        """Whether the connection being accepted now must be black-holed (uses one)."""
        return self._blackhole.take()

    def take_ignore_auth(self) -> bool:
        """Whether the socket being opened now must never be answered `auth` (uses one)."""
        return self._ignore_auth.take()

    def acks_heartbeat(self, operation_id: str) -> bool:
        """Whether a `heartbeat` on a socket of `operation_id` gets its `heartbeat_ack`."""
        return (
            not self._heartbeat_acks_off_everywhere and operation_id not in self._heartbeat_acks_off
        )

    def clear(self) -> None:
        """Turn off every lasting switch (black-hole, ignore-auth, heartbeat acks, answers),
        and every one of the v2 endpoint's (`MuxFaults.clear`)."""
        self._v2.clear()
        self.clear_blackhole()
        self.clear_ignore_auth()
        self.resume_heartbeat_acks()
        self._lose_answers.arm(0)
        self._duplicate_answers.arm(0)
        self.answer_delay = 0.0

    def __repr__(self) -> str:
        return "Faults()"
