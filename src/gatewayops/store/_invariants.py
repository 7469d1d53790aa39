"""Checking steps against the invariants of PROTOCOL.md section 11: the one checker.

Owns: `InvariantChecker`, which runs the checks of `_invariant_checks` (and, for the
user's v2 link, `_invariant_checks_v2`) on one step (the action, the state before and
after, and the effects the step produced) and keeps the little state some need
(per-operation tool_result counts), reporting each problem as a `Violation` at a
`Position`; and `InvariantWatch`, the store middleware of
`open_client(..., check_invariants=True)`, which runs it on every dispatch of a live
client. The replayer checks every record with it and the state machines of
`gatewayops.testing` every step. It looks only at the link and the operations the step
concerns: on v1 the one operation of the link; on v2 the one a frame names, those its
effects name and, when the link itself changed, every session it carries (and derives
resources only when they changed), so checking a streamed event costs O(1) in the
number of operations and records. Must not know: what each invariant says (see
`_invariant_checks`), files, records' text, Hypothesis, or how the effects were obtained.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import TypeAlias

import attrs

from gatewayops._secrets import get_logger
from gatewayops.protocol import AgentEventMessage
from gatewayops.protocol._v2_messages import MuxAgentEvent
from gatewayops.store._actions import Action, MessageReceived, SendFailed
from gatewayops.store._config import Protocol, StoreConfig
from gatewayops.store._effects import Effect, NotifyFinished, RefreshToken, SendMessage
from gatewayops.store._invariant_checks import (
    FETCH_ANSWERS,
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
from gatewayops.store._invariant_checks_v2 import (
    carried_while_followed,
    held_stays_down,
    named_operation,
    nothing_for_ended,
    queued_until_deadline,
    result_call_id,
    sessions_live,
    unsubscribe_after_last,
)
from gatewayops.store._reducer import Step
from gatewayops.store._retention import forgets_only_finished
from gatewayops.store._selectors import concerned
from gatewayops.store._state import GatewayState, Link, OperationStatus

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
_EVENT_FRAMES = frozenset({AgentEventMessage, MuxAgentEvent})

Position: TypeAlias = tuple[int, int | None]
"""Where a step is: its number and, if known, its line in a log."""


def _link(state: GatewayState, link_id: str | None) -> Link | None:
    return None if link_id is None else state.links.get(link_id)


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
        *,
        subjects: tuple[str | None, str | None] | None = None,
    ) -> list[Violation]:
        """The violations of one step: `action` (at `at`) took `old_state` to `new_state`
        with `effects`. `positions` says where each effect was recorded; a violation
        caused by one effect is reported there, any other at the action. `subjects` is
        ``store.concerned(new_state, action)`` when the caller has it already."""
        link_id, op_id = concerned(new_state, action) if subjects is None else subjects
        old = None if op_id is None else old_state.operations.get(op_id)
        new = None if op_id is None else new_state.operations.get(op_id)
        links_kept = new_state.links is old_state.links  # no link changed (a streamed event)
        if (  # the streaming hot path: an event changed only what a running operation shows
            not effects
            and type(action) is MessageReceived
            and type(action.message) in _EVENT_FRAMES
            and old is not None
            and new is not None
            and new.status is old.status
            and old.status is not _FINISHED
            and (links_kept or _link(old_state, link_id) is _link(new_state, link_id))
        ):
            problem = cursor_follows_server(action, old, new)
            if problem is None:
                return []
            return [self._at(at, op_id or "", "cursor-follows-server", problem)]
        new_link = _link(new_state, link_id)
        old_link = new_link if links_kept else _link(old_state, link_id)
        found: list[Violation] = []

        def note(who: str, invariant: str, problem: str | None, where: Position = at) -> None:
            if problem is not None:
                found.append(self._at(where, who, invariant, problem))

        def position(index: int) -> Position:
            return positions[index] if index < len(positions) else at

        ids = self._concerned_operations(op_id, old_link, new_link, effects)
        who = op_id or link_id or ""
        if self._effects_recorded:
            for index, effect in enumerate(effects):
                other = effect.operation_id if type(effect) is NotifyFinished else None
                if other is not None and other not in ids:
                    note(
                        who,
                        "notify-once",
                        f"NotifyFinished for {other} in a step of this one",
                        position(index),
                    )
        fetched = op_id if type(action) in FETCH_ANSWERS else None
        late = nothing_for_ended(old_state.operations, effects, fetched)
        if late is not None:
            note(who, "nothing-for-ended", late[1], position(late[0]))
        if new_state.retained is not old_state.retained or (old is not None and new is None):
            note(who, "forgets-only-finished", forgets_only_finished(old_state, new_state, op_id))
        for index, call_id in self._count_tool_results(action, new_state, effects):
            note(
                who,
                "one-tool-result",
                f"a second tool_result frame for tool call {call_id!r}",
                position(index),
            )
        if new_link is not None and new_link is not old_link:
            note(who, "one-socket", one_socket(new_link, self._config))
            note(who, "backoff-capped", backoff_capped(new_link, self._config))
            if new_link.protocol is Protocol.V2:
                note(who, "sessions-live", sessions_live(new_link, new_state.operations))
        if new_link is not None and new_link.protocol is Protocol.V2 and effects:
            note(who, "unsubscribe-after-last", unsubscribe_after_last(old_link, new_link, effects))
        v2_link = new_link is not None and new_link.protocol is Protocol.V2
        if v2_link and (effects or new_link is not old_link):
            assert new_link is not None  # for the type checker: `v2_link` says so
            note(who, "held-stays-down", held_stays_down(action, old_link, new_link, effects))
        for operation_id in ids:
            self._check_operation(
                note, position, action, old_state, new_state, operation_id, effects
            )
        return found

    @staticmethod
    def _concerned_operations(
        op_id: str | None, old_link: Link | None, new_link: Link | None, effects: Sequence[Effect]
    ) -> list[str]:
        """The operations a step concerns: the one it names; on a v2 link also every
        operation an effect names and, if the link changed, every session it carried
        before or carries after (so the hot path stays O(1))."""
        ids = [] if op_id is None else [op_id]
        link = new_link or old_link
        if link is None or link.protocol is not Protocol.V2:
            return ids
        named = (named_operation(effect) for effect in effects)
        more = {operation_id for operation_id in named if operation_id is not None}
        if new_link is not old_link:
            for carrier in (old_link, new_link):
                if carrier is not None:
                    more.update(carrier.sessions)
        more.discard(op_id or "")
        return ids + sorted(more)

    def _check_operation(
        self,
        note: Callable[..., None],
        position: Callable[[int], Position],
        action: Action,
        old_state: GatewayState,
        new_state: GatewayState,
        op_id: str,
        effects: Sequence[Effect],
    ) -> None:
        """The checks of one operation the step concerns (with its own link, before and
        after: an operation moved from v2 to v1 has another one after)."""
        old = old_state.operations.get(op_id)
        new = new_state.operations.get(op_id)
        old_link = None if old is None else old_state.links.get(old.link_id)
        new_link = None if new is None else new_state.links.get(new.link_id)
        own_effects = [e for e in effects if named_operation(e) in (None, op_id)]
        if self._effects_recorded:
            own = [
                i
                for i, e in enumerate(effects)
                if type(e) is NotifyFinished and e.operation_id == op_id
            ]
            note(
                op_id,
                "notify-once",
                notify_once(old, new, len(own)),
                position(own[-1]) if own else position(len(effects)),
            )
            refreshes = [i for i, e in enumerate(own_effects) if isinstance(e, RefreshToken)]
            if refreshes:
                note(op_id, "refresh-single-flight", refresh_single_flight(old, own_effects))
        changed_link = new_link is not old_link and (
            new_link is None or new_link.operation_id == op_id
        )
        note(
            op_id, "absorbing", absorbing(action, old, new, changed_link, own_effects), position(0)
        )
        note(op_id, "silence-never-completes", silence_never_completes(action, old, new))
        note(op_id, "cursor-follows-server", cursor_follows_server(action, old, new))
        note(op_id, "authentication-decides", authentication_decides(action, old, new, old_link))
        if old is not None and new is not None:
            note(op_id, "queued-until-deadline", queued_until_deadline(action, old, new, effects))
        if (
            new is not None
            and new_link is not None
            and (new_link is not old_link or new is not old)
        ):
            note(
                op_id, "closed-unless-followed", closed_unless_followed(new, new_link, self._config)
            )
            if new_link.protocol is Protocol.V2:
                note(op_id, "sessions-live", sessions_live(new_link, new_state.operations, [op_id]))
                note(op_id, "sessions-live", carried_while_followed(new, new_link))
        if new is not None and finishes(old, new):
            note(
                op_id,
                "no-resources-when-finished",
                no_resources_when_finished(new, new_link, self._config),
            )
            note(op_id, "nothing-pending-when-finished", nothing_pending_when_finished(new))
            self._tool_results.pop(op_id, None)  # nothing may be sent for it now

    @staticmethod
    def _at(where: Position, who: str, invariant: str, message: str) -> Violation:
        return Violation(
            invariant=invariant, seq=where[0], line=where[1], operation_id=who, message=message
        )

    def _count_tool_results(
        self, action: Action, state: GatewayState, effects: Sequence[Effect]
    ) -> Iterator[tuple[int, str]]:
        """Count tool_result frames per operation (v1's frame on its link, v2's naming
        its operation); yield (effect index, call id) of each second one."""
        if isinstance(action, SendFailed):
            failed = SendMessage(link_id=action.link_id, generation=0, message=action.message)
            call_id = result_call_id(failed)
            counts = self._tool_results.get(self._result_owner(state, failed))
            if call_id is not None and counts is not None and counts[call_id] > 0:
                counts[call_id] -= 1  # it never left: it may be resent
        for index, effect in enumerate(effects):
            call_id = result_call_id(effect)
            if call_id is None or type(effect) is not SendMessage:
                continue
            counts = self._tool_results.setdefault(self._result_owner(state, effect), Counter())
            counts[call_id] += 1
            if counts[call_id] > 1:
                yield index, call_id

    @staticmethod
    def _result_owner(state: GatewayState, effect: SendMessage) -> str:
        """The operation a tool_result frame is for."""
        named = named_operation(effect)
        if named is not None:
            return named
        link = state.links.get(effect.link_id)
        return effect.link_id if link is None else link.operation_id


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
