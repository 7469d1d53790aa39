"""Invariants of PROTOCOL.md section 11, checked one step at a time over a log.

Owns: pure checks of one step (the operation before and after an action, the action,
and the effects recorded for it), each returning what is wrong or None, and
`InvariantChecker`, which runs them and keeps the little state some need. Every check
costs O(1) in the number of operations and records: state-derived checks look at the
one operation the action is about (and derive its resources only when its connection
or status changed), so checking does not grow with the log. Checks need no Hypothesis
and no model, so tests and tools other than the replayer can use them. Must not know:
files, records' text, or how the effects were obtained (recorded or recomputed).

The invariants (numbers are PROTOCOL.md section 11's):

* ``notify-once`` (1): an operation gets exactly one `NotifyFinished`, in the step in
  which it finishes, and none before or after.
* ``absorbing`` (2, 15, 16): a finished operation never changes again and no effect is
  produced for it.
* ``no-resources-when-finished`` (2): a finished operation has no socket or timer.
* ``silence-never-completes`` (5): no timer firing finishes an operation (except a
  token refresh that never answered, once the refresh budget is spent).
* ``cursor-follows-server`` (10): after an agent event the operation accepted, the resume
  cursor is that event's envelope id when it has one (even one that goes back: that is
  reported as a problem of the operation, not dropped), and unchanged when it has none.
* ``one-socket`` (12): an operation has at most one socket.
* ``one-tool-result`` (14): at most one `tool_result` frame per tool call (a frame whose
  write failed, reported by `SendFailed`, may be sent again).
* ``refresh-single-flight`` (section 12): no `RefreshToken` while one is in flight.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import TypeAlias

import attrs

from gatewayops.protocol import AgentEventMessage, ToolResult
from gatewayops.store import (
    Action,
    Effect,
    FinishSource,
    MessageReceived,
    NotifyFinished,
    Operation,
    OperationStatus,
    RefreshStatus,
    RefreshToken,
    SendFailed,
    SendMessage,
    Socket,
    StoreConfig,
    TimerFired,
    TimerKind,
    operation_resources,
)

__all__ = [
    "InvariantChecker",
    "Position",
    "Violation",
    "absorbing",
    "cursor_follows_server",
    "no_resources_when_finished",
    "notify_once",
    "one_socket",
    "refresh_single_flight",
    "silence_never_completes",
]


@attrs.frozen(kw_only=True)
class Violation:
    """An invariant broken at one record.

    Attributes:
        invariant: the invariant's short name (see the module docstring).
        seq: the record at which it was broken.
        line: that record's line in the log, if known.
        operation_id: the operation concerned.
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


def absorbing(old: Operation | None, new: Operation | None, effects: int) -> str | None:
    """A finished operation neither changes nor produces effects."""
    if old is None or not old.is_finished:
        return None
    if new != old:
        return "a finished operation changed"
    if effects:
        return f"{effects} effects for a finished operation"
    return None


def no_resources_when_finished(new: Operation, config: StoreConfig) -> str | None:
    """Invariant 2: nothing survives a finished operation (checked when it finishes)."""
    left = operation_resources(new, config)
    if left:
        return f"finished with resources still wanted: {sorted(map(repr, left))}"
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


def one_socket(new: Operation, config: StoreConfig) -> str | None:
    """Invariant 12: at most one socket per operation."""
    sockets = sum(isinstance(resource, Socket) for resource in operation_resources(new, config))
    return None if sockets <= 1 else f"{sockets} sockets at once"


def refresh_single_flight(old: Operation | None, effects: Sequence[Effect]) -> str | None:
    """No `RefreshToken` while one is already in flight (and at most one per step)."""
    refreshes = sum(isinstance(effect, RefreshToken) for effect in effects)
    in_flight = old is not None and old.refresh.status is RefreshStatus.IN_FLIGHT
    if refreshes and (in_flight or refreshes > 1):
        return "RefreshToken while a refresh was already in flight"
    return None


