"""The engine that makes the pure store live on Trio.

Owns: synchronous `dispatch` and the runtime's step, four plain lines (`_step`):

1. reduce: the Store applies the action (pure; the next state and the effects);
2. reconcile: for the action's operation only, diff the derived resources, close or
   cancel what disappeared, open or arm what appeared;
3. publish: middleware (a recorder) and listeners hear of the step;
4. carry out the effects.

A dispatch made during another is queued and run right after it, in order. Owns too
the tasks that carry out resources and effects, each in its own `trio.CancelScope`,
`statistics()`, and shutdown. Per dispatch the cost depends on one operation, never on
how many exist.

Ordering rules that matter (PROTOCOL.md invariant 3): sockets close before anyone
hears of a finish (reconcile comes before publish and effects), and removals before
additions; `wait_finished` additionally waits until the finished operation's socket
tasks have closed. A task whose resource was removed dispatches nothing after the
removal (it checks `removed` right before every dispatch, and dispatch is
synchronous). Frames queued for a removed socket, and the one being written, are
reported as `SendFailed` by the removal itself.

No failure leaves a run open (PROTOCOL.md 11.24): if reconciling or carrying out the
effects of an action raises, or an effect task fails unexpectedly, the error is logged
and `HandlingFailed` ends the operation as failed. A timer whose delay is beyond any
clock never fires (and says so in the log). Must not know: what the actions mean (that
is the reducer's business) or which transport is used.
"""

from __future__ import annotations

import math
import random
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
    execute_tool,
    fetch_messages,
    refresh_token,
    request_interrupt,
    submit_intervention,
)
from gatewayops.effects._sockets import SocketEntry, run_socket
from gatewayops.exceptions import LocalUsageError
from gatewayops.protocol import mux_url
from gatewayops.store import (
    Action,
    Effect,
    ExecuteTool,
    FetchMessages,
    GatewayState,
    HandlingFailed,
    Link,
    Middleware,
    NotifyFinished,
    Outcome,
    Protocol,
    RefreshToken,
    RequestInterrupt,
    Resource,
    SendFailed,
    SendMessage,
    Socket,
    Store,
    StoreConfig,
    SubmitIntervention,
    Timer,
    TimerFired,
    TimerKind,
    Transition,
    concerned,
    internal_error_detail,
    link_resources,
    operation_resources,
    resources_may_differ,
)
from gatewayops.transport import Transport

__all__ = ["Runtime", "RuntimeStatistics", "UserTokenFn"]

logger = get_logger("gatewayops.effects")

UserTokenFn = Callable[[], Awaitable[str]]
"""``await user_token()``: a fresh user-level JWT for the v2 socket (before every dial)."""

_NO_RESOURCES: frozenset[Resource] = frozenset()


