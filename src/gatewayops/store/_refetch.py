"""Recovering a transcript that message patches could not keep (PROTOCOL.md 7.8).

Owns: the fetch of the server's message list (`Transcript.refetch`, moved through
`REFETCH_TABLE`, one lookup per change) and its budget. A transcript needs the list
when a `message_patch` cannot be applied (a gap, an unknown anchor, a patch that did
not read whole), when the run ends (or a step begins) at a revision it does not hold,
and when a resume replay reports a gap (`resume_complete{gap: true}`). The list is then
asked for once -- one `FetchMessages`, not one per later patch -- and its answer is an
action: `MessagesFetched` adopts the list exactly as a `uiMessages` snapshot is adopted
(`_transcript_sync.adopt_messages`), with the revision it stands at when the server
says; `MessagesFetchFailed`, a list that is not a list, or one behind the revision the
run ended at is asked for again at once, up to `REFETCH_ATTEMPTS` attempts in all, then
left flagged (`needs_refetch` stays set, `refetch_problem` says why) until the server's
list comes another way, or a resume gap asks again with a fresh budget.

| refetch | event | next |
|---|---|---|
| idle | needed, or a resume gap (a `FetchMessages` goes out) | asked |
| asked | needed, or a resume gap | ignored (already out: not asked twice) |
| gave_up | needed (a later patch) | ignored (given up: patches do not ask again) |
| gave_up | a resume gap | asked, with a fresh budget |
| asked | adopted (the list came whole, not behind the run's end) | idle |
| asked | failed, attempts left (asked again) | asked |
| asked | failed, budget spent | gave_up |
| idle / gave_up | adopted or failed | ignored (a late answer: the list came another way) |

The run's end is never held back by a fetch: an own terminal ends the operation at
once (the one `NotifyFinished`, the composer released) and the fetch goes on after it.
Its answer changes only the transcript of a finished operation -- the one change a
finished operation may see (`_invariants.absorbing`). No timer waits for it, so nothing
survives a terminal state. Must not know: links, sockets, timers, how the list is
fetched.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs

from gatewayops.protocol import ui_messages
from gatewayops.store._actions import MessagesFetched, MessagesFetchFailed
from gatewayops.store._delivery import NO_EFFECTS, OpStep
from gatewayops.store._effects import Effect, FetchMessages
from gatewayops.store._lifecycle import IGNORED, transition
from gatewayops.store._state import Operation
from gatewayops.store._transcript import RefetchStatus, Transcript
from gatewayops.store._transcript_sync import adopt_messages

__all__ = [
    "REFETCH_ATTEMPTS",
    "REFETCH_TABLE",
    "RefetchEvent",
    "ask_for_the_list",
    "gap_reported",
    "on_fetch_answer",
]

REFETCH_ATTEMPTS = 3
"""How many times the server's list is asked for before the transcript is left flagged."""


class RefetchEvent(enum.StrEnum):
    """What moves the fetch of the server's list between its statuses."""

    NEEDED = "needed"
    """The transcript came to need the list (a patch it cannot apply, an end it lacks)."""
    GAP = "gap"
    """A resume replay reported a gap (`resume_complete{gap: true}`)."""
    ADOPTED = "adopted"
    FAILED = "failed"
    FAILED_FOR_GOOD = "failed_for_good"
    """Failed with the budget spent."""


