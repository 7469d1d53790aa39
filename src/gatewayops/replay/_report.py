"""What a replay found, for people (text) and for machines (JSON).

Owns: `Divergence` (where the log and today's reducer part ways, with a field-level
diff), `OperationTimeline` (per operation: status, connection and intervention changes
and the fetch of the server's message list, kept to a bounded number of entries, and
counts of records by kind) and `ReplayReport`, with
`to_text` and `to_json`. Every rendering, text or JSON, has anything shaped like a
token redacted (`gatewayops._secrets`): a log from an older recorder, or edited by
hand, may hold one, and a report is made to be pasted into an issue. Must not know:
how records are read or replayed.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

import attrs

from gatewayops._secrets import redact_secrets
from gatewayops._words import plural
from gatewayops.replay._codec import PLACES, encode_item
from gatewayops.replay._format import Header, Record
from gatewayops.replay._human_report import (
    intervention_changes,
    intervention_json,
    intervention_lines,
)
from gatewayops.replay._safety import redact_json
from gatewayops.replay._snapshot import snapshot_json, snapshot_lines
from gatewayops.store import (
    Action,
    Change,
    Effect,
    GatewayState,
    Operation,
    RefetchStatus,
    Violation,
    format_changes,
)

if TYPE_CHECKING:  # a summary renders itself; only its type is needed here
    from gatewayops.replay._summary import OperationSummary

__all__ = ["Divergence", "OperationTimeline", "ReplayReport", "TimelineEntry"]

MAX_TIMELINE_ENTRIES = 200
"""Changes kept per operation; later ones are only counted (memory stays bounded)."""

_MAX_REPR = 400
_KINDS = {cls: kind.value for cls, (_, kind) in PLACES.items()}


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 3] + "..."


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _where(seq: int | None, line: int | None) -> str:
    return f"record {seq}" + ("" if line is None else f" (line {line})")


_P = ParamSpec("_P")
_Rendered = TypeVar("_Rendered", str, dict[str, Any])


def _redacted(render: Callable[_P, _Rendered]) -> Callable[_P, _Rendered]:
    """`render` (a ``to_text`` or ``to_json``), with secrets redacted from what it returns."""

    @functools.wraps(render)
    def rendered(*args: _P.args, **kwargs: _P.kwargs) -> _Rendered:
        result = render(*args, **kwargs)
        if isinstance(result, str):
            return redact_secrets(result)
        return cast(dict[str, Any], redact_json(result))

    return rendered


@attrs.frozen(kw_only=True)
class Divergence:
    """The first place where the effects in the log differ from today's reducer's.

    Attributes:
        seq: the record where they part (the first differing outbound record, or the
            action itself when the reducer produced more than the log has, or refused).
        line: that record's line, if known.
        action: the action whose effects differ (None for effects before any action).
        action_seq: the action's record number.
        action_line: the action's line, if known.
        expected: the effects the log records after the action, in order.
        actual: the effects the reducer produces now, in order.
        changes: field-level differences at the first differing position.
        refused: the reducer's error, if it refused the action (a `LocalUsageError`).
    """

    seq: int
    line: int | None
    action: Action | None
    action_seq: int | None
    action_line: int | None
    expected: tuple[Effect, ...]
    actual: tuple[Effect, ...]
    changes: tuple[Change, ...]
    refused: str | None = None

    @_redacted
    def to_text(self) -> str:
        """Several lines: where, the action, expected vs actual, and the diff."""
        lines = [f"DIVERGENCE at {_where(self.seq, self.line)}"]
        if self.action is not None:
            lines.append(
                f"  after {_where(self.action_seq, self.action_line)}: {_short(self.action)}"
            )
        if self.refused is not None:
            lines.append(f"  the reducer refused the action: {self.refused}")
        lines.append("  expected (the log):")
        lines.extend(f"    {_short(effect)}" for effect in self.expected or ["(no effects)"])
        lines.append("  actual (the reducer now):")
        lines.extend(f"    {_short(effect)}" for effect in self.actual or ["(no effects)"])
        if self.changes:
            lines.append("  field-level diff (expected -> actual):")
            lines.append("  " + format_changes(list(self.changes)).replace("\n", "\n  "))
        return "\n".join(lines)

    @_redacted
    def to_json(self) -> dict[str, Any]:
        """The divergence as JSON (effects as their record payloads, tokens redacted)."""
        return {
            "seq": self.seq,
            "line": self.line,
            "action_seq": self.action_seq,
            "action_line": self.action_line,
            "action": None if self.action is None else encode_item(self.action),
            "expected": [encode_item(effect) for effect in self.expected],
            "actual": [encode_item(effect) for effect in self.actual],
            "changes": [str(change) for change in self.changes],
            "refused": self.refused,
        }


@attrs.frozen(kw_only=True)
class TimelineEntry:
    """One change of an operation: when (record and time) and what."""

    seq: int
    t: float
    change: str


def _status_text(op: Operation) -> str:
    if op.outcome is not None:
        detail = f" ({op.outcome.detail})" if op.outcome.detail else ""
        return f"finished: {op.outcome.result.value} via {op.outcome.source.value}{detail}"
    return op.status.value


def _refetch_change(old: Operation | None, new: Operation) -> str | None:
    """The transcript's fetch of the server's message list moving, in words."""
    after = new.transcript
    before = None if old is None else old.transcript
    if before is None or (
        after.refetch is before.refetch and after.fetch_attempts == before.fetch_attempts
    ):
        return None
    match after.refetch:
        case RefetchStatus.ASKED:
            why = "" if after.refetch_problem is None else f" after {after.refetch_problem}"
            return f"message list asked for (attempt {after.fetch_attempts}){why}"
        case RefetchStatus.GAVE_UP:
            return f"message list given up: {after.refetch_problem}"
        case RefetchStatus.IDLE:
            return f"message list adopted (revision {after.revision})"


@attrs.define
class OperationTimeline:
    """An operation's changes over the log, and counts of its records by kind."""

    operation_id: str
    entries: list[TimelineEntry] = attrs.Factory(list)
    more_entries: int = 0
    inputs: Counter[str] = attrs.Factory(Counter)
    outputs: Counter[str] = attrs.Factory(Counter)

    def observe(
        self,
        record: Record,
        old_state: GatewayState,
        new_state: GatewayState,
        operation_id: str,
        link_id: str | None,
    ) -> None:
        """Note what the input `record` changed (status, connection, a stop)."""
        self.inputs[_KINDS[type(record.item)]] += 1
        old, new = old_state.operations.get(operation_id), new_state.operations.get(operation_id)
        old_link = None if link_id is None else old_state.links.get(link_id)
        link = None if link_id is None else new_state.links.get(link_id)
        if new is None or link is None:
            return
        human = intervention_changes(old, new)
        refetch = _refetch_change(old, new)
        if (
            not human
            and refetch is None
            and old is not None
            and link is old_link
            and new.status is old.status
            and new.stop_requested is old.stop_requested
        ):
            return
        changes = []
        if old is None:
            verb = type(record.item).__name__.removeprefix("Operation").lower()
            changes.append(f"{verb} on topic {new.topic_id}: {_status_text(new)}")
        elif new.status is not old.status:
            changes.append(_status_text(new))
        if old_link is None or link.status is not old_link.status:
            changes.append(f"connection {link.status.value} (generation {link.generation})")
            if new.last_problem is not None and (
                old is None or new.last_problem != old.last_problem
            ):
                changes[-1] += f" after {new.last_problem}"
        if new.stop_requested and (old is None or not old.stop_requested):
            changes.append("stop requested")
        changes.extend(human)
        if refetch is not None:
            changes.append(refetch)
        if not changes:
            return
        if len(self.entries) < MAX_TIMELINE_ENTRIES:
            entry = TimelineEntry(seq=record.seq, t=record.t, change="; ".join(changes))
            self.entries.append(entry)
        else:
            self.more_entries += 1

    @_redacted
    def to_text(self, state: GatewayState, *, snapshot: bool = False) -> str:
        """The timeline, then where the operation stands (in `state`), the record counts.

        With `snapshot` (the report of a replay ``until`` a record), where it stands
        includes its input button, refresh, resume, owed tool results and transcript.
        """
        op = state.operations.get(self.operation_id)
        topic = "" if op is None else f" on topic {op.topic_id}"
        lines = [f"operation {self.operation_id}{topic}"]
        lines.extend(f"  #{e.seq:<6} {e.t:9.3f}s  {e.change}" for e in self.entries)
        if self.more_entries:
            lines.append(f"  ... {self.more_entries} more changes not shown")
        if op is not None:
            lines.append(
                f"  now: {_status_text(op)}; connection {state.link_of(op).status.value}; "
                f"cursor {op.last_event_id or '-'}; {plural(op.transcript.events, 'event')} shown; "
                f"{plural(op.bad_frames, 'bad frame')}; {plural(op.problems, 'problem')}"
                + ("" if op.last_problem is None else f" (last: {op.last_problem})")
            )
            lines.extend(intervention_lines(op))
            if snapshot:
                lines.extend(snapshot_lines(op, state))
        inputs = ", ".join(f"{count} {kind}" for kind, count in sorted(self.inputs.items()))
        outputs = ", ".join(f"{count} {kind}" for kind, count in sorted(self.outputs.items()))
        lines.append(f"  records in: {inputs or 'none'}; out: {outputs or 'none'}")
        return "\n".join(lines)

    @_redacted
    def to_json(self, state: GatewayState, *, snapshot: bool = False) -> dict[str, Any]:
        """The timeline and the operation's standing (in `state`) as JSON; with
        `snapshot`, the standing includes the keys of `snapshot_json` (transcript...)."""
        standing: dict[str, Any] = {}
        op = state.operations.get(self.operation_id)
        if op is not None:
            link = state.link_of(op)
            outcome = None if op.outcome is None else attrs.asdict(op.outcome)
            standing = {
                "topic": op.topic_id,
                "status": op.status.value,
                "outcome": outcome,
                "connection": link.status.value,
                "generation": link.generation,
                "cursor": op.last_event_id,
                "events": op.transcript.events,
                "bad_frames": op.bad_frames,
                "problems": op.problems,
                "last_problem": op.last_problem,
                "interventions": intervention_json(op),
            }
            if snapshot:
                standing.update(snapshot_json(op, state))
        return {
            "operation": self.operation_id,
            **standing,
            "inputs": dict(self.inputs),
            "outputs": dict(self.outputs),
            "timeline": [attrs.asdict(entry) for entry in self.entries],
            "more_changes": self.more_entries,
        }


