"""The replayer: fold `reduce` over a log's actions and check its effects, as a stream.

Owns: `replay`, which starts from ``GatewayState(config=header.config)``, reduces each
inbound record (an action), and compares the outbound records that follow it with the
effects the reducer produces now, in order. The first divergence is kept in detail
(record, action, expected vs actual, field-level diff) and later ones are counted;
PROTOCOL.md section 11 invariants are checked at every step (`store.InvariantChecker`). With
``until=N`` it stops after the step of record N (time travel). Records are consumed
one at a time and only the live state, one pending step and per-operation counters
are kept, so memory does not grow with the log. The state forgets finished operations
past the recorded `retain_finished`, as the live client did; the timeline of one the
state forgot becomes an `OperationSummary` (outcome and counts), so memory is bounded
by the operations the state holds, unless ``keep_transcripts`` keeps every finished
one. For a HAR import (header source ``har``) only frames are compared, heartbeats not
at all (the browser's timers are not in a HAR), and the v2 ``subscribe``s a step sends
in any order (a browser subscribes again on ``ready`` in its own). Must not know:
files or Trio.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar, cast

import attrs

from gatewayops.exceptions import LocalUsageError
from gatewayops.protocol import Heartbeat, Subscribe
from gatewayops.replay._format import Header, LogItem, LogWarning, Record, ReplayFormatError
from gatewayops.replay._places import PLACES, Direction
from gatewayops.replay._report import Divergence, ReplayReport
from gatewayops.replay._summary import Interner, OperationSummary
from gatewayops.replay._timeline import OperationTimeline
from gatewayops.store import (
    ABSENT,
    Action,
    Effect,
    GatewayState,
    InvariantChecker,
    Operation,
    Position,
    SendMessage,
    Step,
    Violation,
    concerned,
    diff,
    reduce,
)

__all__ = ["replay"]

_FOREVER = sys.maxsize
"""`retain_finished` of a replay that keeps every finished operation."""

MAX_VIOLATIONS = 100
"""Violations kept in detail; later ones are only counted."""

_OUTPUTS = frozenset(cls for cls, (direction, _) in PLACES.items() if direction is Direction.OUT)


def _is_checked_frame(effect: Effect) -> bool:
    """In a HAR import: a frame the browser's inputs determine (not a heartbeat)."""
    return isinstance(effect, SendMessage) and not isinstance(effect.message, Heartbeat)


_Frame = TypeVar("_Frame", Record, Effect)


def _frame_of(item: Record | Effect) -> Any:
    """The message of a checked frame (a HAR import's record, or the reducer's effect)."""
    return cast(SendMessage, item.item if isinstance(item, Record) else item).message


def _in_har_order(frames: Iterable[_Frame]) -> list[_Frame]:
    """`frames` with each run of consecutive v2 `subscribe`s ordered by operation: on
    `ready` a browser subscribes again in its own order, today's reducer in its."""
    ordered: list[_Frame] = []
    for subscribes, run in itertools.groupby(
        frames, key=lambda frame: isinstance(_frame_of(frame), Subscribe)
    ):
        if subscribes:
            ordered.extend(sorted(run, key=lambda frame: _frame_of(frame).operation_id))
        else:
            ordered.extend(run)
    return ordered


