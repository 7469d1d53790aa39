"""Delivering events to an operation, and buffering and flushing a resume replay.

Owns: `deliver` (one event into the transcript, a `tool_execute` into a tool the client
owes one result, and an intervention event to `_interventions`), `note_problems` (what a
frame's unreadable fields count against the operation), `buffer` (a replayed event held
back, each dedupe key once: the first copy wins) and `flush` (the buffer shown in
arrival order), following `RESUME_TABLE`. Every handler works on one `Operation` and
returns an `OpStep`. Must not know: links, sockets, timers, or the topic map.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

import attrs

from gatewayops._frozen import copier
from gatewayops.protocol import (
    AgentEventMessage,
    ToolExecuteData,
    parse_event_data,
    parse_human_event,
)
from gatewayops.store._effects import Effect
from gatewayops.store._interventions import HUMAN_EVENT_TYPES, on_human_event
from gatewayops.store._lifecycle import RESUME_TABLE, ResumeEvent, transition
from gatewayops.store._state import EchoGuard, Operation, ResumeState
from gatewayops.store._tools import start_tool
from gatewayops.store._transcript import Transcript
from gatewayops.store._transcript_fold import apply_event

__all__ = [
    "NO_EFFECTS",
    "OpStep",
    "buffer",
    "dedupe_key",
    "deliver",
    "flush",
    "note_problems",
    "start_buffering",
]

OpStep: TypeAlias = tuple[Operation, tuple[Effect, ...]]
NO_EFFECTS: tuple[Effect, ...] = ()

# The change showing an event makes (see gatewayops._frozen): mypy checks it like attrs.evolve.
if TYPE_CHECKING:
    from attrs import evolve as _with_member_events
    from attrs import evolve as _with_shown
else:
    _with_shown = copier(Operation, "transcript", "last_event_id", "echo")
    _with_member_events = copier(Transcript, "member_events")


def note_problems(op: Operation, problems: tuple[str, ...]) -> Operation:
    """Count a frame's unreadable fields against the operation; keep the last one."""
    if not problems:
        return op
    return attrs.evolve(op, problems=op.problems + len(problems), last_problem=problems[-1])


def deliver(
    op: Operation, message: AgentEventMessage, last_event_id: str, echo: EchoGuard, *, own: bool
) -> OpStep:
    """Show one event: own events (`own`: ``event.is_own(op.id)``, which the caller has
    asked already) go to the transcript, foreign ones are only counted.

    The operation's cursor and echo guard become `last_event_id` and `echo` in the same
    rebuild (a streamed chunk rebuilds the operation once).
    """
    event = message.event
    transcript = op.transcript
    if not own:
        transcript = _with_member_events(transcript, member_events=transcript.member_events + 1)
        return _with_shown(
            op, transcript=transcript, last_event_id=last_event_id, echo=echo
        ), NO_EFFECTS
    data = parse_event_data(event)
    if data is not None and data.problems:
        op = note_problems(op, data.problems)
    latched = transcript.ended
    op = _with_shown(
        op, transcript=apply_event(transcript, event, data), last_event_id=last_event_id, echo=echo
    )
    if event.type in HUMAN_EVENT_TYPES:
        view = parse_human_event(event)
        if view is not None:
            op = note_problems(op, view.problems)
        return on_human_event(op, event, view), NO_EFFECTS
    if isinstance(data, ToolExecuteData) and not latched:
        op, effect = start_tool(op, data)
        return op, NO_EFFECTS if effect is None else (effect,)
    return op, NO_EFFECTS


def dedupe_key(message: AgentEventMessage) -> str:
    """What identifies an event within a resume replay: its id, else type/step/time."""
    if message.id:
        return message.id
    event = message.event
    return f"{event.type}_{event.step_index}_{event.timestamp}"


def start_buffering(op: Operation, generation: int) -> Operation:
    """The replay of a reattach with no cursor begins: hold it back (PROTOCOL.md 3.1)."""
    status = transition(RESUME_TABLE, op.resume.status, ResumeEvent.REPLAY_STARTS)
    resume = ResumeState(on_connect=op.resume.on_connect, status=status, generation=generation)
    return attrs.evolve(op, resume=resume)


def buffer(op: Operation, message: AgentEventMessage, cursor: str, echo: EchoGuard) -> Operation:
    """Hold a replayed event back; a repeat of a key already held is only counted."""
    resume = op.resume
    key = dedupe_key(message)
    if key in resume.seen:  # the replay's first copy wins
        resume = attrs.evolve(resume, arrivals=resume.arrivals + 1)
    else:
        resume = attrs.evolve(
            resume,
            buffer=resume.buffer.append(message),
            seen=resume.seen.set(key, True),
            arrivals=resume.arrivals + 1,
        )
    return attrs.evolve(op, last_event_id=cursor, echo=echo, resume=resume)


def flush(op: Operation) -> OpStep:
    """Leave resume mode: deliver the buffer (each event once) in arrival order."""
    status = transition(RESUME_TABLE, op.resume.status, ResumeEvent.FLUSH)
    if status is None:
        return op, NO_EFFECTS
    held = op.resume.buffer
    op = attrs.evolve(op, resume=ResumeState(on_connect=op.resume.on_connect, status=status))
    effects: list[Effect] = []
    for message in held:
        own = message.event.is_own(op.id)
        op, delivered = deliver(op, message, op.last_event_id, op.echo, own=own)
        effects.extend(delivered)
    return op, tuple(effects)
