"""The sockets and timers the state calls for, made to exist (step 2 of the runtime's step).

Owns: `Resources`, the runtime's holdings derived from state. After each step it
follows the resources of the link and the operation the step is about (news of a v2
link as a whole fans out to every session it carries; the network coming back, to every
link), diffs each owner's wanted resources against what it holds, closes or cancels what
disappeared before it opens or arms what appeared (sockets before timers), and runs
each socket in a task of its own and each timer as an alarm of one `Alarms`. Owns too
the URL each socket dials (v2: with a user token fetched right before the dial), the
jitter drawn for backoff timers (v1: from the upper half of the delay; v2: full
jitter, PROTOCOL.md 7.6), the connect watchdog counting from its dial's own start, the
idle close of a lazy v2 socket waiting until what was queued on it (the last
`unsubscribe`) is written (in a task of its own, only while it waits), how many socket
tasks each link still runs (`wait_finished` waits for them), and stopping it all at
once. A timer whose delay is beyond any clock never fires (and says so in the log). A
task or alarm whose resource was removed dispatches nothing after the removal; frames
queued for a removed socket, and the one being written, are reported as `SendFailed`
by the removal itself. Must not know: what actions and effects mean, the runtime's
dispatch queue, or `wait_finished`'s callers.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import trio

from gatewayops._secrets import get_logger
from gatewayops.effects._alarms import Alarm, Alarms
from gatewayops.effects._handlers import UserTokenFn
from gatewayops.effects._sockets import SocketEntry, run_socket
from gatewayops.exceptions import LocalUsageError
from gatewayops.protocol import mux_url
from gatewayops.store import (
    Action,
    GatewayState,
    Link,
    Protocol,
    Resource,
    SendFailed,
    Socket,
    Timer,
    TimerFired,
    TimerKind,
    Transition,
    concerned,
    link_resources,
    operation_resources,
    resources_may_differ,
)
from gatewayops.transport import Transport

__all__ = ["Resources"]

logger = get_logger("gatewayops.effects")

Dispatch = Callable[[Action], None]
Spawn = Callable[..., None]
"""``spawn(async_fn, *args)``: run a task in the runtime's nursery."""

_NO_RESOURCES: frozenset[Resource] = frozenset()


class _TimerEntry:
    __slots__ = ("alarm", "delay", "flush_scope", "removed", "timer")

    def __init__(self, timer: Timer, delay: float) -> None:
        self.timer = timer
        self.delay = delay
        self.alarm: Alarm | None = None
        """Set once its delay counts (a connect watchdog's from its dial's own start)."""
        self.flush_scope: trio.CancelScope | None = None
        """An idle close waiting for its socket's queued frames to be written."""
        self.removed = False


