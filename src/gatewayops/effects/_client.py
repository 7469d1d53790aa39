"""The public face of the runtime: the `Client` that `open_client` yields.

Owns: the application API (start, attach, stop, detach, update_token, reconnect, forget,
answer, decline, dispatch, subscribe), the ways to wait for an operation
(`wait_finished`, and `changes`, whose iterator is `_changes.OperationChanges`),
`statistics()`, the debug mode that checks every step (`check_invariants`), and closing.
Misuse errors from the reducer (`LocalUsageError` subclasses) reach the caller; after
closing, every method that would act raises `ClientClosed`. The methods that take
several strings (`start`, `attach`, `update_token`'s token) take them by keyword only,
since swapped ids and tokens would be accepted silently: a call by position raises
`KeywordArgumentsRequired`, whose message shows the keyword form (`_keyword_only`).
Tokens passed in are never logged (actions redact them in their repr). Must not know:
how resources and effects are carried out (that is `_runtime`), or the wire protocol.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Callable
from typing import Any

import attrs

from gatewayops.effects._changes import OperationChanges
from gatewayops.effects._keyword_only import by_keyword
from gatewayops.effects._runtime import Runtime
from gatewayops.exceptions import ClientClosed, UnknownOperation
from gatewayops.store import (
    Action,
    GatewayState,
    InterventionAnswered,
    InterventionDeclined,
    InvariantWatch,
    LinkConnectRequested,
    LinkDisconnectRequested,
    Listener,
    NetworkRestored,
    OperationAttached,
    OperationDetached,
    OperationForgotten,
    OperationStarted,
    Outcome,
    ReconnectRequested,
    StopRequested,
    TokenReplaced,
    Violation,
)

__all__ = ["Client", "ClientStatistics"]


@attrs.frozen(kw_only=True)
class ClientStatistics:
    """What the runtime holds right now (all zero once everything finished or closed).

    Attributes:
        open_sockets: socket resources that exist (connecting, open, or in use).
        closing_sockets: sockets removed from the state whose close is still running.
        armed_timers: timers waiting to fire.
        running_effect_tasks: token refreshes, interrupts and tools in progress (an
            operation's are cancelled when it finishes), and fetches of the server's
            message list (which may outlive their operation).
        live_operations: operations that have not finished (running or detached).
        background_tasks: child tasks of the client's nursery.
    """

    open_sockets: int
    closing_sockets: int
    armed_timers: int
    running_effect_tasks: int
    live_operations: int
    background_tasks: int


class Client:
    """Follows gateway operations; made by `open_client`, usable only inside it."""

    def __init__(self, runtime: Runtime, watch: InvariantWatch | None = None) -> None:
        self._runtime = runtime
        self._watch = watch
        self._changes: weakref.WeakSet[OperationChanges] = weakref.WeakSet()

    @property
    def invariant_violations(self) -> tuple[Violation, ...]:
        """What the invariant checker found so far (always empty unless the client was
        opened with ``check_invariants=True``)."""
        return () if self._watch is None else tuple(self._watch.violations)

    @property
    def state(self) -> GatewayState:
        """The current state (plain frozen data; see `gatewayops.store` selectors)."""
        return self._runtime.store.state

    def dispatch(self, action: Action) -> None:
        """Reduce `action` now and carry out its effects (synchronous).

        Called from a listener during another dispatch, the action is queued and run
        right after it; misuse errors of a queued action are logged, not raised.

        Raises:
            LocalUsageError: the reducer refused an application action.
            ClientClosed: the client was closed.
        """
        if self._runtime.closed:
            raise ClientClosed("the client is closed")
        self._runtime.dispatch(action)

    @by_keyword
    def start(
        self,
        *,
        operation_id: str,
        topic_id: str,
        gateway_url: str,
        token: str = "",
        executor: bool = True,
    ) -> None:
        """Follow a new run from its first event.

        `token` is the run's JWT, required on v1; on v2 the user token authenticates and
        this one serves a fallback to v1 ("" asks `refresh_token` for one then).
        `executor`: this client runs the run's client-side tools (v2 subscribes as the
        executor; the hub sends `tool_execute` only to an executor).

        Raises:
            KeywordArgumentsRequired: the arguments were passed by position.
            OperationAlreadyExists: the operation id is already known.
            TopicBusy: another running operation holds the topic.
            InvalidGatewayUrl: the gateway URL is empty or has a wrong scheme.
            TokenRequired: protocol v1 and no token.
        """
        self.dispatch(
            OperationStarted(
                operation_id=operation_id,
                topic_id=topic_id,
                gateway_url=gateway_url,
                token=token,
                executor=executor,
            )
        )

    @by_keyword
    def attach(
        self,
        *,
        operation_id: str,
        topic_id: str,
        gateway_url: str,
        token: str = "",
        last_event_id: str = "",
        executor: bool = True,
    ) -> None:
        """Follow an operation that is already running (reload, revisit, second device).

        With no `last_event_id` the replay is buffered, deduplicated and shown in order
        (on v2 the hub replays in order and ids seen are dropped). `token` and
        `executor` as for `start`.

        Raises:
            KeywordArgumentsRequired: the arguments were passed by position.
            OperationFinished: the operation already finished.
            TopicBusy: another running operation holds the topic.
            InvalidGatewayUrl: the gateway URL is empty or has a wrong scheme.
        """
        self.dispatch(
            OperationAttached(
                operation_id=operation_id,
                topic_id=topic_id,
                gateway_url=gateway_url,
                token=token,
                last_event_id=last_event_id,
                executor=executor,
            )
        )

    def stop(self, operation_id: str) -> None:
        """Ask the server to interrupt the run; it ends once the interrupt is confirmed.

        Raises:
            UnknownOperation: no such operation.
        """
        self.dispatch(StopRequested(operation_id=operation_id))

    def detach(self, operation_id: str) -> None:
        """Stop following the operation without finishing it (its socket closes).

        Raises:
            UnknownOperation: no such operation.
        """
        self.dispatch(OperationDetached(operation_id=operation_id))

    @by_keyword
    def update_token(self, operation_id: str, *, token: str) -> None:
        """Use `token` for the operation's next `auth` frame (nothing is sent now).

        Pair it with `reconnect` to authenticate with it at once.

        Raises:
            KeywordArgumentsRequired: the token was passed by position.
            UnknownOperation: no such operation.
        """
        self.dispatch(TokenReplaced(operation_id=operation_id, token=token))

    def reconnect(self, operation_id: str) -> None:
        """Close the operation's socket and dial a new one now, from the same cursor.

        One socket at a time; the backoff starts again; no event is shown twice. A
        detached operation (also one that lost its socket with `auto_reconnect` off)
        is followed again.

        Raises:
            UnknownOperation: no such operation.
            OperationFinished: the operation already finished.
        """
        self.dispatch(ReconnectRequested(operation_id=operation_id))

    def network_restored(self) -> None:
        """The network came back (a browser's ``online``, a window shown again): every
        link waiting out a backoff dials now, with its backoff started again. Call it
        from the platform's own signal; it is cheap when nothing waits."""
        self.dispatch(NetworkRestored())

    def disconnect(self, *, gateway_url: str) -> None:
        """Close the user's v2 socket to `gateway_url` on purpose (PROTOCOL.md 7.6): no
        redial, no backoff, ``network_restored`` leaves it be, and a user token still
        being fetched for it is dropped. Every run it carries keeps going, shown
        disconnected, with its cursor and its queued tool results (their deadlines
        still apply); a run started meanwhile waits too. `connect` undoes it.

        Raises:
            ProtocolV2Required: the client speaks protocol v1.
            InvalidGatewayUrl: the gateway URL is not a gateway's base URL.
        """
        self.dispatch(LinkDisconnectRequested(gateway_url=gateway_url))

    def connect(self, *, gateway_url: str) -> None:
        """Dial the user's v2 socket to `gateway_url` again after `disconnect` (with a
        fresh user token); on ``ready`` every run subscribes from its own cursor, so the
        hub replays only what came after it. Does nothing if it was not disconnected.

        Raises:
            ProtocolV2Required: the client speaks protocol v1.
        """
        self.dispatch(LinkConnectRequested(gateway_url=gateway_url))

    def forget(self, operation_id: str) -> None:
        """Drop a finished operation from the state now (its outcome, transcript, link).

        Finished operations are also forgotten by themselves, oldest first, past
        `StoreConfig.retain_finished`. Later news for a forgotten operation is ignored.

        Raises:
            UnknownOperation: no such operation (never known, or already forgotten).
            OperationNotFinished: the operation is running or detached.
        """
        self.dispatch(OperationForgotten(operation_id=operation_id))

    def answer(
        self,
        *,
        operation_id: str,
        tool_call_id: str,
        result: Any,
        resolution_request_id: str | None = None,
    ) -> str:
        """Answer the agent's intervention `tool_call_id` with `result` (a JSON value).

        The answer is submitted once, identified by `resolution_request_id` (minted
        here when not given); answering again with the same id changes nothing. If the
        submission fails, the intervention is pending again (its `submit_error` says
        why) and may be answered again until its deadline.

        Returns:
            The answer's resolution request id.

        Raises:
            UnknownOperation: no such operation.
            UnknownIntervention: the operation never asked about `tool_call_id`.
            InterventionClosed: the intervention ended, or another answer is resolving.
        """
        resolution = resolution_request_id or uuid.uuid4().hex
        self.dispatch(
            InterventionAnswered(
                operation_id=operation_id,
                tool_call_id=tool_call_id,
                resolution_request_id=resolution,
                result=result,
            )
        )
        return resolution

    def decline(
        self, *, operation_id: str, tool_call_id: str, resolution_request_id: str | None = None
    ) -> str:
        """Decline the agent's intervention (the producer hears `user_cancelled`).

        As `answer`, without a result: idempotent through its resolution request id.

        Returns:
            The decline's resolution request id.

        Raises:
            UnknownOperation: no such operation.
            UnknownIntervention: the operation never asked about `tool_call_id`.
            InterventionClosed: the intervention ended, or another answer is resolving.
        """
        resolution = resolution_request_id or uuid.uuid4().hex
        self.dispatch(
            InterventionDeclined(
                operation_id=operation_id,
                tool_call_id=tool_call_id,
                resolution_request_id=resolution,
            )
        )
        return resolution

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(old_state, new_state, action)`` after every dispatch.

        A listener that raises is logged and the others still run. Returns a function
        that unsubscribes.
        """
        return self._runtime.store.subscribe(listener)

    async def wait_finished(self, operation_id: str) -> Outcome:
        """Wait until the operation finished and its sockets are closed; its outcome.

        Returns at once if that is already the case. The outcome is returned even if
        the store forgets the operation (past its retention) while this waits.

        Raises:
            UnknownOperation: no such operation (never known, or already forgotten).
            ClientClosed: the client closed before the operation finished.
        """
        if operation_id not in self.state.operations:
            raise UnknownOperation(f"no operation {operation_id!r} is known to the store")
        outcome = await self._runtime.wait_settled(operation_id)
        if outcome is None:
            raise ClientClosed(f"the client closed before operation {operation_id!r} finished")
        return outcome

    def changes(self, operation_id: str) -> OperationChanges:
        """Snapshots of the operation as it changes, ending after it finishes.

        Raises:
            UnknownOperation: no such operation.
        """
        op = self.state.operations.get(operation_id)
        if op is None:
            raise UnknownOperation(f"no operation {operation_id!r} is known to the store")
        changes = OperationChanges(self, operation_id, op)
        if self._runtime.closed:
            changes.close()
        self._changes.add(changes)
        return changes

    def statistics(self) -> ClientStatistics:
        """Counts of what the runtime holds (live_operations is O(operations))."""
        held = self._runtime.statistics()
        return ClientStatistics(
            open_sockets=held.open_sockets,
            closing_sockets=held.closing_sockets,
            armed_timers=held.armed_timers,
            running_effect_tasks=held.running_effect_tasks,
            live_operations=sum(1 for op in self.state.operations.values() if not op.is_finished),
            background_tasks=held.background_tasks,
        )

    def _shutdown(self) -> None:
        self._runtime.shutdown()
        for changes in list(self._changes):
            changes.close()

    async def aclose(self) -> None:
        """Close every socket (code 1000), cancel every timer and effect, and wait.

        Afterwards no task of the client runs. Idempotent.
        """
        self._shutdown()
        await self._runtime.aclose()