_FINISHED = OperationStatus.FINISHED

Position: TypeAlias = tuple[int, int | None]
"""Where a record is: its number and, if known, its line."""


class InvariantChecker:
    """Runs the checks step by step; keeps per-operation tool-result counts only.

    Args:
        config: the store's settings (resources are derived with them).
        effects_recorded: False when the log holds only frames (a HAR import), so the
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
        old: Operation | None,
        new: Operation | None,
        effects: Sequence[Effect] = (),
        positions: Sequence[Position] = (),
    ) -> list[Violation]:
        """The violations of one step: `action` (at `at`) took `old` to `new` with `effects`.

        `positions` says where each effect was recorded; a violation caused by one
        effect is reported there, any other at the action.
        """
        if (  # the streaming hot path: a running operation changed only what it shows
            not effects
            and old is not None
            and new is not None
            and new.connection is old.connection
            and new.status is old.status
            and old.status is not _FINISHED
            and not isinstance(action, SendFailed)
        ):
            problem = cursor_follows_server(action, old, new)
            if problem is None:
                return []
            return [self._at(at, action, "cursor-follows-server", problem)]
        found: list[Violation] = []
        op_id = action.operation_id

        def note(invariant: str, problem: str | None, where: Position = at) -> None:
            if problem is not None:
                found.append(self._at(where, action, invariant, problem))

        def position(index: int) -> Position:
            return positions[index] if index < len(positions) else at

        if self._effects_recorded:
            notified = [i for i, e in enumerate(effects) if isinstance(e, NotifyFinished)]
            for index in notified:
                if effects[index].operation_id != op_id:
                    note(
                        "notify-once",
                        f"NotifyFinished for {effects[index].operation_id} "
                        "in a step of this operation",
                        position(index),
                    )
            own = [i for i in notified if effects[i].operation_id == op_id]
            note("notify-once", notify_once(old, new, len(own)), position(own[-1]) if own else at)
            refreshes = [i for i, e in enumerate(effects) if isinstance(e, RefreshToken)]
            if refreshes:
                problem = refresh_single_flight(old, effects)
                note("refresh-single-flight", problem, position(refreshes[-1]))
        note("absorbing", absorbing(old, new, len(effects)), position(0))
        note("silence-never-completes", silence_never_completes(action, old, new))
        note("cursor-follows-server", cursor_follows_server(action, old, new))
        for index, call_id in self._count_tool_results(action, effects):
            note(
                "one-tool-result",
                f"a second tool_result frame for tool call {call_id!r}",
                position(index),
            )
        if new is not None and new is not old:
            if old is None or new.connection is not old.connection or new.status is not old.status:
                note("one-socket", one_socket(new, self._config))
            if _finishes(old, new):
                problem = no_resources_when_finished(new, self._config)
                note("no-resources-when-finished", problem)
                self._tool_results.pop(op_id, None)  # nothing may be sent for it any more
        return found

    @staticmethod
    def _at(where: Position, action: Action, invariant: str, message: str) -> Violation:
        return Violation(
            invariant=invariant,
            seq=where[0],
            line=where[1],
            operation_id=action.operation_id,
            message=message,
        )

    def _count_tool_results(
        self, action: Action, effects: Sequence[Effect]
    ) -> Iterator[tuple[int, str]]:
        """Count tool_result frames; yield (effect index, call id) of each second one."""
        if isinstance(action, SendFailed) and isinstance(action.message, ToolResult):
            counts = self._tool_results.get(action.operation_id)
            if counts is not None and counts[action.message.tool_call_id] > 0:
                counts[action.message.tool_call_id] -= 1  # it never left: it may be resent
        for index, effect in enumerate(effects):
            if isinstance(effect, SendMessage) and isinstance(effect.message, ToolResult):
                counts = self._tool_results.setdefault(effect.operation_id, Counter())
                call_id = effect.message.tool_call_id
                counts[call_id] += 1
                if counts[call_id] > 1:
                    yield index, call_id
