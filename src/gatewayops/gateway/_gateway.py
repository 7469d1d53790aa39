"""The in-process control API of the reference gateway.

Owns: `Gateway` (start runs, issue, refresh and renew tokens, interrupt, answer the agent,
hand out a run's message list, inspect status, events, interventions and statistics,
reach the fault switches and protocol v2's endpoint, `Gateway.v2`, close every socket
with 1001) and `RunHandle`; `open_gateway` (`_open_gateway`) makes one, and
`GatewayStatistics` is `_statistics`'s. The standalone runner behind
``gatewayops serve`` is `_standalone.run_gateway`.

`refresh_token` and `interrupt` stand in for upstream's tRPC ``refreshGatewayToken``
and ``aiAgent.interruptTask``, `submit_intervention` for the producer's answer endpoint
and `fetch_messages` for the authorised message-list fetch: they are what a client's
token-refresh, cancel, answer and refetch dependencies call.

Must not know: the client (`gatewayops.store`, `effects`, `transport`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import attrs
import trio

from gatewayops._secrets import get_logger
from gatewayops.exceptions import OperationNotFound
from gatewayops.gateway._answers import (
    Answer,
    InterventionOutcome,
    intervention_outcomes,
    submit_answer,
)
from gatewayops.gateway._operation_state import Operation, ToolOutcome
from gatewayops.gateway._patches import message_list
from gatewayops.gateway._scripts import Script, play
from gatewayops.gateway._server import GatewayServer
from gatewayops.gateway._statistics import GatewayStatistics, gateway_statistics
from gatewayops.gateway._tokens import (
    DEFAULT_TOKEN_TTL,
    InvalidToken,
)
from gatewayops.gateway._user_tokens import DEFAULT_USER
from gatewayops.gateway._v2_control import MuxGateway
from gatewayops.protocol import (
    AgentEventMessage,
    EventType,
    SessionStatus,
    operation_url,
    redacted,
)

__all__ = ["Gateway", "RunHandle"]

_log = get_logger("gatewayops.gateway")


@attrs.frozen(kw_only=True)
class RunHandle:
    """A started run: what a client needs to follow it.

    Attributes:
        operation_id: the operation id (the socket URL's `operationId`).
        topic_id: the topic the run is on (what `Gateway.refresh_token` takes).
        token: a fresh `auth` token for the operation (never shown in a repr).
        user_id: the user who owns it (whose v2 sockets may follow it).
    """

    operation_id: str
    topic_id: str
    token: str = attrs.field(repr=redacted)
    user_id: str = DEFAULT_USER


class Gateway:
    """A running reference gateway; get one from `open_gateway`.

    Attributes:
        url: the base URL, ``ws://HOST:PORT`` (pass it to `protocol.operation_url`).
        faults: the fault switches (see `Faults`).
        v2: the protocol v2 endpoint (``/v2/ws``): URLs, user tokens, its faults.
    """

    def __init__(self, *, url: str, nursery: trio.Nursery, server: GatewayServer) -> None:
        self.url = url
        self.faults = server.faults
        self.v2 = MuxGateway(base_url=url, endpoint=server.mux, registry=server.registry)
        self._nursery = nursery
        self._server = server
        self._registry = server.registry
        self._tokens = server.tokens
        self._operation_ids = itertools.count(1)
        self._topic_ids = itertools.count(1)

    def start_run(
        self,
        script: Script,
        *,
        topic_id: str | None = None,
        operation_id: str | None = None,
        token_ttl: float = DEFAULT_TOKEN_TTL,
        user_id: str = DEFAULT_USER,
    ) -> RunHandle:
        """Register an operation of `user_id` and start playing `script` on it now.

        Events published before any client connects are buffered for `resume`.

        Args:
            script: what the run emits.
            topic_id: its topic; ``"topic-N"`` if ``None``.
            operation_id: its id; ``"op-N"`` if ``None``.
            token_ttl: lifetime in seconds of the token in the handle.
            user_id: who owns the run (only their v2 sockets may subscribe to it).

        Raises:
            OperationAlreadyExists: `operation_id` is taken.
            ValueError: `token_ttl` would give an unusable `exp` (see `issue_token`).
        """
        topic_id = topic_id or f"topic-{next(self._topic_ids)}"
        operation_id = operation_id or f"op-{next(self._operation_ids)}"
        token = self.issue_token(topic_id, operation_id, token_ttl)
        operation = self._registry.create(operation_id, topic_id, user_id)
        operation.run_scope = trio.CancelScope()
        self._nursery.start_soon(self._play, operation, script, name=f"gateway run {operation_id}")
        _log.info("started %s (%s) on %s", operation_id, script.name, topic_id)
        return RunHandle(operation_id=operation_id, topic_id=topic_id, token=token, user_id=user_id)

    async def _play(self, operation: Operation, script: Script) -> None:
        assert operation.run_scope is not None
        try:
            with operation.run_scope:
                await play(self._registry, operation, script)
        finally:
            operation.run_scope = None
            operation.run_done.set()
            self._registry.notify()

    def issue_token(
        self, topic_id: str, operation_id: str, ttl_seconds: float = DEFAULT_TOKEN_TTL
    ) -> str:
        """A token for any topic and operation id, known or not (negative TTL: already expired).

        Raises:
            ValueError: ``now + ttl_seconds`` is not a finite epoch second from 0 to the end
                of year 9999 (the gateway would refuse such a token).
        """
        return self._tokens.issue(topic_id, operation_id, ttl_seconds)

    async def refresh_token(self, topic_id: str, ttl_seconds: float = DEFAULT_TOKEN_TTL) -> str:
        """A fresh token for the topic's current operation (``refreshGatewayToken(topicId)``).

        Raises:
            OperationNotFound: the topic has no operation, or it was forgotten.
            ValueError: `ttl_seconds` would give an unusable `exp` (see `issue_token`).
        """
        await trio.lowlevel.checkpoint()
        operation = self._registry.current_for_topic(topic_id)
        return self._tokens.issue(topic_id, operation.operation_id, ttl_seconds)

    def renew_token(self, token: str, ttl_seconds: float = DEFAULT_TOKEN_TTL) -> str:
        """A fresh token for the run `token` was issued for, expired or not (the endpoint).

        Raises:
            ValueError: `token` was not issued by this gateway (the reason says why).
            OperationNotFound: its run is unknown or was forgotten.
        """
        topic, op = self.token_run(token)
        return self._tokens.issue(topic, op, ttl_seconds)

    def token_run(self, token: str) -> tuple[str, str]:
        """The topic and the operation of the known run `token` was issued for, expired
        or not (what the HTTP endpoint authenticates with).

        Raises:
            ValueError: `token` was not issued by this gateway (the reason says why).
            OperationNotFound: its run is unknown or was forgotten.
        """
        check = self._tokens.check(token)
        if isinstance(check, InvalidToken):
            raise ValueError(check.reason)
        op, topic = check.claims.operation_id, check.claims.topic_id
        operation = self._registry.get(op)
        if operation is None or operation.topic_id != topic:
            raise OperationNotFound(f"operation {op!r} not found")
        return topic, op

    async def go_away(self) -> None:
        """Close every open socket with 1001 (going away); wait until all are closed."""
        await self._server.go_away()

    async def interrupt(self, operation_id: str, topic_id: str | None = None) -> bool:
        """Stop a run (``aiAgent.interruptTask``); it ends with reason ``"interrupted"``.

        Returns:
            Whether the run was still going (``False``: it had already ended).

        Raises:
            OperationNotFound: the operation is unknown, forgotten, or not on `topic_id`.
        """
        await trio.lowlevel.checkpoint()
        operation = self._registry.require(operation_id)
        if topic_id is not None and topic_id != operation.topic_id:
            raise OperationNotFound(f"operation {operation_id!r} is not on topic {topic_id!r}")
        if operation.ended:
            return False
        if operation.run_scope is not None:
            operation.run_scope.cancel()
        step = operation.events[-1].event.step_index if operation.events else 0
        return self._registry.finish(
            operation,
            event_type=EventType.AGENT_RUNTIME_END,
            data={"reason": "interrupted"},
            step_index=step,
            status=SessionStatus.INTERRUPTED,
        )

    async def submit_intervention(self, answer: Answer) -> None:
        """Give the agent the user's answer (or decline): what a client's
        ``submit_intervention`` dependency calls. The `Faults` answer switches apply.

        Raises:
            OperationNotFound: the operation is unknown or forgotten.
            InterventionRefused: nothing asks that tool call, its deadline passed, or
                another answer was taken.
        """
        await submit_answer(self._registry, self.faults, answer)

    def intervention_outcomes(self, operation_id: str) -> tuple[InterventionOutcome, ...]:
        """How each of the agent's requests for the user ended, in order (`offers`
        counts the answers that reached it, repeats included).

        Raises:
            OperationNotFound: the operation is unknown or forgotten.
        """
        return intervention_outcomes(self._registry.require(operation_id))

    def messages(self, operation_id: str) -> dict[str, Any]:
        """The run's message list and the `message_patch` revision it stands at:
        ``{"messages": [...], "revision": n}`` (a copy).

        Raises:
            OperationNotFound: the operation is unknown or forgotten.
        """
        return message_list(self._registry.require(operation_id))

    async def fetch_messages(self, operation_id: str, topic_id: str | None = None) -> Any:
        """`messages`, as a client's ``fetch_messages`` dependency calls it.

        Raises:
            OperationNotFound: the operation is unknown or forgotten.
        """
        await trio.lowlevel.checkpoint()
        return self.messages(operation_id)

    def operation_status(self, operation_id: str) -> SessionStatus:
        """The persisted status `resume_complete` would report.

        Raises:
            OperationNotFound: the operation is unknown or forgotten.
        """
        return self._registry.require(operation_id).status

    def events(self, operation_id: str) -> tuple[AgentEventMessage, ...]:
        """The operation's buffered events, oldest first (empty after hibernation).

        Raises:
            OperationNotFound: the operation is unknown or forgotten.
        """
        return self._registry.require(operation_id).events

    def tool_outcomes(self, operation_id: str) -> tuple[ToolOutcome, ...]:
        """How each finished `tool_execute` wait of the operation ended, in order.

        Raises:
            OperationNotFound: the operation is unknown or forgotten.
        """
        return tuple(self._registry.require(operation_id).tool_outcomes)

    def operation_url(self, operation_id: str) -> str:
        """The v1 socket URL of `operation_id` on this gateway."""
        return operation_url(self.url, operation_id)

    async def wait_finished(self, operation_id: str) -> SessionStatus:
        """Wait until the operation's run task has stopped; returns the final status.

        Raises:
            OperationNotFound: the operation is unknown or forgotten.
        """
        operation = self._registry.require(operation_id)
        await operation.run_done.wait()
        return operation.status

    def statistics(self) -> GatewayStatistics:
        """What the gateway holds open right now.

        A closed connection's handler task ends just after its socket leaves
        `open_sockets`; compare `tasks` once the test's tasks are idle
        (``trio.testing.wait_all_tasks_blocked()``).
        """
        return gateway_statistics(self._registry, self._server, self._nursery)

    async def wait_statistics(
        self, predicate: Callable[[GatewayStatistics], bool]
    ) -> GatewayStatistics:
        """Wait, without polling, until `predicate(self.statistics())` holds; returns it."""
        while True:
            current = self.statistics()
            if predicate(current):
                return current
            await self._registry.wait_changed()

    def __repr__(self) -> str:
        return f"Gateway(url={self.url!r})"
