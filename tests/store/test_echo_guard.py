"""The order-counted mirrored-terminal echo guard (PROTOCOL.md 4.3, invariants 6 and 8).

Includes every case of the test list at the end of section 4.3.
"""

from __future__ import annotations

from gatewayops.protocol import SessionStatus
from gatewayops.store import (
    ConnectionStatus,
    EchoGuard,
    FinishSource,
    GatewayState,
    OperationStatus,
    Outcome,
    Result,
    ResumeState,
    TimerKind,
)
from gatewayops.testing import TestStore

from .helpers import (
    ANY,
    AUTH_SUCCESS,
    CONNECTION,
    CURSOR,
    ECHO,
    MEMBER,
    RESUME,
    SESSION_COMPLETE,
    TRANSCRIPT,
    chunk,
    closed,
    connected_store,
    event,
    finished,
    fired,
    fold,
    notify,
    op_of,
    opened,
    path,
    received,
    resume_complete,
    runtime_end,
    timer,
)


def _member_ended(reason: str | None = None, event_id: str = "1") -> GatewayState:
    """A connected supervisor that just saw a member's mirrored terminal."""
    return fold(
        connected_store().state,
        received(runtime_end(reason, operation_id=MEMBER, id=event_id)),
    )


def _replayed_member_terminal(reason: str | None = None) -> TestStore:
    """A reattached supervisor whose buffered replay holds a member's terminal."""
    state = fold(
        connected_store(attach=True).state,
        received(chunk("own", id="1")),
        received(runtime_end(reason, operation_id=MEMBER, id="2")),
    )
    return TestStore(state)


# --------------------------------------------------------------------------- owed echoes


def test_member_terminal_echo_is_ignored_then_a_genuine_end_counts() -> None:
    """Member terminal + `session_complete` is ignored; the next `session_complete` ends."""
    store = TestStore(_member_ended())
    assert op_of(store.state).echo.owed_echoes == 1
    store.send(received(SESSION_COMPLETE), {path("echo.owed_echoes"): 0}, effects=[])
    assert op_of(store.state).status is OperationStatus.RUNNING
    store.send(received(chunk("still streaming", id="2")), {CURSOR: "2", TRANSCRIPT: ANY})
    ended = Outcome(result=Result.ENDED, source=FinishSource.SESSION_COMPLETE)
    store.send(received(SESSION_COMPLETE), finished(ended), effects=[notify(ended)])
    store.finish()


def test_each_member_terminal_owes_exactly_one_echo() -> None:
    """Two member terminals excuse two `session_complete` frames, not three."""
    state = fold(
        _member_ended(event_id="1"),
        received(runtime_end(operation_id="op-member-2", id="2")),
    )
    assert op_of(state).echo.owed_echoes == 2
    state = fold(state, received(SESSION_COMPLETE), received(SESSION_COMPLETE))
    assert op_of(state).status is OperationStatus.RUNNING
    state = fold(state, received(SESSION_COMPLETE))
    assert op_of(state).status is OperationStatus.FINISHED


def test_member_error_event_owes_no_echo() -> None:
    """A member's `error` event arms nothing: the next `session_complete` is genuine."""
    state = fold(
        connected_store().state,
        received(event("error", {"message": "x"}, operation_id=MEMBER, id="1")),
    )
    assert op_of(state).echo == EchoGuard()
    state = fold(state, received(SESSION_COMPLETE))
    assert op_of(state).status is OperationStatus.FINISHED


def test_own_event_clears_owed_echoes() -> None:
    """Any own event proves the owner alive and clears the echoes still owed (8)."""
    store = TestStore(_member_ended())
    store.send(
        received(chunk("own", id="2")),
        {CURSOR: "2", TRANSCRIPT: ANY, path("echo.owed_echoes"): 0},
        effects=[],
    )
    ended = Outcome(result=Result.ENDED, source=FinishSource.SESSION_COMPLETE)
    store.send(received(SESSION_COMPLETE), finished(ended), effects=[notify(ended)])
    store.finish()