class _TimerEntry:
    __slots__ = ("deadline", "delay", "removed", "scope", "timer")

    def __init__(self, timer: Timer, delay: float) -> None:
        self.timer = timer
        self.delay = delay
        self.deadline = trio.current_time() + delay
        """When it fires: `delay` after it was armed (a connect watchdog's is moved to
        `delay` after its dial's own start)."""
        self.scope = trio.CancelScope()
        self.removed = False


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
        self._jitter = jitter
        self._random = random.Random(random_seed)
        self._dials = trio.CapacityLimiter(max_concurrent_dials)
        self._user_token = user_token
        self._client_id = client_id
        self._pending: deque[Action] = deque()
        self._dispatching = False
        self.closed = False
        self._desired: dict[tuple[str, str], frozenset[Resource]] = {}
        self._sockets: dict[tuple[str, int], SocketEntry] = {}
        self._socket_tasks: dict[str, int] = {}
        self._timers: dict[Timer, _TimerEntry] = {}
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
            self._reconcile(change)  # 2. sockets and timers follow the state
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

    # ------------------------------------------------------------------ resources

    def _reconcile(self, change: Transition) -> None:
        """Follow the resources of the link and the operation the step is about (news of
        a v2 link as a whole, and the network coming back, may change many)."""
        state, old = change.step.state, change.old
        link_id, operation_id = concerned(state, change.action)
        if link_id is None and operation_id is None:  # NetworkRestored: every link
            for each in state.links.values():
                if each is not old.links.get(each.id):
                    self._follow(("link", each.id), link_resources(each, state.config))
            return
        if link_id is not None:
            link, before = state.links.get(link_id), old.links.get(link_id)
            if link is not before:
                self._follow_link(state, link_id)
                if operation_id is None and before is not None:
                    self._fan_out(change, before, link)
        if operation_id is not None:
            self._follow_operation(change, operation_id)

    def _follow_link(self, state: GatewayState, link_id: str) -> None:
        link = state.links.get(link_id)
        wanted = _NO_RESOURCES if link is None else link_resources(link, state.config)
        self._follow(("link", link_id), wanted)

    def _follow_operation(self, change: Transition, operation_id: str) -> None:
        state, old = change.step.state, change.old
        op, earlier = state.operations.get(operation_id), old.operations.get(operation_id)
        if op is not earlier and resources_may_differ(earlier, op):
            wanted = _NO_RESOURCES if op is None else operation_resources(op, state.config)
            self._follow(("operation", operation_id), wanted)
        if op is not None and earlier is not None and op.link_id != earlier.link_id:
            self._follow_link(state, op.link_id)  # moved to a link of its own (v1 fallback)

    def _fan_out(self, change: Transition, before: Link, link: Link | None) -> None:
        """News of a v2 link as a whole (`ready`, a loss, 4401, the fallback): follow every
        session it carried or carries. O(sessions), on such news only."""
        if before.protocol is not Protocol.V2:
            return
        carried = set(before.sessions)
        if link is not None:
            carried.update(link.sessions)
        for operation_id in carried:
            self._follow_operation(change, operation_id)

    def _follow(self, owner: tuple[str, str], new: frozenset[Resource]) -> None:
        """Close and cancel what `owner` no longer wants, then open and arm what it does."""
        old = self._desired.get(owner, _NO_RESOURCES)
        if new == old:
            return
        if new:
            self._desired[owner] = new
        else:
            del self._desired[owner]
        for resource in old - new:
            if isinstance(resource, Socket):
                self._close_socket(resource)
            else:
                self._cancel_timer(resource)
        for resource in new - old:
            if isinstance(resource, Socket):
                self._open_socket(resource)
            else:
                self._arm_timer(resource)

    def _open_socket(self, socket: Socket) -> None:
        entry = SocketEntry(socket)
        self._sockets[socket.link_id, socket.generation] = entry
        self._socket_tasks[socket.link_id] = self._socket_tasks.get(socket.link_id, 0) + 1
        self._spawn(self._socket_task, entry)

    def _close_socket(self, socket: Socket) -> None:
        entry = self._sockets.pop((socket.link_id, socket.generation))
        for message in entry.remove():
            self.dispatch(
                SendFailed(link_id=socket.link_id, generation=socket.generation, message=message)
            )

    async def _socket_url(self, socket: Socket) -> str:
        """The URL to dial: v1's as it is; v2's with a user token fetched now."""
        if socket.protocol is not Protocol.V2:
            return socket.url
        if self._user_token is None:
            raise LocalUsageError("protocol v2 needs open_client(user_token=...)")
        return mux_url(socket.url, await self._user_token(), self._client_id)

    async def _socket_task(self, entry: SocketEntry) -> None:
        try:
            await run_socket(
                entry, self.transport, self.dispatch_from_task, self._dials, self._socket_url
            )
        finally:
            link_id = entry.socket.link_id
            left = self._socket_tasks[link_id] - 1
            if left:
                self._socket_tasks[link_id] = left
            else:
                del self._socket_tasks[link_id]
                waited = self._waiting_links.get(link_id)
                if waited is not None:
                    self._settle(waited)

    def _arm_timer(self, timer: Timer) -> None:
        try:
            delay = timer.delay_ms / 1000
        except OverflowError:  # e.g. a tool deadline of 10**400 ms
            logger.warning("timer %s is beyond any clock; it will never fire", timer)
            delay = math.inf
        if timer.jittered and self._jitter:
            delay = self._jittered(timer, delay)
        entry = _TimerEntry(timer, delay)
        self._timers[timer] = entry
        self._spawn(self._timer_task, entry)

    def _jittered(self, timer: Timer, delay: float) -> float:
        """A backoff delay spread by jitter: v2's full jitter draws whole milliseconds
        from ``[0, delay_ms)`` (``floor(random * cap)``, PROTOCOL.md 7.6); the others
        are drawn from the upper half, ``[delay / 2, delay]``."""
        if timer.full_jitter:
            return math.floor(self._random.random() * timer.delay_ms) / 1000
        return delay * self._random.uniform(0.5, 1.0)

    def _cancel_timer(self, timer: Timer) -> None:
        entry = self._timers.pop(timer, None)  # absent once it fired
        if entry is not None:
            entry.removed = True
            entry.scope.cancel()

    async def _timer_task(self, entry: _TimerEntry) -> None:
        timer = entry.timer
        with entry.scope:
            if timer.kind is TimerKind.CONNECT_WATCHDOG:
                dial = self._sockets.get((timer.owner, timer.generation))
                if dial is not None and not dial.dialling.is_set():
                    await dial.dialling.wait()  # count from the dial's own start
                    entry.deadline = trio.current_time() + entry.delay
            await trio.sleep_until(entry.deadline)
        if entry.removed or self.closed:
            return
        del self._timers[entry.timer]
        self.dispatch_from_task(TimerFired(timer=entry.timer))

    # ------------------------------------------------------------------ effects

    def _send(self, effect: SendMessage) -> None:
        entry = self._sockets.get((effect.link_id, effect.generation))
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

    def _settle(self, operation_id: str) -> None:
        """Wake `wait_finished` callers once the operation ended and its link's socket
        tasks have all exited."""
        waiter = self._waiters.get(operation_id)
        if waiter is None or waiter.outcome is None:
            return
        if waiter.own_link and waiter.link_id in self._socket_tasks:
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
            op.outcome is not None and (not own_link or op.link_id not in self._socket_tasks)
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
        open_sockets = len(self._sockets)
        return RuntimeStatistics(
            open_sockets=open_sockets,
            closing_sockets=sum(self._socket_tasks.values()) - open_sockets,
            armed_timers=len(self._timers),
            running_effect_tasks=sum(map(len, self._effect_scopes.values()))
            + len(self._lasting_scopes),
            background_tasks=len(self.nursery.child_tasks),
        )

    def shutdown(self) -> None:
        """Stop everything at once: no dispatch from a task runs after this returns."""
        if self.closed:
            return
        self.closed = True
        for entry in self._sockets.values():
            entry.remove()
        for timer_entry in self._timers.values():
            timer_entry.removed = True
            timer_entry.scope.cancel()
        for scopes in (*self._effect_scopes.values(), self._lasting_scopes):
            for scope in scopes:
                scope.cancel()
        self._sockets.clear()
        self._timers.clear()
        self._desired.clear()
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
