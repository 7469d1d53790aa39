"""What a replay report says about the agent's requests for the user (PROTOCOL.md 6.2).

Owns: the timeline lines of an intervention changing (asked, answered or declined,
resolved, cancelled and why, a failed submission) and the summary of every intervention
of an operation where the replay stands (text and JSON): which were answered, how, and
which timed out. Answers are shown cut short, with secrets redacted by the report.
Must not know: how records are read or replayed, or how the report is laid out.
"""

from __future__ import annotations

import json
from typing import Any

from gatewayops.protocol import CancelReason, Refusal, ReviewedRequest
from gatewayops.store import Intervention, InterventionStatus, Operation

__all__ = ["intervention_changes", "intervention_json", "intervention_lines"]

_MAX_ANSWER = 60


def _answer(item: Intervention) -> str:
    if item.declined:
        return "declined"
    try:
        text = item.result if isinstance(item.result, str) else json.dumps(item.result)
    except (TypeError, ValueError):
        text = repr(item.result)
    if len(text) > _MAX_ANSWER:
        text = text[: _MAX_ANSWER - 3] + "..."
    return f"answer {text}"


def _kind(item: Intervention) -> str:
    review = item.review
    if isinstance(review, ReviewedRequest):
        return review.kind.value
    return "unreviewable"


def _state(item: Intervention) -> str:
    """How the intervention stands, in words."""
    match item.status:
        case InterventionStatus.PENDING:
            failed = f" (submission failed: {item.submit_error})" if item.submit_error else ""
            return "pending" + failed
        case InterventionStatus.RESOLVING:
            return f"resolving, {_answer(item)}"
        case InterventionStatus.RESOLVED:
            return f"resolved, {_answer(item)}"
        case InterventionStatus.CANCELLED:
            reason = "unknown reason" if item.cancel_reason is None else item.cancel_reason.value
            return f"cancelled ({reason})"


def intervention_changes(old: Operation | None, new: Operation) -> list[str]:
    """One line per intervention that appeared or changed between two versions."""
    if old is not None and old.human is new.human:
        return []
    changes = []
    for item in (*new.human.open.values(), *new.human.settled.values()):
        before = None if old is None else old.human.get(item.tool_call_id)
        if before == item:
            continue
        if before is None:
            asked = f"intervention {item.tool_call_id} asked ({_kind(item)})"
            if isinstance(item.review, Refusal):
                asked += f": {item.review.text}"
            changes.append(asked)
            if item.status is InterventionStatus.PENDING:
                continue
        if (
            before is None
            or before.status is not item.status
            or before.submit_error != item.submit_error
        ):
            changes.append(f"intervention {item.tool_call_id} {_state(item)}")
    return changes


def intervention_lines(op: Operation) -> list[str]:
    """The report's summary of every intervention of `op`, in the order asked."""
    items = sorted((*op.human.open.values(), *op.human.settled.values()), key=lambda i: i.order)
    if not items:
        return []
    answered = sum(i.status is InterventionStatus.RESOLVED and not i.declined for i in items)
    timed_out = sum(i.cancel_reason is CancelReason.TIMEOUT for i in items)
    lines = [f"  interventions: {len(items)} asked, {answered} answered, {timed_out} timed out"]
    lines.extend(f"    {i.tool_call_id} ({_kind(i)}): {_state(i)}" for i in items)
    return lines


def intervention_json(op: Operation) -> list[dict[str, Any]]:
    """Every intervention of `op` as JSON, in the order asked."""
    items = sorted((*op.human.open.values(), *op.human.settled.values()), key=lambda i: i.order)
    return [
        {
            "tool_call_id": item.tool_call_id,
            "kind": _kind(item),
            "status": item.status.value,
            "cancel_reason": None if item.cancel_reason is None else item.cancel_reason.value,
            "declined": item.declined,
            "result": None if item.declined else item.result,
            "submit_error": item.submit_error,
        }
        for item in items
    ]
