"""What a replay found, for people (text) and for machines (JSON).

Owns: `Divergence` (where the log and today's reducer part ways, with a field-level
diff) and `ReplayReport` (the log's header and protocol, each operation's timeline or
summary, the divergence, the violations, the verdict), with `to_text` and `to_json`.
Every rendering, text or JSON, has anything shaped like a token redacted
(`_safety.redacted_rendering`): a log from an older recorder, or edited by hand, may
hold one, and a report is made to be pasted into an issue. Must not know: how records
are read or replayed, or what a timeline holds (`_timeline`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from gatewayops.replay._codec import encode_item
from gatewayops.replay._format import Header
from gatewayops.replay._safety import redacted_rendering
from gatewayops.replay._timeline import OperationTimeline
from gatewayops.store import (
    Action,
    Change,
    Effect,
    GatewayState,
    Violation,
    format_changes,
)

if TYPE_CHECKING:  # a summary renders itself; only its type is needed here
    from gatewayops.replay._summary import OperationSummary

__all__ = ["Divergence", "ReplayReport"]

_MAX_REPR = 400


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 3] + "..."


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _where(seq: int | None, line: int | None) -> str:
    return f"record {seq}" + ("" if line is None else f" (line {line})")


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

    @redacted_rendering
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

    @redacted_rendering
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
        operations: one timeline per operation the state held, in order of first
            appearance (a v2 frame for an operation the store never followed makes
            none); for an operation the state forgot (past `retain_finished`), its
            summary.
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

    @redacted_rendering
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

    @redacted_rendering
    def to_text(self, *, timelines: bool = True) -> str:
        """The report for people: timelines (optional; after a replay ``until`` a record,
        each operation's input, refresh, resume, owed tools and transcript there, see
        `_snapshot`), divergence, violations, verdict."""
        header = self.header
        lines = [
            f"log: {header.source} recording of protocol {header.protocol.value} by "
            f"gatewayops {header.library}, started "
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

    @redacted_rendering
    def to_json(self) -> dict[str, Any]:
        """The report for machines."""
        return {
            "ok": self.ok,
            "header": {
                "library": self.header.library,
                "started_at": self.header.started_at,
                "operation": self.header.operation,
                "source": self.header.source,
                "protocol": self.header.protocol.value,
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
