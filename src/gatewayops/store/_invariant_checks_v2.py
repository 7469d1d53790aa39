"""The invariants protocol v2 adds: one user link carrying many sessions, one pure check each.

Owns, for the steps of a v2 link (PROTOCOL.md 7.4-7.6 and section 11), a pure function
per invariant below of what it needs (the link before and after, the operations before
and after, the effects) returning what is wrong or None, plus `named_operation`, the
operation an effect is for. `_invariants.InvariantChecker` decides which checks a step
needs, runs them and counts tool results (``one-tool-result`` covers v2's
`tool_result` frames there). Must not know: which steps are checked, state kept between
steps, `Violation`, logging, files or Hypothesis; what v1's checks say
(`_invariant_checks`).

The invariants:

* ``sessions-live`` (1, 2): every session a v2 link carries is a running operation
  that names the link as its own, so no ended or moved operation is subscribed again;
  and every running operation that names a v2 link is among its sessions.
* ``unsubscribe-after-last`` (7.4): an `unsubscribe` goes out only for an operation the
  link carried before the step and no longer carries after it (or that subscribes
  again in the same step: a resubscribe), and a `subscribe` only for one it carries.
* ``nothing-for-ended`` (2, 15): no effect of a step names an operation that had
  finished before it (the answer to a finished run's fetch of its message list aside,
  which ``absorbing`` checks).
* ``queued-until-deadline`` (14; section 12.5): a tool result is marked sent only in a
  step that writes its frame (v1's or v2's), and a queued one leaves its operation's
  queue only so or by its deadline passing (or with the operation no longer followed).
* ``held-stays-down`` (7.6 `disconnect()`): a link the application disconnected has no
  socket and writes nothing, and only the application's connect releases it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import immutables

from gatewayops.protocol import ToolResult
from gatewayops.protocol._v2_messages import MuxToolResult, Subscribe, Unsubscribe
from gatewayops.store._actions import Action, LinkConnectRequested, TimerFired
from gatewayops.store._effects import Effect, NotifyFinished, SendMessage
from gatewayops.store._resources import TimerKind
from gatewayops.store._state import ConnectionStatus, Link, Operation, OperationStatus, ToolStatus

__all__ = [
    "carried_while_followed",
    "held_stays_down",
    "named_operation",
    "nothing_for_ended",
    "queued_until_deadline",
    "result_call_id",
    "sessions_live",
    "unsubscribe_after_last",
]

_RUNNING = OperationStatus.RUNNING


def named_operation(effect: Effect) -> str | None:
    """The operation an effect is for: its own field, or a v2 frame's envelope (a v1
    frame names none: its link is its operation's)."""
    found = getattr(effect, "operation_id", None)
    if found is None and type(effect) is SendMessage:
        found = getattr(effect.message, "operation_id", None)
    return found if isinstance(found, str) else None


def result_call_id(effect: Effect) -> str | None:
    """The tool call whose result `effect` writes (v1's frame or v2's), or None."""
    if type(effect) is not SendMessage:
        return None
    message = effect.message
    if type(message) is MuxToolResult:
        return message.result.tool_call_id
    return message.tool_call_id if type(message) is ToolResult else None


def sessions_live(
    link: Link, operations: Mapping[str, Operation], ids: Sequence[str] | None = None
) -> str | None:
    """``sessions-live``: the sessions named in `ids` (all of them if None) are running
    operations of this link."""
    for operation_id in link.sessions if ids is None else ids:
        if operation_id not in link.sessions:
            continue
        op = operations.get(operation_id)
        if op is None:
            return f"carries {operation_id}, which the store does not know"
        if op.status is not _RUNNING:
            return f"carries {operation_id}, which is {op.status.value}"
        if op.link_id != link.id:
            return f"carries {operation_id}, which is followed over {op.link_id}"
    return None