def test_resubscribe_clears_owed_echoes() -> None:
    """A new `auth_success` starts a new replay: the guard forgets what it owed (8)."""
    state = fold(_member_ended(), closed(1))
    state = fold(state, fired(timer(state, TimerKind.BACKOFF)), opened(2))
    assert op_of(state).echo.owed_echoes == 1
    store = TestStore(state)
    store.send(
        received(AUTH_SUCCESS, 2),
        {CONNECTION: ConnectionStatus.CONNECTED, ECHO: EchoGuard()},
    )
    store.skip_effects()
    ended = Outcome(result=Result.ENDED, source=FinishSource.SESSION_COMPLETE)
    store.send(received(SESSION_COMPLETE, 2), finished(ended), effects=[notify(ended)])
    store.finish()


# --------------------------------------------------------------------------- stale resume status


def test_stale_resume_status_after_replayed_member_terminal_is_ignored() -> None:
    """`resume_complete: completed` left by a replayed member terminal does not end (6)."""
    store = _replayed_member_terminal()
    store.send(
        received(resume_complete(SessionStatus.COMPLETED)),
        {RESUME: ResumeState(on_connect=True), TRANSCRIPT: ANY},
        effects=[],
    )
    op = op_of(store.state)
    assert op.status is OperationStatus.RUNNING
    assert op.transcript.text == "own"
    assert op.transcript.member_events == 1
    store.finish()


def test_replayed_member_terminal_then_owner_event_still_stale() -> None:
    """Member terminal + owner `step_start` + resume `completed` stays; own terminal ends."""
    state = fold(
        _replayed_member_terminal().state,
        received(event("step_start", {}, id="3")),
        received(resume_complete(SessionStatus.COMPLETED)),
    )
    assert op_of(state).status is OperationStatus.RUNNING
    store = TestStore(state)
    ended = Outcome(result=Result.COMPLETED, source=FinishSource.AGENT_EVENT)
    store.send(
        received(runtime_end(id="4")),
        finished(ended, **{CURSOR: "4", TRANSCRIPT: ANY, ECHO: ANY}),
        effects=[notify(ended)],
    )
    store.finish()


def test_different_resume_status_after_member_terminal_is_honoured() -> None:
    """Resume `error` after a member left `completed` is not stale: the run ends FAILED."""
    store = _replayed_member_terminal()
    ended = Outcome(result=Result.FAILED, source=FinishSource.RESUME_STATUS, detail="error")
    store.send(
        received(resume_complete(SessionStatus.ERROR)),
        finished(ended, **{RESUME: ResumeState(on_connect=True), TRANSCRIPT: ANY}),
        effects=[notify(ended)],
    )
    store.finish()


def test_member_interrupted_leaves_interrupted_status() -> None:
    """The status a member terminal leaves follows its reason (interrupted -> interrupted)."""
    store = _replayed_member_terminal("interrupted")
    assert op_of(store.state).echo.replay_foreign_status is SessionStatus.INTERRUPTED
    state = fold(store.state, received(resume_complete(SessionStatus.INTERRUPTED)))
    assert op_of(state).status is OperationStatus.RUNNING
    state = fold(store.state, received(resume_complete(SessionStatus.COMPLETED)))
    assert op_of(state).status is OperationStatus.FINISHED


def test_member_terminal_only_before_disconnect_then_empty_replay_completed_ends() -> None:
    """A member terminal seen before the disconnect is not replay evidence: DO status wins."""
    state = fold(_member_ended(), closed(1))
    state = fold(
        state, fired(timer(state, TimerKind.BACKOFF)), opened(2), received(AUTH_SUCCESS, 2)
    )
    store = TestStore(state)
    ended = Outcome(result=Result.COMPLETED, source=FinishSource.RESUME_STATUS, detail="completed")
    store.send(
        received(resume_complete(SessionStatus.COMPLETED), 2),
        finished(ended),
        effects=[notify(ended)],
    )
    store.finish()


def test_owner_terminal_replayed_after_member_terminal_ends() -> None:
    """Owner terminal replayed after a member's: the owner's own end counts (4.3 list)."""
    store = _replayed_member_terminal()
    ended = Outcome(result=Result.COMPLETED, source=FinishSource.AGENT_EVENT)
    store.send(
        received(runtime_end(id="3")),
        finished(
            ended,
            **{CURSOR: "3", RESUME: ResumeState(on_connect=True), TRANSCRIPT: ANY, ECHO: ANY},
        ),
        effects=[notify(ended)],
    )
    assert op_of(store.state).echo.replay_foreign_status is None
    store.finish()
