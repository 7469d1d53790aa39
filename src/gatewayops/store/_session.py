"""What a session does with the protocol-neutral signals its link turns frames into.

Owns: an agent event (the cursor, the echo guard, buffering during a resume replay,
delivery, and an own terminal ending the run), a session end reported by the gateway
(ended unless it is an owed echo), a status reported after a resume (terminal ends the
run unless it is stale; a gap asks for the server's message list), an authentication
refused, the link (re)subscribing the session, and the link being lost. The cursor
follows the envelope ids the server sends (an empty id leaves it, as upstream's
``if (msg.id)``); only a resume replay is deduplicated (PROTOCOL.md 11.10): a live
event is delivered whatever its id, and an id that does not come after the cursor is
reported as a problem of the operation, never a reason to drop the rest of the run.
Must not know: frames of any protocol version, sockets, or timers.
"""

from __future__ import annotations

import attrs

from gatewayops.protocol import (
    AgentEventMessage,
    ClientMessage,
    Resume,
    SessionStatus,
    parse_event_data,
)
from gatewayops.store._delivery import (
    NO_EFFECTS,
    OpStep,
    buffer,
    deliver,
    flush,
    note_problems,
    start_buffering,
)
from gatewayops.store._effects import Effect
from gatewayops.store._endings import (
    consume_echo,
    event_outcome,
    finish,
    is_stale_status,
    observe,
    status_outcome,
)
from gatewayops.store._refetch import gap_reported
from gatewayops.store._state import CLEAR_ECHO, FinishSource, Operation, Result, ResumeStatus
from gatewayops.store._tools import queued_results

_BUFFERING = ResumeStatus.BUFFERING

__all__ = [
    "id_follows",
    "on_auth_rejected",
    "on_event",
    "on_link_lost",
    "on_session_end",
    "on_status",
    "on_subscribed",
]


def _decimal_key(event_id: str) -> tuple[int, str]:
    digits = event_id.lstrip("0")
    return len(digits), digits


def id_follows(event_id: str, cursor: str) -> bool:
    """Whether `event_id` may come after `cursor`: False only when both are decimal
    and it is not greater (compared as digit strings, so ids of any length work)."""
    if len(event_id) == len(cursor) and event_id > cursor:
        return True  # the usual next id (equal-length digit strings order as numbers)
    if not (event_id.isdecimal() and cursor.isdecimal()):
        return True
    return _decimal_key(event_id) > _decimal_key(cursor)


def on_event(op: Operation, message: AgentEventMessage) -> OpStep:
    """An agent event for this session (own or forwarded from a member)."""
    event = message.event
    cursor = op.last_event_id
    buffering = op.resume.status is _BUFFERING
    if message.id:
        if cursor and not buffering and not id_follows(message.id, cursor):
            op = note_problems(op, (f"event id {message.id!r} does not follow {cursor!r}",))
        cursor = message.id
    own = event.is_own(op.id)
    echo = op.echo
    if echo.owed_echoes or echo.replay_foreign_status is not None or not own:
        echo = observe(echo, event, op.id)  # a clear guard and an own event: nothing to note
    if buffering:
        op, effects = buffer(op, message, cursor, echo), NO_EFFECTS
    else:
        op, effects = deliver(op, message, cursor, echo, own=own)
    if not (own and event.is_terminal_type):
        return op, effects
    # Parsed again, not counted again: its problems count when it is delivered.
    result, detail = event_outcome(event, parse_event_data(event))
    op, finished = finish(op, result, FinishSource.AGENT_EVENT, detail)
    return op, (*effects, *finished)


def on_session_end(op: Operation) -> OpStep:
    """The gateway says the session ended: it has, unless this is an owed echo."""
    guard = consume_echo(op.echo)
    if guard is not None:
        return attrs.evolve(op, echo=guard), NO_EFFECTS
    return finish(op, Result.ENDED, FinishSource.SESSION_COMPLETE)


def on_status(op: Operation, status: SessionStatus | None, *, gap: bool = False) -> OpStep:
    """The status reported after a resume: the replay is shown first, then a terminal,
    not stale status ends the run (an unreadable or live one changes nothing more). A
    gap in the replay means the transcript needs the server's list (PROTOCOL.md 7.8)."""
    op, effects = flush(op)
    if gap:
        op, asked = gap_reported(op)
        effects = (*effects, *asked)
    if status is None or not status.is_terminal or is_stale_status(op.echo, status, gap=gap):
        return op, effects
    op, finished = finish(op, status_outcome(status), FinishSource.RESUME_STATUS, status.value)
    return op, (*effects, *finished)


def on_auth_rejected(op: Operation, reason: str) -> OpStep:
    """The gateway refused the session's token for good (bad token, or the run is gone)."""
    return finish(op, Result.AUTH_FAILED, FinishSource.AUTH_FAILED, reason)


def on_subscribed(
    op: Operation, generation: int
) -> tuple[Operation, tuple[Effect, ...], tuple[ClientMessage, ...]]:
    """The link is authenticated for this session: what it sends, then what changes.

    Returns the frames for the link: `Resume` from the cursor, then every queued tool
    result in call order. A new subscription starts a new replay, so the echo guard
    forgets what it owed and the refresh budget starts again; resume buffering starts
    only when reattaching with no cursor (PROTOCOL.md 3.1).
    """
    op, flushed = flush(op)
    refresh = op.refresh if not op.refresh.attempts else attrs.evolve(op.refresh, attempts=0)
    op = attrs.evolve(op, refresh=refresh, echo=CLEAR_ECHO)
    if op.resume.on_connect and not op.last_event_id:
        op = start_buffering(op, generation)
    resume = Resume(last_event_id=op.last_event_id, want_status=True)
    op, results = queued_results(op)
    return op, flushed, (resume, *results)


def on_link_lost(op: Operation) -> OpStep:
    """The link lost its socket: a replay being buffered is shown now (its events are
    past the cursor already; dropping them, as upstream does, would lose them)."""
    return flush(op)