_S, _E = RefetchStatus, RefetchEvent
REFETCH_TABLE: Mapping[tuple[RefetchStatus, RefetchEvent], Any] = {
    (_S.IDLE, _E.NEEDED): _S.ASKED,
    (_S.ASKED, _E.NEEDED): IGNORED,  # already out: asked once
    (_S.GAVE_UP, _E.NEEDED): IGNORED,  # given up: a later patch does not ask again
    (_S.IDLE, _E.GAP): _S.ASKED,
    (_S.ASKED, _E.GAP): IGNORED,
    (_S.GAVE_UP, _E.GAP): _S.ASKED,  # a fresh budget
    (_S.ASKED, _E.ADOPTED): _S.IDLE,
    (_S.ASKED, _E.FAILED): _S.ASKED,
    (_S.ASKED, _E.FAILED_FOR_GOOD): _S.GAVE_UP,
    # A late answer: a snapshot brought the list first, or nothing was asked.
    (_S.IDLE, _E.ADOPTED): IGNORED,
    (_S.IDLE, _E.FAILED): IGNORED,
    (_S.IDLE, _E.FAILED_FOR_GOOD): IGNORED,
    (_S.GAVE_UP, _E.ADOPTED): IGNORED,
    (_S.GAVE_UP, _E.FAILED): IGNORED,
    (_S.GAVE_UP, _E.FAILED_FOR_GOOD): IGNORED,
}


def _asked(op: Operation, transcript: Transcript, attempts: int) -> OpStep:
    transcript = attrs.evolve(
        transcript, refetch=RefetchStatus.ASKED, fetch_attempts=attempts, needs_refetch=True
    )
    effect = FetchMessages(operation_id=op.id, topic_id=op.topic_id)
    return attrs.evolve(op, transcript=transcript), (effect,)


def _ask(op: Operation, event: RefetchEvent) -> OpStep:
    if transition(REFETCH_TABLE, op.transcript.refetch, event) is None:
        return op, NO_EFFECTS
    return _asked(op, op.transcript, 1)


def ask_for_the_list(op: Operation, effects: tuple[Effect, ...]) -> OpStep:
    """`op` and `effects`, with the server's list asked for unless a fetch is out or
    given up (called once per step whose transcript changed and `needs_refetch`)."""
    op, asked = _ask(op, RefetchEvent.NEEDED)
    return op, (*effects, *asked)


def gap_reported(op: Operation) -> OpStep:
    """A resume replay had a gap: the transcript needs the server's list (asked again
    with a fresh budget if earlier attempts gave up; not twice if one is out)."""
    return _ask(op, RefetchEvent.GAP)


def _failed(op: Operation, problem: str) -> OpStep:
    transcript = op.transcript
    spent = transcript.fetch_attempts >= REFETCH_ATTEMPTS
    event = RefetchEvent.FAILED_FOR_GOOD if spent else RefetchEvent.FAILED
    status = transition(REFETCH_TABLE, transcript.refetch, event)
    if status is None:
        return op, NO_EFFECTS
    transcript = attrs.evolve(transcript, refetch_problem=problem)
    if spent:
        transcript = attrs.evolve(transcript, refetch=status)
        return attrs.evolve(op, transcript=transcript), NO_EFFECTS
    return _asked(op, transcript, transcript.fetch_attempts + 1)


def on_fetch_answer(op: Operation, action: MessagesFetched | MessagesFetchFailed) -> OpStep:
    """The answer to a `FetchMessages`, for a running, detached or finished operation."""
    transcript = op.transcript
    if isinstance(action, MessagesFetchFailed):
        return _failed(op, f"fetching the message list failed: {action.error}")
    problems: list[str] = []
    messages = ui_messages(action.messages, problems, "messages")
    if messages is None:
        return _failed(op, problems[0] if problems else "fetch_messages returned no list")
    pending, revision = transcript.pending_revision, action.revision
    if pending is not None and revision is not None and revision < pending:
        return _failed(
            op, f"the server's list is at revision {revision}, the run ended at {pending}"
        )
    status = transition(REFETCH_TABLE, transcript.refetch, RefetchEvent.ADOPTED)
    if status is None:
        return op, NO_EFFECTS  # a late answer (see the table)
    adopted = attrs.evolve(
        adopt_messages(transcript, messages),
        revision=revision,
        refetch=status,
        refetch_problem=problems[0] if problems else None,
    )
    return attrs.evolve(op, transcript=adopted), NO_EFFECTS
