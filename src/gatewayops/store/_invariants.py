"""Checking steps against the invariants of PROTOCOL.md section 11: the one checker.

Owns: `InvariantChecker`, which runs the checks of `_invariant_checks` on one step (the
action, the state before and after, and the effects the step produced) and keeps the
little state some need (per-link tool_result counts), reporting each problem as a
`Violation` at a `Position`; and `InvariantWatch`, the store middleware of
`open_client(..., check_invariants=True)`, which runs it on every dispatch of a live
client. The replayer checks every record with it and the state machine of
`gatewayops.testing` every step. It looks only at the link and the operation the action
is about (and derives their resources only when they changed), so checking costs O(1)
in the number of operations and records. Must not know: what each invariant says (see
`_invariant_checks`), files, records' text, Hypothesis, or how the effects were obtained.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import TypeAlias

import attrs

from gatewayops._secrets import get_logger
from gatewayops.protocol import AgentEventMessage, ToolResult
from gatewayops.store._actions import Action, MessageReceived, SendFailed
from gatewayops.store._config import Protocol, StoreConfig
from gatewayops.store._effects import Effect, NotifyFinished, RefreshToken, SendMessage
from gatewayops.store._invariant_checks import (
    absorbing,
    authentication_decides,
    backoff_capped,
    closed_unless_followed,
    cursor_follows_server,
    finishes,
    no_resources_when_finished,
    nothing_pending_when_finished,
    notify_once,
    one_socket,
    refresh_single_flight,
    silence_never_completes,
)
from gatewayops.store._reducer import Step
from gatewayops.store._retention import forgets_only_finished
from gatewayops.store._selectors import concerned
from gatewayops.store._state import GatewayState, OperationStatus

__all__ = [
    "KEPT_VIOLATIONS",
    "InvariantChecker",
    "InvariantWatch",
    "Position",
    "Violation",
]


@attrs.frozen(kw_only=True)
class Violation:
    """An invariant broken at one step (one record of a log).

    Attributes:
        invariant: the invariant's short name (see `_invariant_checks`).
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
            if op_id is None and old_link is not None and old_link.protocol is Protocol.V2:
                # news of the user's link as a whole may finish every session it carried
                carried = {*old_link.sessions, *(effects[i].operation_id for i in notified)}  # type: ignore[union-attr]
                for other in sorted(carried):
                    theirs = [i for i in notified if effects[i].operation_id == other]  # type: ignore[union-attr]
                    problem = notify_once(
                        old_state.operations.get(other),
                        new_state.operations.get(other),
                        len(theirs),
                    )
                    if problem is not None:
                        where = position(theirs[-1]) if theirs else at
                        found.append(self._at(where, other, "notify-once", problem))
                notified = []
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
        if new_state.retained is not old_state.retained or (old is not None and new is None):
            note("forgets-only-finished", forgets_only_finished(old_state, new_state, op_id))
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
        if new is not None and finishes(old, new):
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
