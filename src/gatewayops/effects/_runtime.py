"""The engine that makes the pure store live on Trio.

Owns: synchronous `dispatch` and the runtime's step, four plain lines (`_step`):

1. reduce: the Store applies the action (pure; the next state and the effects);
2. reconcile: the sockets and timers follow the state (`_reconcile.Resources`);
3. publish: middleware (a recorder) and listeners hear of the step;
4. carry out the effects.

A dispatch made during another is queued and run right after it, in order. Owns too
the tasks that carry out effects, each in its own `trio.CancelScope` (cancelled when
their operation finishes, except a fetch of the server's message list), the runtime's
nursery bookkeeping, `wait_finished`'s waiters, `statistics()`, and shutdown. Per
dispatch the cost depends on one operation, never on how many exist.

Ordering rules that matter (PROTOCOL.md invariant 3): sockets close before anyone
hears of a finish (reconcile comes before publish and effects); `wait_finished`
additionally waits until the finished operation's socket tasks have closed (a v2
session's socket is the user's: it is not waited for).

No failure leaves a run open (PROTOCOL.md 11.24): if reconciling or carrying out the
effects of an action raises, or an effect task fails unexpectedly, the error is logged
and `HandlingFailed` ends the operation as failed. Must not know: what the actions mean
(that is the reducer's business), how sockets and timers are carried out, or which
transport is used.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import assert_never

import attrs
import trio

from gatewayops._secrets import get_logger
from gatewayops.effects._handlers import (
    FetchMessagesFn,
    InterruptFn,
    RefreshTokenFn,
    SubmitInterventionFn,
    ToolHandler,
    UserTokenFn,
    execute_tool,
    fetch_messages,
    refresh_token,
    request_interrupt,
    submit_intervention,
)
from gatewayops.effects._reconcile import Resources
from gatewayops.exceptions import LocalUsageError
from gatewayops.store import (
    Action,
    Effect,
    ExecuteTool,
    FetchMessages,
    GatewayState,
    HandlingFailed,
    Middleware,
    NotifyFinished,
    Outcome,
    RefreshToken,
    RequestInterrupt,
    SendFailed,
    SendMessage,
    Store,
    StoreConfig,
    SubmitIntervention,
    concerned,
    internal_error_detail,
)
from gatewayops.transport import Transport

__all__ = ["Runtime", "RuntimeStatistics"]

logger = get_logger("gatewayops.effects")


class _Waiter:
    """The `wait_finished` callers of one operation: its link, and its outcome once
    notified (kept here, as the store may forget the operation before its socket
    tasks have exited)."""

    __slots__ = ("event", "link_id", "outcome", "own_link")

    def __init__(self, link_id: str, outcome: Outcome | None, own_link: bool) -> None:
        self.event = trio.Event()
        self.link_id = link_id
        self.outcome = outcome
        self.own_link = own_link
        """False for a v2 session: its sockets are the user's, not waited for."""


@attrs.frozen(kw_only=True)
class RuntimeStatistics:
    """What the runtime holds right now.

    Attributes:
        open_sockets: socket resources that exist (connecting, open, or in use).
        closing_sockets: sockets removed from the state whose close is still running.
        armed_timers: timers waiting to fire.
        running_effect_tasks: token refreshes, interrupts, answers, tools and fetches of
            the server's message list in progress.
        background_tasks: tasks of the runtime's nursery.
    """

    open_sockets: int
    closing_sockets: int
    armed_timers: int
    running_effect_tasks: int
    background_tasks: int


