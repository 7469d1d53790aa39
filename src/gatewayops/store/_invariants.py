"""Invariants of PROTOCOL.md section 11, checked one step at a time: the one checker.

Owns: pure checks of one step (the action, the state before and after, and the effects
the step produced), each returning what is wrong or None, and `InvariantChecker`, which
runs them and keeps the little state some need. The replayer checks every record with
it, the state machine of `gatewayops.testing` every step, and `InvariantWatch` (the
middleware of `open_client(..., check_invariants=True)`) every dispatch of a live
client. Each check looks only at the link and the operation the action is about (and
derives their resources only when they changed), so checking costs O(1) in the number
of operations and records. Must not know: files, records' text, Hypothesis, or how
the effects were obtained.

The invariants (numbers are PROTOCOL.md section 11's):

* ``notify-once`` (1): an operation gets exactly one `NotifyFinished`, in the step in
  which it finishes, and none before or after.
* ``absorbing`` (2, 15, 16): a finished operation never changes again and no effect is
  produced for it -- but for its transcript, which the answer to its fetch of the
  server's message list may still change (and ask again, PROTOCOL.md 7.8).
* ``no-resources-when-finished`` (2, 3): a finished operation has no timer, and its link
  no socket or timer.
* ``nothing-pending-when-finished`` (2; PROTOCOL.md 6.2): a finished operation has no
  open intervention and does not wait for the user (each was cancelled with
  `session_ended`).
* ``closed-unless-followed`` (2): the link of an operation not followed (finished or
  detached) has no socket or timer.
* ``silence-never-completes`` (5): no timer firing finishes an operation (except a
  token refresh that never answered, once the refresh budget is spent).
* ``cursor-follows-server`` (10): after an agent event the operation accepted, the resume
  cursor is that event's envelope id when it has one (even one that goes back: that is
  reported as a problem of the operation, not dropped), and unchanged when it has none.
* ``authentication-decides`` (4): an `auth_expired` alone never ends an operation (only
  a refresh budget spent on it does); an `auth_failed` on a followed link's live socket
  always does.
* ``one-socket`` (12): a link has at most one socket.
* ``backoff-capped`` (13): no reconnect delay is longer than `max_backoff_ms`.
* ``one-tool-result`` (14): at most one `tool_result` frame per tool call (a frame whose
  write failed, reported by `SendFailed`, may be sent again).
* ``refresh-single-flight`` (section 12): no `RefreshToken` while one is in flight.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import TypeAlias

import attrs

from gatewayops._secrets import get_logger
from gatewayops.protocol import AgentEventMessage, AuthExpired, AuthFailed, ToolResult
from gatewayops.store._actions import (
    Action,
    MessageReceived,
    MessagesFetched,
    MessagesFetchFailed,
    SendFailed,
    TimerFired,
)
from gatewayops.store._config import StoreConfig
from gatewayops.store._effects import (
    Effect,
    FetchMessages,
    NotifyFinished,
    RefreshToken,
    SendMessage,
)
from gatewayops.store._link import carries
from gatewayops.store._reducer import Step
from gatewayops.store._resources import (
    Socket,
    Timer,
    TimerKind,
    link_resources,
    operation_resources,
)
from gatewayops.store._selectors import concerned
from gatewayops.store._state import (
    FinishSource,
    GatewayState,
    Link,
    Operation,
    OperationStatus,
    RefreshStatus,
)

__all__ = [
    "KEPT_VIOLATIONS",
    "InvariantChecker",
    "InvariantWatch",
    "Position",
    "Violation",
    "absorbing",
    "authentication_decides",
    "backoff_capped",
    "closed_unless_followed",
    "cursor_follows_server",
    "no_resources_when_finished",
    "nothing_pending_when_finished",
    "notify_once",
    "one_socket",
    "refresh_single_flight",
    "silence_never_completes",
]


@attrs.frozen(kw_only=True)
class Violation:
    """An invariant broken at one step (one record of a log).

    Attributes:
        invariant: the invariant's short name (see the module docstring).
        seq: the step's (record's) number.
        line: that record's line in the log, if known.
        operation_id: the operation concerned (or the link, if it carries none).
        message: what is wrong.
    """

    invariant: str
    seq: int
    line: int | None
    operation_id: str
    message: str

    def __str__(self) -> str:
        where = f"record {self.seq}" + ("" if self.line is None else f" (line {self.line})")
        return f"{where}: {self.operation_id}: {self.invariant}: {self.message}"


def _finishes(old: Operation | None, new: Operation | None) -> bool:
    return new is not None and new.is_finished and (old is None or not old.is_finished)


def notify_once(old: Operation | None, new: Operation | None, notifications: int) -> str | None:
    """Invariant 1: one `NotifyFinished` exactly in the step that finishes the operation."""
    if _finishes(old, new):
        if notifications != 1:
            return f"finished with {notifications} NotifyFinished effects (expected exactly 1)"
    elif notifications:
        state = "already finished" if old is not None and old.is_finished else "not finished"
        return f"{notifications} NotifyFinished for an operation {state}"
    return None


_FETCH_ANSWERS = frozenset({MessagesFetched, MessagesFetchFailed})


def absorbing(
    action: Action,
    old: Operation | None,
    new: Operation | None,
    changed_link: bool,
    effects: Sequence[Effect],
) -> str | None:
    """A finished operation neither changes (nor its link) nor produces effects; the one
    exception is the answer to its transcript's fetch (`_refetch`), which may change the
    transcript alone and ask again (`FetchMessages`)."""
    if old is None or not old.is_finished:
        return None
    fetched = type(action) in _FETCH_ANSWERS and new is not None
    allowed = attrs.evolve(old, transcript=new.transcript) if fetched and new else old
    if changed_link or new != allowed:
        return "a finished operation changed"
    if fetched:
        effects = [effect for effect in effects if type(effect) is not FetchMessages]
    if effects:
        return f"{len(effects)} effects for a finished operation"
    return None


def no_resources_when_finished(
    new: Operation, link: Link | None, config: StoreConfig
) -> str | None:
    """Invariant 2: nothing survives a finished operation (checked when it finishes)."""
    left = set(operation_resources(new, config))
    if link is not None:
        left |= link_resources(link, config)
    if left:
        return f"finished with resources still wanted: {sorted(map(repr, left))}"
    return None


def nothing_pending_when_finished(new: Operation) -> str | None:
    """Nothing waits for the user after a terminal (checked when the operation finishes)."""
    human = new.human
    if human.open:
        return f"finished with interventions still open: {sorted(human.open)}"
    if human.approval_step:
        return "finished while still waiting for the user's approval"
    return None


def closed_unless_followed(op: Operation, link: Link, config: StoreConfig) -> str | None:
    """Invariant 2: an operation that is not followed keeps no socket or timer open."""
    if op.status is OperationStatus.RUNNING:
        return None
    left = link_resources(link, config)
    if left:
        return f"{op.status.value}, but its link still wants {sorted(map(repr, left))}"
    return None


def silence_never_completes(
    action: Action, old: Operation | None, new: Operation | None
) -> str | None:
    """Invariant 5: a timer firing never finishes an operation.

    The one exception is a token refresh that never answered (its timeout counts as a
    failed refresh): once the refresh budget is spent it ends the run as an auth failure.
    """
    if not isinstance(action, TimerFired) or not _finishes(old, new):
        return None
    assert new is not None  # it finished
    if (
        action.timer.kind is TimerKind.REFRESH_TIMEOUT
        and new.outcome is not None
        and new.outcome.source is FinishSource.REFRESH_FAILED
    ):
        return None
    return f"the {action.timer.kind.value} timer finished the operation"


def cursor_follows_server(
    action: Action, old: Operation | None, new: Operation | None
) -> str | None:
    """Invariant 10: the cursor follows the envelope ids of the events accepted."""
    if type(action) is not MessageReceived or old is None or new is None or new is old:
        return None  # not an event, or dropped (stale, or for a finished operation)
    message = action.message
    if type(message) is not AgentEventMessage:
        return None
    if message.id:
        if new.last_event_id != message.id:
            return f"resume cursor is {new.last_event_id!r}, not the event's id {message.id!r}"
    elif new.last_event_id != old.last_event_id:
        return f"resume cursor moved from {old.last_event_id!r} on an event without an id"
    return None


def authentication_decides(
    action: Action, old: Operation | None, new: Operation | None, old_link: Link | None
) -> str | None:
    """Invariant 4: `auth_expired` alone never ends a run; `auth_failed` always does (on a
    followed link's live socket)."""
    if type(action) is not MessageReceived or old is None or new is None or old_link is None:
        return None
    message = action.message
    if type(message) is AuthExpired and _finishes(old, new):
        assert new.outcome is not None
        if new.outcome.source is not FinishSource.REFRESH_BUDGET:
            return f"auth_expired alone ended the operation ({new.outcome.source.value})"
    if (
        type(message) is AuthFailed
        and old.status is OperationStatus.RUNNING
        and carries(old_link, action.generation)
        and not new.is_finished
    ):
        return "auth_failed on the live socket did not end the operation"
    return None


def one_socket(link: Link, config: StoreConfig) -> str | None:
    """Invariant 12: at most one socket per link."""
    sockets = sum(isinstance(resource, Socket) for resource in link_resources(link, config))
    return None if sockets <= 1 else f"{sockets} sockets at once"


def backoff_capped(link: Link, config: StoreConfig) -> str | None:
    """Invariant 13: no reconnect delay is longer than the cap."""
    for resource in link_resources(link, config):
        if (
            isinstance(resource, Timer)
            and resource.kind is TimerKind.BACKOFF
            and resource.delay_ms > config.max_backoff_ms
        ):
            return f"backoff of {resource.delay_ms} ms is over the cap"
    return None


def refresh_single_flight(old: Operation | None, effects: Sequence[Effect]) -> str | None:
    """No `RefreshToken` while one is already in flight (and at most one per step)."""
    refreshes = sum(isinstance(effect, RefreshToken) for effect in effects)
    in_flight = old is not None and old.refresh.status is RefreshStatus.IN_FLIGHT
    if refreshes and (in_flight or refreshes > 1):
        return "RefreshToken while a refresh was already in flight"
    return None


_FINISHED = OperationStatus.FINISHED

Position: TypeAlias = tuple[int, int | None]
"""Where a step is: its number and, if known, its line in a log."""


class InvariantChecker:
    """Runs the checks step by step; keeps per-link tool-result counts only.

    Args:
        config: the store's settings (resources are derived with them).
        effects_recorded: False when the steps hold only frames (a HAR import), so the
            checks about effects that are not frames (notify-once, refresh-single-flight)
            are skipped rather than failing for want of data.
    """

    def __init__(self, config: StoreConfig, *, effects_recorded: bool = True) -> None:
        self._config = config
        self._effects_recorded = effects_recorded
        self._tool_results: dict[str, Counter[str]] = {}

    def check(
        self,
        at: Position,
        action: Action,
        old_state: GatewayState,
        new_state: GatewayState,
        effects: Sequence[Effect] = (),
        positions: Sequence[Position] = (),
    ) -> list[Violation]:
        """The violations of one step: `action` (at `at`) took `old_state` to `new_state`
        with `effects`. `positions` says where each effect was recorded; a violation
        caused by one effect is reported there, any other at the action."""
        link_id, op_id = concerned(new_state, action)
        old = None if op_id is None else old_state.operations.get(op_id)
        new = None if op_id is None else new_state.operations.get(op_id)
        old_link = None if link_id is None else old_state.links.get(link_id)
        new_link = None if link_id is None else new_state.links.get(link_id)
        if (  # the streaming hot path: an event changed only what a running operation shows
            not effects
            and type(action) is MessageReceived
            and type(action.message) is AgentEventMessage
            and old is not None
            and new is not None
            and new_link is old_link
            and new.status is old.status
            and old.status is not _FINISHED
        ):
            problem = cursor_follows_server(action, old, new)
            if problem is None:
                return []
            return [self._at(at, op_id or "", "cursor-follows-server", problem)]
        found: list[Violation] = []
        who = op_id or link_id or ""

        def note(invariant: str, problem: str | None, where: Position = at) -> None:
            if problem is not None:
                found.append(self._at(where, who, invariant, problem))

        def position(index: int) -> Position:
            return positions[index] if index < len(positions) else at

        if self._effects_recorded:
            notified = [i for i, e in enumerate(effects) if isinstance(e, NotifyFinished)]
            for index in notified:
                other = effects[index].operation_id  # type: ignore[union-attr]
                if other != op_id:
                    note(
                        "notify-once",
                        f"NotifyFinished for {other} in a step of this one",
                        position(index),
                    )
            own = [i for i in notified if effects[i].operation_id == op_id]  # type: ignore[union-attr]
            note("notify-once", notify_once(old, new, len(own)), position(own[-1]) if own else at)
            refreshes = [i for i, e in enumerate(effects) if isinstance(e, RefreshToken)]
            if refreshes:
                problem = refresh_single_flight(old, effects)
                note("refresh-single-flight", problem, position(refreshes[-1]))
        changed_link = new_link is not old_link
        note("absorbing", absorbing(action, old, new, changed_link, effects), position(0))
        note("silence-never-completes", silence_never_completes(action, old, new))
        note("cursor-follows-server", cursor_follows_server(action, old, new))
        note("authentication-decides", authentication_decides(action, old, new, old_link))
        for index, call_id in self._count_tool_results(action, effects):
            note(
                "one-tool-result",
                f"a second tool_result frame for tool call {call_id!r}",
                position(index),
            )
        if new_link is not None and new_link is not old_link:
            note("one-socket", one_socket(new_link, self._config))
            note("backoff-capped", backoff_capped(new_link, self._config))
        if (
            new is not None
            and new_link is not None
            and (new_link is not old_link or new is not old)
        ):
            note("closed-unless-followed", closed_unless_followed(new, new_link, self._config))
        if new is not None and _finishes(old, new):
            note(
                "no-resources-when-finished",
                no_resources_when_finished(new, new_link, self._config),
            )
            note("nothing-pending-when-finished", nothing_pending_when_finished(new))
            if new_link is not None:
                self._tool_results.pop(new_link.id, None)  # nothing may be sent for it now
        return found

    @staticmethod
    def _at(where: Position, who: str, invariant: str, message: str) -> Violation:
        return Violation(
            invariant=invariant, seq=where[0], line=where[1], operation_id=who, message=message
        )

    def _count_tool_results(
        self, action: Action, effects: Sequence[Effect]
    ) -> Iterator[tuple[int, str]]:
        """Count tool_result frames; yield (effect index, call id) of each second one."""
        if isinstance(action, SendFailed) and isinstance(action.message, ToolResult):
            counts = self._tool_results.get(action.link_id)
            if counts is not None and counts[action.message.tool_call_id] > 0:
                counts[action.message.tool_call_id] -= 1  # it never left: it may be resent
        for index, effect in enumerate(effects):
            if isinstance(effect, SendMessage) and isinstance(effect.message, ToolResult):
                counts = self._tool_results.setdefault(effect.link_id, Counter())
                call_id = effect.message.tool_call_id
                counts[call_id] += 1
                if counts[call_id] > 1:
                    yield index, call_id


invariant_logger = get_logger("gatewayops.invariants")
KEPT_VIOLATIONS = 1000
"""How many violations `InvariantWatch.violations` keeps (all of them are logged)."""


class InvariantWatch:
    """A `Store` middleware that checks every step with an `InvariantChecker`, logs each
    violation at ERROR on the ``gatewayops.invariants`` logger and keeps the first
    `KEPT_VIOLATIONS` (the debug mode of `open_client(check_invariants=True)`)."""

    def __init__(self, config: StoreConfig) -> None:
        self._checker = InvariantChecker(config)
        self._steps = 0
        self.violations: list[Violation] = []

    def __call__(self, old: GatewayState, action: Action, step: Step) -> None:
        self._steps += 1
        found = self._checker.check((self._steps, None), action, old, step.state, step.effects)
        for violation in found:
            invariant_logger.error("invariant broken at %s", violation)
            if len(self.violations) < KEPT_VIOLATIONS:
                self.violations.append(violation)