@attrs.frozen(kw_only=True)
class ReplayReport:
    """The result of `replay`: the state reached and everything found on the way.

    Attributes:
        header: the log's header.
        state: the state after the last record replayed (after record `until`, if given).
        until: the record asked for with ``until``, if any.
        records: records replayed; `inputs` of them actions, `outputs` effects.
        last_seq: the number of the last record replayed (0 if none).
        divergence: the first divergence, if any; `divergences` counts all steps whose
            effects differ.
        violations: the first violations found (at most 100); `violation_count` counts all.
        warnings: what was odd but not fatal (a truncated last line, HAR import notes).
        operations: one timeline per operation, in order of first appearance; for an
            operation the state forgot (past `retain_finished`), its summary.
    """

    header: Header
    state: GatewayState
    until: int | None
    records: int
    inputs: int
    outputs: int
    last_seq: int
    divergence: Divergence | None
    divergences: int
    violations: tuple[Violation, ...]
    violation_count: int
    warnings: tuple[str, ...]
    operations: tuple[OperationTimeline | OperationSummary, ...]

    @property
    def ok(self) -> bool:
        """True when nothing diverged and no invariant was broken."""
        return self.divergence is None and self.violation_count == 0

    @_redacted
    def verdict(self) -> str:
        """One line: OK, or what failed and where first."""
        if self.ok:
            replayed = _count(self.records, "record")
            return f"OK: {replayed} replayed; no divergence; no invariant broken"
        parts = []
        if self.divergence is not None:
            first = _where(self.divergence.seq, self.divergence.line)
            parts.append(f"{_count(self.divergences, 'diverging step')} (first at {first})")
        if self.violation_count:
            parts.append(
                f"{_count(self.violation_count, 'invariant violation')} "
                f"(first at {self.violations[0]})"
            )
        return f"FAILED: {'; '.join(parts)}"

    @_redacted
    def to_text(self, *, timelines: bool = True) -> str:
        """The report for people: timelines (optional; after a replay ``until`` a record,
        each operation's input, refresh, resume, owed tools and transcript there, see
        `_snapshot`), divergence, violations, verdict."""
        header = self.header
        lines = [
            f"log: {header.source} recording by gatewayops {header.library}, started "
            f"{header.started_at}; {_count(self.records, 'record')}"
            + ("" if self.until is None else f"; state after record {self.until}")
        ]
        if timelines:
            for timeline in self.operations:
                lines.append(timeline.to_text(self.state, snapshot=self.until is not None))
        if self.divergence is not None:
            lines.append(self.divergence.to_text())
        lines.extend(f"VIOLATION at {violation}" for violation in self.violations)
        if self.violation_count > len(self.violations):
            lines.append(f"... {self.violation_count - len(self.violations)} more violations")
        lines.append(self.verdict())
        return "\n".join(lines)

    @_redacted
    def to_json(self) -> dict[str, Any]:
        """The report for machines."""
        return {
            "ok": self.ok,
            "header": {
                "library": self.header.library,
                "started_at": self.header.started_at,
                "operation": self.header.operation,
                "source": self.header.source,
                "config": attrs.asdict(self.header.config),
            },
            "until": self.until,
            "records": self.records,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "last_seq": self.last_seq,
            "divergence": None if self.divergence is None else self.divergence.to_json(),
            "divergences": self.divergences,
            "violations": [attrs.asdict(violation) for violation in self.violations],
            "violation_count": self.violation_count,
            "warnings": list(self.warnings),
            "operations": [
                timeline.to_json(self.state, snapshot=self.until is not None)
                for timeline in self.operations
            ],
        }