class Runtime:
    """Runs a `Store` in a nursery: resources, effects, and the dispatch queue."""

    def __init__(
        self,
        nursery: trio.Nursery,
        transport: Transport,
        *,
        config: StoreConfig,
        refresh_token: RefreshTokenFn,
        interrupt: InterruptFn | None,
        submit_intervention: SubmitInterventionFn | None,
        fetch_messages: FetchMessagesFn | None,
        tools: Mapping[str, ToolHandler],
        jitter: bool,
        random_seed: int | None,
        middleware: Sequence[Middleware],
        max_concurrent_dials: int,
        user_token: UserTokenFn | None = None,
        client_id: str = "",
    ) -> None:
        self.store = Store(GatewayState(config=config), middleware=middleware)
        self.nursery = nursery
        self.transport = transport
        self._refresh_token = refresh_token
        self._interrupt = interrupt
        self._submit_intervention = submit_intervention
        self._fetch_messages = fetch_messages
        self._tools = dict(tools)
        self._pending: deque[Action] = deque()
        self._dispatching = False
        self.closed = False
        self._resources = Resources(
            spawn=self._spawn,
            dispatch=self.dispatch,
            dispatch_from_task=self.dispatch_from_task,
            links_idle=self._link_idle,
            transport=transport,
            dials=trio.CapacityLimiter(max_concurrent_dials),
            jitter=jitter,
            random_seed=random_seed,
            user_token=user_token,
            client_id=client_id,
        )
        self._effect_scopes: dict[str, set[trio.CancelScope]] = {}
        self._waiters: dict[str, _Waiter] = {}
        """`wait_finished` callers, by operation id."""
        self._waiting_links: dict[str, str] = {}
        """The link of each operation waited on (v1: one operation per link)."""
        self._lasting_scopes: set[trio.CancelScope] = set()  # fetches outlive their run
        self._tasks = 0
        self._idle: trio.Event | None = None

    # ------------------------------------------------------------------ dispatch

    def dispatch(self, action: Action) -> None:
        """Reduce `action` and carry out what changed; queued if a dispatch is running.

        Raises:
            LocalUsageError: the reducer refused an application action (not queued ones).
        """
        if self._dispatching:
            self._pending.append(action)
            return
        self._dispatching = True
        try:
            self._step(action)
        finally:
            if self._pending:
                self._drain()
            self._dispatching = False

    def _drain(self) -> None:
        while self._pending:
            queued = self._pending.popleft()
            try:
                self._step(queued)
            except LocalUsageError as error:
                logger.warning("queued %s refused: %s", type(queued).__name__, error)

    def dispatch_from_task(self, action: Action) -> None:
        """Dispatch on behalf of a background task: never raises, ignored once closed."""
        if self.closed:
            return
        try:
            self.dispatch(action)
        except Exception as error:  # only an application action can be refused
            self._fail(action, f"dispatching {type(action).__name__}", error)

    def _step(self, action: Action) -> None:
        change = self.store.apply(action)  # 1. reduce: pure, raises only for app misuse
        try:
            self._resources.reconcile(change)  # 2. sockets and timers follow the state
            self.store.publish(change)  # 3. middleware and listeners (failures logged)
            self._carry_out(change.step.effects)  # 4. effects
        except Exception as error:
            self._fail(action, f"carrying out {type(action).__name__}", error)

    def _fail(self, about: Action | str, what: str, error: BaseException) -> None:
        """Log an unexpected failure and end the operation it concerns (queued, never
        recursive). `about` is the action being handled, or an operation id."""
        operation_id = about if isinstance(about, str) else concerned(self.store.state, about)[1]
        logger.exception("operation %s: %s failed; it ends as failed", operation_id, what)
        if operation_id is None:
            return  # about nothing the store knows: nothing to end
        detail = internal_error_detail(what, error)
        self._pending.append(HandlingFailed(operation_id=operation_id, error=detail))
        if not self._dispatching:
            self._dispatching = True
            try:
                self._drain()
            finally:
                self._dispatching = False

    def _carry_out(self, effects: tuple[Effect, ...]) -> None:
        for effect in effects:
            match effect:
                case SendMessage():
                    self._send(effect)
                case NotifyFinished(operation_id=operation_id):
                    logger.info("operation %s finished: %s", operation_id, effect.outcome)
                    for scope in self._effect_scopes.pop(operation_id, ()):
                        scope.cancel()  # their results could change nothing any more
                    waiter = self._waiters.get(operation_id)
                    if waiter is not None:
                        waiter.outcome = effect.outcome
                        self._settle(operation_id)
                case RefreshToken():
                    self._spawn_effect(
                        effect.operation_id, partial(refresh_token, self._refresh_token, effect)
                    )
                case RequestInterrupt():
                    self._spawn_effect(
                        effect.operation_id, partial(request_interrupt, self._interrupt, effect)
                    )
                case ExecuteTool():
                    self._spawn_effect(
                        effect.operation_id, partial(execute_tool, self._tools, effect)
                    )
                case SubmitIntervention():
                    submit = partial(submit_intervention, self._submit_intervention, effect)
                    self._spawn_effect(effect.operation_id, submit)
                case FetchMessages():
                    if self._fetch_messages is not None:  # without it: the flag stays
                        fetch = partial(fetch_messages, self._fetch_messages, effect)
                        self._spawn_effect(effect.operation_id, fetch, lasting=True)
                case _:
                    assert_never(effect)

    # ------------------------------------------------------------------ effects

    def _send(self, effect: SendMessage) -> None:
        entry = self._resources.socket(effect.link_id, effect.generation)
        if entry is None:
            failed = SendFailed(
                link_id=effect.link_id, generation=effect.generation, message=effect.message
            )
            self.dispatch(failed)
            return
        entry.enqueue(effect.message)

    def _spawn_effect(
        self, operation_id: str, run: Callable[[], Awaitable[Action]], *, lasting: bool = False
    ) -> None:
        """Run an effect; cancelled when its operation finishes, unless `lasting` (the
        fetch of a transcript, whose answer still counts after the end)."""
        scope = trio.CancelScope()
        if lasting:
            self._lasting_scopes.add(scope)
        else:
            self._effect_scopes.setdefault(operation_id, set()).add(scope)
        self._spawn(self._effect_task, operation_id, scope, run)

    async def _effect_task(
        self, operation_id: str, scope: trio.CancelScope, run: Callable[[], Awaitable[Action]]
    ) -> None:
        try:
            with scope:
                result = await run()
                self.dispatch_from_task(result)
        except* Exception as group:
            if not self.closed:
                self._fail(operation_id, "an effect task", group)
        finally:
            self._lasting_scopes.discard(scope)
            scopes = self._effect_scopes.get(operation_id)
            if scopes is not None:
                scopes.discard(scope)
                if not scopes:
                    del self._effect_scopes[operation_id]

    # ------------------------------------------------------------------ tasks and shutdown

    def _spawn(self, fn: Callable[..., Awaitable[None]], *args: object) -> None:
        self._tasks += 1
        self.nursery.start_soon(self._tracked, fn, *args)

    async def _tracked(self, fn: Callable[..., Awaitable[None]], *args: object) -> None:
        try:
            await fn(*args)
        finally:
            self._tasks -= 1
            if self._tasks == 0 and self._idle is not None:
                self._idle.set()

    def _link_idle(self, link_id: str) -> None:
        """The link's last socket task exited: wake whoever waits on its operation."""
        waited = self._waiting_links.get(link_id)
        if waited is not None:
            self._settle(waited)

    def _settle(self, operation_id: str) -> None:
        """Wake `wait_finished` callers once the operation ended and its link's socket
        tasks have all exited."""
        waiter = self._waiters.get(operation_id)
        if waiter is None or waiter.outcome is None:
            return
        if waiter.own_link and self._resources.runs_sockets(waiter.link_id):
            return
        del self._waiters[operation_id]
        if waiter.own_link:
            del self._waiting_links[waiter.link_id]
        waiter.event.set()

    async def wait_settled(self, operation_id: str) -> Outcome | None:
        """Wait until the operation finished and its sockets closed, or the runtime closed;
        its outcome (None if the runtime closed first, or the operation is not known).

        The outcome is kept for the waiters: the store may forget the operation (past
        its retention) before its last socket task has exited.
        """
        op = self.store.state.operations.get(operation_id)
        if op is None:
            return None
        own_link = op.link_id == op.id  # a v2 link is the user's: it outlives the run
        if self.closed or (
            op.outcome is not None
            and (not own_link or not self._resources.runs_sockets(op.link_id))
        ):
            return op.outcome
        waiter = self._waiters.get(operation_id)
        if waiter is None:
            waiter = self._waiters[operation_id] = _Waiter(op.link_id, op.outcome, own_link)
            if own_link:
                self._waiting_links[op.link_id] = operation_id
        await waiter.event.wait()
        return waiter.outcome

    def statistics(self) -> RuntimeStatistics:
        """Counts of what the runtime holds (O(1))."""
        held = self._resources
        return RuntimeStatistics(
            open_sockets=held.open_sockets,
            closing_sockets=held.closing_sockets,
            armed_timers=held.armed_timers,
            running_effect_tasks=sum(map(len, self._effect_scopes.values()))
            + len(self._lasting_scopes),
            background_tasks=len(self.nursery.child_tasks),
        )

    def shutdown(self) -> None:
        """Stop everything at once: no dispatch from a task runs after this returns."""
        if self.closed:
            return
        self.closed = True
        self._resources.shutdown()
        for scopes in (*self._effect_scopes.values(), self._lasting_scopes):
            for scope in scopes:
                scope.cancel()
        for waiter in self._waiters.values():
            waiter.event.set()
        self._waiters.clear()
        self._waiting_links.clear()

    async def aclose(self) -> None:
        """`shutdown`, then wait until every task of ours has exited."""
        self.shutdown()
        if self._tasks:
            self._idle = trio.Event()
            await self._idle.wait()
