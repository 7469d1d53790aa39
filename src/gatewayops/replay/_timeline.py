"""Per-operation timelines of a replay: what changed, when, and where it stands.

Owns: `TimelineEntry` and `OperationTimeline` (per operation: status, connection and
intervention changes and the fetch of the server's message list, kept to at most
`MAX_TIMELINE_ENTRIES` entries, and counts of its records by kind), with `to_text` and
`to_json` of where the operation stands in a state. Every rendering has anything shaped
like a token redacted (`_safety.redacted_rendering`). Must not know: how records are
read or replayed, divergences, or the report as a whole (`_report`).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import attrs

from gatewayops._words import plural
from gatewayops.replay._format import Record
from gatewayops.replay._human_report import (
    intervention_changes,
    intervention_json,
    intervention_lines,
)
from gatewayops.replay._places import PLACES
from gatewayops.replay._safety import redacted_rendering
from gatewayops.replay._snapshot import snapshot_json, snapshot_lines
from gatewayops.store import GatewayState, Operation, RefetchStatus

__all__ = ["MAX_TIMELINE_ENTRIES", "OperationTimeline", "TimelineEntry"]

MAX_TIMELINE_ENTRIES = 200
"""Changes kept per operation; later ones are only counted (memory stays bounded)."""

_KINDS = {cls: kind.value for cls, (_, kind) in PLACES.items()}


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


def _refetch_moved(old: Operation, new: Operation) -> bool:
    """Whether the transcript's fetch of the server's message list moved."""
    before, after = old.transcript, new.transcript
    return after.refetch is not before.refetch or after.fetch_attempts != before.fetch_attempts


def _refetch_change(old: Operation | None, new: Operation) -> str | None:
    """The transcript's fetch of the server's message list moving, in words."""
    if old is None or not _refetch_moved(old, new):
        return None
    after = new.transcript
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
        new = new_state.operations.get(operation_id)
        if new is None or link_id is None:
            return
        old = old_state.operations.get(operation_id)
        if (  # the streaming hot path: nothing the timeline shows changed
            old is not None
            and new_state.links is old_state.links  # no link changed
            and new.status is old.status
            and new.stop_requested is old.stop_requested
            and new.human is old.human
            and not _refetch_moved(old, new)
        ):
            return
        link, old_link = new_state.links.get(link_id), old_state.links.get(link_id)
        if link is None:
            return
        human = intervention_changes(old, new)
        refetch = _refetch_change(old, new)
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

    @redacted_rendering
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

    @redacted_rendering
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
