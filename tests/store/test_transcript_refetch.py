"""Recovering a transcript that message patches could not keep (PROTOCOL.md 7.8): the
server's list asked for once (`FetchMessages`), adopted from `MessagesFetched` as a
`uiMessages` snapshot is, retried at once within `REFETCH_ATTEMPTS` after a failure,
then left flagged; a run ending at a revision not held still ends at once and exactly
once, and the list that comes after it changes only its transcript.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest

import gatewayops.store._reducer as reducer_module
from gatewayops.protocol import ResumeComplete, SessionStatus
from gatewayops.store import (
    REFETCH_ATTEMPTS,
    Effect,
    FetchMessages,
    GatewayState,
    MessagesFetched,
    MessagesFetchFailed,
    NotifyFinished,
    OperationStatus,
    RefetchStatus,
    reduce,
)

from .helpers import OP, TOPIC, connected_store, event, fold, op_of, received

ASK = FetchMessages(operation_id=OP, topic_id=TOPIC)
USER = {"id": "u1", "role": "user", "content": "q"}
ANSWER = {"id": "a1", "role": "assistant", "content": "the answer", "parentId": "u1"}


def _patch(revision: int, after: str | None, message: dict[str, Any]) -> Any:
    data = {"revision": revision, "upserts": [{"afterId": after, "message": message}]}
    return received(event("message_patch", data))


def _end(revision: int) -> Any:
    data = {"messagePatchMode": True, "messageRevision": revision}
    return received(event("agent_runtime_end", data))


def _steps(state: GatewayState, *actions: Any) -> tuple[GatewayState, list[Effect]]:
    """Reduce each action in turn; every effect produced, in order."""
    effects: list[Effect] = []
    for action in actions:
        state, produced = reduce(state, action)
        effects.extend(produced)
    return state, effects


def _gapped() -> GatewayState:
    """Revision 1 held, then revision 3: a gap, the list asked for."""
    return fold(connected_store().state, _patch(1, None, USER), _patch(3, "u1", ANSWER))


def test_a_gap_asks_for_the_servers_list_once() -> None:
    """The patch that cannot be applied emits one `FetchMessages`; later patches, which
    wait for the list, ask nothing more."""
    state, effects = _steps(connected_store().state, _patch(1, None, USER))
    assert effects == []
    state, effects = _steps(state, _patch(3, "u1", ANSWER), _patch(4, "a1", USER))
    assert effects == [ASK]
    transcript = op_of(state).transcript
    assert (transcript.needs_refetch, transcript.refetch) == (True, RefetchStatus.ASKED)
    assert transcript.fetch_attempts == 1


def test_the_fetched_list_is_adopted_as_a_snapshot_is() -> None:
    """`MessagesFetched` shows what a `uiMessages` snapshot of the same list shows, clears
    the flag, holds the revision it names, and the next patch then applies."""
    fetched = MessagesFetched(operation_id=OP, messages=[USER, ANSWER], revision=3)
    state, effects = _steps(_gapped(), fetched)
    assert effects == []
    transcript = op_of(state).transcript
    snapshot = received(event("step_start", {"uiMessages": [USER, ANSWER]}))
    shown = op_of(fold(connected_store().state, snapshot)).transcript
    assert transcript.entries == shown.entries
    assert (transcript.revision, transcript.needs_refetch) == (3, False)
    assert transcript.refetch is RefetchStatus.IDLE
    after = op_of(fold(state, _patch(4, "a1", {"id": "u2", "role": "user"}))).transcript
    assert [entry.id for entry in after.entries] == ["u1", "a1", "u2"]
    assert after.revision == 4


def test_a_failed_fetch_is_asked_again_within_the_budget_then_left_flagged() -> None:
    """Each failure asks again at once until `REFETCH_ATTEMPTS` attempts were made; the
    last one leaves the transcript flagged, naming what failed, and asks nothing."""
    failed = MessagesFetchFailed(operation_id=OP, error="HTTP 503")
    state, effects = _steps(_gapped(), *[failed] * REFETCH_ATTEMPTS)
    assert effects == [ASK] * (REFETCH_ATTEMPTS - 1)
    transcript = op_of(state).transcript
    assert transcript.refetch is RefetchStatus.GAVE_UP
    assert transcript.needs_refetch
    assert transcript.refetch_problem == "fetching the message list failed: HTTP 503"
    assert _steps(state, failed, _patch(5, "u1", ANSWER))[1] == []


def test_a_list_that_is_not_a_list_is_a_failed_attempt() -> None:
    """An answer whose messages are not a JSON array is not adopted; it is asked again,
    and the problem names the field."""
    state, effects = _steps(_gapped(), MessagesFetched(operation_id=OP, messages={"x": 1}))
    assert effects == [ASK]
    transcript = op_of(state).transcript
    assert transcript.refetch_problem == "messages: expected array, got object"
    assert [entry.id for entry in transcript.entries] == ["u1"]


def test_an_end_at_a_revision_not_held_ends_the_run_at_once_and_asks() -> None:
    """`agent_runtime_end{messagePatchMode, messageRevision: 2}` with revision 1 held:
    the operation finishes in that step with its one `NotifyFinished`, the revision is
    marked pending, and the list is asked for after the notification."""
    state = fold(connected_store().state, _patch(1, None, USER))
    state, effects = _steps(state, _end(2))
    op = op_of(state)
    assert op.status is OperationStatus.FINISHED
    assert [type(effect) for effect in effects] == [NotifyFinished, FetchMessages]
    assert (op.transcript.pending_revision, op.transcript.refetch) == (2, RefetchStatus.ASKED)
    assert state.topics[TOPIC].running_operation is None


def test_the_list_after_the_end_changes_only_the_transcript() -> None:
    """The answer to a finished operation's fetch adopts the list and clears the pending
    revision; its status, outcome and link are unchanged and nothing is notified."""
    ended, _ = _steps(fold(connected_store().state, _patch(1, None, USER)), _end(2))
    fetched = MessagesFetched(operation_id=OP, messages=[USER, ANSWER], revision=2)
    state, effects = _steps(ended, fetched)
    assert effects == []
    before, after = op_of(ended), op_of(state)
    assert after == attrs.evolve(before, transcript=after.transcript)
    assert state.links == ended.links
    assert (after.transcript.pending_revision, after.transcript.needs_refetch) == (None, False)
    assert after.transcript.text == "the answer"
    assert after.transcript.ended


def test_a_list_behind_the_end_is_not_adopted_and_asked_again() -> None:
    """A list at revision 1 for a run that ended at 2 would miss the end: it is a failed
    attempt, asked again, the revision still pending."""
    ended, _ = _steps(fold(connected_store().state, _patch(1, None, USER)), _end(2))
    behind = MessagesFetched(operation_id=OP, messages=[USER], revision=1)
    state, effects = _steps(ended, behind)
    assert effects == [ASK]
    transcript = op_of(state).transcript
    assert transcript.pending_revision == 2
    assert transcript.refetch_problem == "the server's list is at revision 1, the run ended at 2"


def test_a_late_answer_after_a_snapshot_is_ignored() -> None:
    """A `uiMessages` snapshot that arrives first is the list: the fetch's answer, late,
    changes nothing."""
    snapshot = received(event("step_start", {"uiMessages": [USER]}))
    state = fold(_gapped(), snapshot)
    late = MessagesFetched(operation_id=OP, messages=[USER, ANSWER], revision=3)
    assert reduce(state, late) == (state, ())


def test_a_resume_gap_asks_for_the_list_with_a_fresh_budget() -> None:
    """`resume_complete{gap: true}` asks for the list; not twice while it is out; after
    the attempts gave up, a gap asks again."""
    gap = received(ResumeComplete(status=SessionStatus.RUNNING, gap=True))
    state, effects = _steps(connected_store().state, gap, gap)
    assert effects == [ASK]
    failed = MessagesFetchFailed(operation_id=OP, error="offline")
    state = fold(state, *[failed] * REFETCH_ATTEMPTS)
    assert op_of(state).transcript.refetch is RefetchStatus.GAVE_UP
    state, effects = _steps(state, gap)
    assert effects == [ASK]
    assert op_of(state).transcript.fetch_attempts == 1


def test_a_failure_adopting_a_list_after_the_end_is_said_in_the_transcript(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If handling the answer for a finished operation raises, `reduce` still returns:
    the transcript gives up, naming the internal error; nothing else changes."""
    ended, _ = _steps(fold(connected_store().state, _patch(1, None, USER)), _end(2))

    def broken(op: Any, action: Any) -> Any:
        raise RuntimeError("adopting failed")

    monkeypatch.setattr(reducer_module, "on_fetch_answer", broken)
    state, effects = reduce(ended, MessagesFetched(operation_id=OP, messages=[USER]))
    assert effects == ()
    before, after = op_of(ended), op_of(state)
    assert after == attrs.evolve(before, transcript=after.transcript)
    assert after.transcript.refetch is RefetchStatus.GAVE_UP
    problem = after.transcript.refetch_problem or ""
    assert problem.startswith("internal error handling MessagesFetched: RuntimeError")
