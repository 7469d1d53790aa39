"""What a replay report keeps of an operation the replayed state forgot.

Owns: `OperationSummary`, the small record that replaces an operation's timeline once
the store forgets it (past `StoreConfig.retain_finished`, as the live client did, or
because the app forgot it): its outcome, where it stood, how many changes its timeline
saw, and its records counted by kind, but neither its transcript nor its timeline, so
a replay's memory is bounded by the operations the state holds, not by the log. Equal
outcomes and equal counts are shared between summaries (`Interner`). Renders like a
timeline (`to_text`, `to_json`), tokens redacted. Must not know: how records are read
or replayed.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, TypeVar

import attrs

from gatewayops._secrets import redact_secrets
from gatewayops.replay._places import Kind
from gatewayops.replay._safety import redact_json
from gatewayops.store import GatewayState, Operation, Outcome

__all__ = ["Interner", "OperationSummary"]

_KINDS = tuple(kind.value for kind in Kind)
_T = TypeVar("_T")


class Interner:
    """Hands out one shared object for equal values (outcomes, count tuples)."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[object, object] = {}

    def __call__(self, value: _T) -> _T:
        return self._seen.setdefault(value, value)  # type: ignore[return-value]


def _counts(counter: Counter[str]) -> tuple[int, ...]:
    return tuple(counter.get(kind, 0) for kind in _KINDS)


def _listed(counts: tuple[int, ...]) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in sorted(zip(_KINDS, counts, strict=True)) if n)


@attrs.frozen(kw_only=True, weakref_slot=False)
class OperationSummary:
    """An operation the replayed state no longer holds: its outcome and counts.

    Attributes:
        operation_id: the operation (its topic is not kept: one string less each).
        outcome: how it ended (only a finished operation is ever forgotten).
        forgotten_at: the record after which the state no longer held it.
        cursor: its resume cursor at the end.
        events: events its transcript showed.
        bad_frames: frames refused whole.
        problems: fields degraded.
        last_problem: the last of those problems, if any.
        changes: entries its timeline had (they are not kept).
        inputs: its input records by kind (`Kind` order).
        outputs: its output records by kind (`Kind` order).
    """

    operation_id: str
    outcome: Outcome
    forgotten_at: int
    cursor: str
    events: int
    bad_frames: int
    problems: int
    last_problem: str | None
    changes: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]

    @classmethod
    def of(
        cls,
        op: Operation,
        *,
        seq: int,
        changes: int,
        inputs: Counter[str],
        outputs: Counter[str],
        intern: Interner,
    ) -> OperationSummary:
        """The summary of `op` (finished) as it stood when forgotten after record `seq`."""
        assert op.outcome is not None  # only finished operations are forgotten
        return cls(
            operation_id=op.id,
            outcome=intern(op.outcome),
            forgotten_at=seq,
            cursor=op.last_event_id,
            events=op.transcript.events,
            bad_frames=op.bad_frames,
            problems=op.problems,
            last_problem=op.last_problem,
            changes=changes,
            inputs=intern(_counts(inputs)),
            outputs=intern(_counts(outputs)),
        )

    def _status(self) -> str:
        outcome = self.outcome
        detail = f" ({outcome.detail})" if outcome.detail else ""
        return f"finished: {outcome.result.value} via {outcome.source.value}{detail}"

    def to_text(self, state: GatewayState | None = None, *, snapshot: bool = False) -> str:
        """The outcome, where the operation stood, and its record counts (`state` and
        `snapshot` are accepted as a timeline's are; neither adds anything here)."""
        lines = [
            f"operation {self.operation_id}",
            f"  forgotten after record {self.forgotten_at}: its {self.changes} changes and "
            "transcript are not kept (replay --keep-transcripts keeps them)",
            f"  now: {self._status()}; cursor {self.cursor or '-'}; {self.events} events "
            f"shown; {self.bad_frames} bad frames; {self.problems} problems"
            + ("" if self.last_problem is None else f" (last: {self.last_problem})"),
            f"  records in: {_listed(self.inputs) or 'none'}; "
            f"out: {_listed(self.outputs) or 'none'}",
        ]
        return redact_secrets("\n".join(lines))

    def to_json(
        self, state: GatewayState | None = None, *, snapshot: bool = False
    ) -> dict[str, Any]:
        """The summary as JSON, with a timeline's keys (its ``timeline`` empty)."""
        standing = {
            "operation": self.operation_id,
            "status": "finished",
            "outcome": attrs.asdict(self.outcome),
            "forgotten_at": self.forgotten_at,
            "cursor": self.cursor,
            "events": self.events,
            "bad_frames": self.bad_frames,
            "problems": self.problems,
            "last_problem": self.last_problem,
            "inputs": {kind: n for kind, n in zip(_KINDS, self.inputs, strict=True) if n},
            "outputs": {kind: n for kind, n in zip(_KINDS, self.outputs, strict=True) if n},
            "timeline": [],
            "more_changes": self.changes,
        }
        return redact_json(standing)  # type: ignore[no-any-return]