def carried_while_followed(op: Operation, link: Link) -> str | None:
    """``sessions-live``, from the operation's side: one followed over a v2 link is
    among its sessions (or it would never be subscribed again, nor end)."""
    if op.status is _RUNNING and op.link_id == link.id and op.id not in link.sessions:
        return f"followed over {link.id}, which does not carry it"
    return None


def unsubscribe_after_last(
    old_link: Link | None, new_link: Link, effects: Sequence[Effect]
) -> str | None:
    """``unsubscribe-after-last``: the link's `unsubscribe`s and `subscribe`s agree with
    the sessions it carried before and carries after the step."""
    before: immutables.Map[str, bool] = immutables.Map() if old_link is None else old_link.sessions
    frames = [
        effect.message
        for effect in effects
        if type(effect) is SendMessage and effect.link_id == new_link.id
    ]
    for index, frame in enumerate(frames):
        if type(frame) is Subscribe and frame.operation_id not in new_link.sessions:
            return f"subscribe for {frame.operation_id}, which the link does not carry"
        if type(frame) is not Unsubscribe:
            continue
        operation_id = frame.operation_id
        if operation_id not in before:
            return f"unsubscribe for {operation_id}, which the link did not carry"
        again = any(
            type(later) is Subscribe and later.operation_id == operation_id
            for later in frames[index + 1 :]
        )
        if operation_id in new_link.sessions and not again:
            return f"unsubscribe for {operation_id} while its session goes on"
    return None


def nothing_for_ended(
    operations: Mapping[str, Operation], effects: Sequence[Effect], exempt: str | None
) -> tuple[int, str] | None:
    """``nothing-for-ended``: no effect names an operation finished before the step
    (`exempt`: the one whose fetch answer this step is, checked by ``absorbing``; a
    `NotifyFinished` is ``notify-once``'s). The index of the first that does, and why."""
    for index, effect in enumerate(effects):
        operation_id = named_operation(effect)
        if operation_id is None or operation_id == exempt or type(effect) is NotifyFinished:
            continue
        op = operations.get(operation_id)
        if op is not None and op.is_finished:
            return index, f"{type(effect).__name__} for {operation_id}, which had finished"
    return None


def queued_until_deadline(
    action: Action, old: Operation, new: Operation, effects: Sequence[Effect]
) -> str | None:
    """``queued-until-deadline``: a tool result is marked sent only in a step that writes
    its frame, and one `old` had queued stays queued unless so sent or its deadline
    timer just fired (checked while `new` is followed: an ended run drops its queue)."""
    if new.status is not _RUNNING or not old.tools:
        return None
    sent = {result_call_id(effect) for effect in effects}
    for call_id, tool in old.tools.items():
        now = new.tools.get(call_id) or new.settled_tools.get(call_id)
        if now is None:
            return f"the pending call {call_id!r} vanished"
        if now.status is tool.status or now.status is ToolStatus.QUEUED:
            continue
        if now.status is ToolStatus.SENT:
            if call_id not in sent:
                return f"the result of {call_id!r} was marked sent, but no frame went out"
            continue
        deadline = (
            type(action) is TimerFired
            and action.timer.kind is TimerKind.TOOL_DEADLINE
            and action.timer.tool_call_id == call_id
        )
        if not deadline:
            return f"the result of {call_id!r} became {now.status.value} before its deadline"
    return None


def held_stays_down(
    action: Action, old_link: Link | None, new_link: Link, effects: Sequence[Effect]
) -> str | None:
    """``held-stays-down``: a held link is disconnected (no socket, no timer) and no
    frame goes out on it; one held before the step is released only by a connect."""
    if new_link.held:
        if new_link.status is not ConnectionStatus.DISCONNECTED:
            return f"held, but {new_link.status.value}"
        if any(type(effect) is SendMessage and effect.link_id == new_link.id for effect in effects):
            return "held, but a frame goes out on it"
    elif old_link is not None and old_link.held and type(action) is not LinkConnectRequested:
        return f"released by {type(action).__name__}, not by the application's connect"
    return None