class _Replay:
    """The fold in progress: the live state, the pending step, and what was found.

    The pending step is the last action's (its record, the operation before it, its
    `Step` or the reducer's refusal) until the records of its effects have been read.
    """

    __slots__ = (
        "checker",
        "divergence",
        "divergences",
        "frames_only",
        "header",
        "inputs",
        "intern",
        "last_seq",
        "old",
        "outputs",
        "record",
        "recorded",
        "records",
        "refused",
        "state",
        "step",
        "subjects",
        "timeline",
        "timelines",
        "truncated",
        "until",
        "violation_count",
        "violations",
        "warnings",
    )

    def __init__(self, header: Header, until: int | None, keep_transcripts: bool) -> None:
        self.header = header
        self.until = until
        self.frames_only = header.source == "har"
        config = header.config
        if keep_transcripts:
            config = attrs.evolve(config, retain_finished=_FOREVER)
        self.state = GatewayState(config=config)
        self.checker = InvariantChecker(header.config, effects_recorded=not self.frames_only)
        self.record: Record | None = None
        self.old: GatewayState = self.state
        self.timeline: OperationTimeline | None = None
        """The timeline of the operation the pending step is about."""
        self.step: Step | None = None
        self.subjects: tuple[str | None, str | None] = (None, None)
        """The link and operation the pending step is about (`store.concerned`)."""
        self.refused: str | None = None
        self.recorded: list[Record] = []
        self.records = self.inputs = self.outputs = self.last_seq = 0
        self.divergence: Divergence | None = None
        self.divergences = 0
        self.violations: list[Violation] = []
        self.violation_count = 0
        self.warnings: list[str] = []
        self.truncated = False
        self.timelines: dict[str, OperationTimeline | OperationSummary] = {}
        self.intern = Interner()

    def take(self, record: Record) -> bool:
        """Replay one record; False once `until` is passed (the record is not taken)."""
        seq, item = record[0], record[3]
        if type(item) in _OUTPUTS:
            if self.record is None:
                self.diverge(record, None, (item,), (), None)  # type: ignore[arg-type]
            else:
                self.recorded.append(record)
            self.records += 1
            self.last_seq = seq
            return True
        if self.until is not None and seq > self.until:
            return False
        pending, step = self.record, self.step
        if pending is None:
            pass
        elif self.recorded or step is None or step.effects:  # effects (or a refusal) to compare
            self.settle()
        else:  # the hot path: settle a step without effects, inline
            action: Action = pending[3]  # type: ignore[assignment]  # a pending step's: an action
            found = self.checker.check(
                (pending[0], pending[4]), action, self.old, self.state, subjects=self.subjects
            )
            if found:
                self.violated(found)
        # apply the action: it becomes the pending step
        action = item  # type: ignore[assignment]  # not an output: an action
        self.inputs += 1
        self.old = old = self.state
        self.record = record
        try:
            self.step = step = reduce(old, action)
        except LocalUsageError as error:
            self.step, self.refused = None, f"{type(error).__name__}: {error}"
            new = old
        else:
            self.state = new = step.state
        self.subjects = link_id, op_id = concerned(new, action)
        self.timeline = None
        if op_id is not None:
            timeline = self.timelines.get(op_id)
            if timeline is None and (op_id in new.operations or op_id in old.operations):
                timeline = self.timelines[op_id] = OperationTimeline(op_id)
            if type(timeline) is OperationTimeline:  # not news of a forgotten operation
                self.timeline = timeline
                timeline.observe(record, old, new, op_id, link_id)
        if new.retained is not old.retained:  # an operation finished, or was forgotten
            for gone in (op_id, old.retained.oldest):
                if gone is not None and gone in old.operations and gone not in new.operations:
                    self.summarise(old.operations[gone], seq)
        self.records += 1
        self.last_seq = seq
        return True

    def summarise(self, op: Operation, seq: int) -> None:
        """The state forgot `op` after record `seq`: keep its outcome and counts only."""
        timeline = self.timelines.get(op.id)
        if type(timeline) is not OperationTimeline:
            return  # never observed (a state set up by hand), or summarised already
        if timeline is self.timeline:  # forgotten by this very step (which has no effects)
            self.timeline = None
        self.timelines[op.id] = OperationSummary.of(
            op,
            seq=seq,
            changes=len(timeline.entries) + timeline.more_entries,
            inputs=timeline.inputs,
            outputs=timeline.outputs,
            intern=self.intern,
        )

    def settle(self) -> None:
        """Compare the pending step's effects with the log's, and check invariants."""
        record, recorded, refused = self.record, self.recorded, self.refused
        if record is None:
            return
        step = self.step
        actual = () if step is None else step.effects
        self.record = self.step = self.refused = None
        if not recorded and not actual and refused is None:  # the hot path
            self.check(record, (), ())
            return
        self.recorded = []
        if recorded and self.timeline is not None:
            for out in recorded:
                self.timeline.outputs[out.kind.value] += 1
            self.outputs += len(recorded)
        if self.frames_only:
            recorded = _in_har_order(o for o in recorded if _is_checked_frame(cast(Effect, o.item)))
            actual = tuple(_in_har_order(filter(_is_checked_frame, actual)))
        # Effects are frozen attrs classes: equality compares them field by field (frames
        # included), so a field-level diff is built only on a mismatch (`diverge`).
        expected = tuple(cast(Effect, out.item) for out in recorded)
        if self.truncated and expected != actual and actual[: len(expected)] == expected:
            lost = len(actual) - len(expected)
            what = "effect of" if lost == 1 else f"{lost} effects of"
            self.warnings.append(
                f"the last {what} {record.where} {'was' if lost == 1 else 'were'} lost "
                "with the truncated line; not counted as a divergence"
            )
            expected = actual
        if expected != actual or refused is not None:
            self.diverge(record, recorded, expected, actual, refused)
        self.check(record, expected, [(out.seq, out.line) for out in recorded])

    def check(
        self, record: Record, effects: tuple[Effect, ...], positions: Sequence[Position]
    ) -> None:
        """Run the invariant checks on the settled step (`self.old` to the state now)."""
        action = cast(Action, record[3])
        found = self.checker.check(
            (record[0], record[4]),
            action,
            self.old,
            self.state,
            effects,
            positions,
            subjects=self.subjects,
        )
        if found:
            self.violated(found)

    def violated(self, found: list[Violation]) -> None:
        """Count the violations found at one step; keep the first `MAX_VIOLATIONS`."""
        self.violation_count += len(found)
        self.violations.extend(found[: MAX_VIOLATIONS - len(self.violations)])

    def diverge(
        self,
        record: Record,
        recorded: list[Record] | None,
        expected: tuple[Effect, ...],
        actual: tuple[Effect, ...],
        refused: str | None,
    ) -> None:
        self.divergences += 1
        if self.divergence is not None:
            return
        index = next(
            (i for i, pair in enumerate(zip(expected, actual, strict=False)) if pair[0] != pair[1]),
            min(len(expected), len(actual)),
        )
        where = record
        if recorded is not None and index < len(recorded) and refused is None:
            where = recorded[index]
        left = expected[index] if index < len(expected) else ABSENT
        right = actual[index] if index < len(actual) else ABSENT
        self.divergence = Divergence(
            seq=where.seq,
            line=where.line,
            action=None if recorded is None else cast(Action, record.item),
            action_seq=None if recorded is None else record.seq,
            action_line=None if recorded is None else record.line,
            expected=expected,
            actual=actual,
            changes=tuple(diff(left, right, f"[{index}]")) if left != right else (),
            refused=refused,
        )

    def report(self) -> ReplayReport:
        if self.until is not None and self.last_seq < self.until:
            self.warnings.append(
                f"the log ends at record {self.last_seq}, before record {self.until}"
            )
        return ReplayReport(
            header=self.header,
            state=self.state,
            until=self.until,
            records=self.records,
            inputs=self.inputs,
            outputs=self.outputs,
            last_seq=self.last_seq,
            divergence=self.divergence,
            divergences=self.divergences,
            violations=tuple(self.violations),
            violation_count=self.violation_count,
            warnings=tuple(self.warnings),
            operations=tuple(self.timelines.values()),
        )