class Resources:
    """The sockets and timers that exist because the state wants them."""

    def __init__(
        self,
        *,
        spawn: Spawn,
        dispatch: Dispatch,
        dispatch_from_task: Dispatch,
        links_idle: Callable[[str], None],
        transport: Transport,
        dials: trio.CapacityLimiter,
        jitter: bool,
        random_seed: int | None,
        user_token: UserTokenFn | None,
        client_id: str,
    ) -> None:
        """`dispatch` reports a removal's unsent frames (during a step); tasks report
        through `dispatch_from_task`; `links_idle(link_id)` is called when a link's
        last socket task has exited."""
        self._spawn = spawn
        self._dispatch = dispatch
        self._dispatch_from_task = dispatch_from_task
        self._links_idle = links_idle
        self._transport = transport
        self._dials = dials
        self._jitter = jitter
        self._random = random.Random(random_seed)
        self._user_token = user_token
        self._client_id = client_id
        self._closed = False
        self._desired: dict[tuple[str, str], frozenset[Resource]] = {}
        self._sockets: dict[tuple[str, int], SocketEntry] = {}
        self._socket_tasks: dict[str, int] = {}
        self._timers: dict[Timer, _TimerEntry] = {}
        self._alarms = Alarms(spawn)

    # ------------------------------------------------------------------ what is held

    def socket(self, link_id: str, generation: int) -> SocketEntry | None:
        """The live socket of that attempt of a link, if it exists."""
        return self._sockets.get((link_id, generation))

    def runs_sockets(self, link_id: str) -> bool:
        """Whether a socket task of the link has not exited yet (closing ones count)."""
        return link_id in self._socket_tasks

    @property
    def open_sockets(self) -> int:
        """Socket resources that exist (connecting, open, or in use)."""
        return len(self._sockets)

    @property
    def closing_sockets(self) -> int:
        """Sockets removed from the state whose close is still running."""
        return sum(self._socket_tasks.values()) - len(self._sockets)

    @property
    def armed_timers(self) -> int:
        """Timers waiting to fire."""
        return len(self._timers)

    # ------------------------------------------------------------------ following the state

    def reconcile(self, change: Transition) -> None:
        """Follow the resources of the link and the operation the step is about (news of
        a v2 link as a whole, and the network coming back, may change many)."""
        state, old = change.step.state, change.old
        link_id, operation_id = concerned(state, change.action)
        if link_id is None and operation_id is None:  # NetworkRestored: every link
            for each in state.links.values():
                if each is not old.links.get(each.id):
                    self._follow(("link", each.id), link_resources(each, state.config))
            return
        if link_id is not None and state.links is not old.links:  # a streamed chunk: no link
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
        appeared = new - old
        for resource in appeared:  # sockets first: a watchdog counts from its socket's dial
            if isinstance(resource, Socket):
                self._open_socket(resource)
        for resource in appeared:
            if isinstance(resource, Timer):
                self._arm_timer(resource)

    # ------------------------------------------------------------------ sockets

    def _open_socket(self, socket: Socket) -> None:
        entry = SocketEntry(socket)
        self._sockets[socket.link_id, socket.generation] = entry
        self._socket_tasks[socket.link_id] = self._socket_tasks.get(socket.link_id, 0) + 1
        self._spawn(self._socket_task, entry)

    def _close_socket(self, socket: Socket) -> None:
        entry = self._sockets.pop((socket.link_id, socket.generation))
        for message in entry.remove():
            self._dispatch(
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
                entry,
                self._transport,
                self._dispatch_from_task,
                self._dials,
                self._socket_url,
                self._alarms,
            )
        finally:
            link_id = entry.socket.link_id
            left = self._socket_tasks[link_id] - 1
            if left:
                self._socket_tasks[link_id] = left
            else:
                del self._socket_tasks[link_id]
                self._links_idle(link_id)

    # ------------------------------------------------------------------ timers

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
        dial = self._sockets.get((timer.owner, timer.generation))
        if timer.kind is TimerKind.CONNECT_WATCHDOG and dial is not None and not dial.dialled:
            dial.on_dial = lambda: self._start_timer(entry)  # count from the dial's own start
        else:
            self._start_timer(entry)

    def _start_timer(self, entry: _TimerEntry) -> None:
        if not entry.removed:
            deadline = trio.current_time() + entry.delay
            entry.alarm = self._alarms.at(deadline, lambda: self._timer_due(entry))

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
            if entry.alarm is not None:
                self._alarms.cancel(entry.alarm)
            if entry.flush_scope is not None:
                entry.flush_scope.cancel()

    def _timer_due(self, entry: _TimerEntry) -> None:
        timer = entry.timer
        socket = self._sockets.get((timer.owner, timer.generation))
        if timer.kind is TimerKind.IDLE_CLOSE and socket is not None and not socket.is_flushed:
            entry.flush_scope = trio.CancelScope()  # the hub hears the last `unsubscribe` first
            self._spawn(self._fire_when_flushed, entry, socket)
            return
        self._fire(entry)

    async def _fire_when_flushed(self, entry: _TimerEntry, socket: SocketEntry) -> None:
        assert entry.flush_scope is not None
        with entry.flush_scope:
            await socket.flushed()
        self._fire(entry)

    def _fire(self, entry: _TimerEntry) -> None:
        if entry.removed or self._closed:
            return
        del self._timers[entry.timer]
        self._dispatch_from_task(TimerFired(timer=entry.timer))

    # ------------------------------------------------------------------ shutdown

    def shutdown(self) -> None:
        """Remove every socket and cancel every timer at once; none reports anything more
        (socket tasks still exit in their own time)."""
        self._closed = True
        for entry in self._sockets.values():
            entry.remove()
        for timer_entry in self._timers.values():
            timer_entry.removed = True
            if timer_entry.flush_scope is not None:
                timer_entry.flush_scope.cancel()
        self._alarms.close()
        self._sockets.clear()
        self._timers.clear()
        self._desired.clear()