def _header(items: Iterator[LogItem], warnings: list[str]) -> Header:
    for item in items:
        if isinstance(item, Header):
            return item
        if isinstance(item, LogWarning):
            warnings.append(item.message)
            continue
        raise ReplayFormatError(f"{item.where}: a log starts with its header", line=item.line)
    raise ReplayFormatError("empty log (no header)", line=1)


def replay(
    log: Iterable[LogItem], *, until: int | None = None, keep_transcripts: bool = False
) -> ReplayReport:
    """Replay a log through today's reducer, checking its effects and the invariants.

    Args:
        log: a `Header` followed by records (and any `LogWarning`s), as yielded by
            `read_log` or returned by `from_har`. Consumed one item at a time.
        until: stop after the step of record ``until``; the report's state is then the
            state right after that record (the effects recorded after its action are
            still compared).
        keep_transcripts: keep every finished operation in the state (its transcript,
            its timeline) instead of forgetting those past the recorded
            `retain_finished` as the live client did. Memory then grows with the log's
            operations. (A log whose application started an operation again under a
            forgotten id diverges there with it.)

    Returns:
        The report: the state reached, the first divergence, the violations found and
        a timeline per operation (a summary, for one the state forgot).

    Raises:
        ReplayFormatError: the log is malformed (from the reader), starts without a
            header, or has a second one.
    """
    items = iter(log)
    try:
        warnings: list[str] = []
        run = _Replay(_header(items, warnings), until, keep_transcripts)
        run.warnings.extend(warnings)
        take = run.take
        for item in items:
            if type(item) is Record:  # the hot path
                if not take(item):
                    break
            elif isinstance(item, LogWarning):
                run.warnings.append(item.message)
                run.truncated = run.truncated or item.truncated
            elif isinstance(item, Header):
                raise ReplayFormatError("a second header in the log")
            elif not take(item):
                break
        run.settle()
        return run.report()
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()
