"""What ends an operation, with which outcome and provenance, and what never does.

PROTOCOL.md 1.4 (own-terminal rule), 3.3 (`resume_complete`), 4.1-4.2 and invariants
1, 2, 5 and 7.
"""

from __future__ import annotations

import pytest

from gatewayops.protocol import SessionStatus
from gatewayops.store import (
    ConnectionStatus,
    ErrorEntry,
    FinishSource,
    GatewayState,
    OperationStatus,
    Outcome,
    Result,
    SendMessage,
    SocketFailed,
    Timer,
    TimerKind,
    is_input_loading,
    link_resources,
    operation_resources,
    reduce,
    resources,
)
from gatewayops.testing import TestStore

from .helpers import (
    ANY,
    AUTH_SUCCESS,
    CONNECTION,
    MEMBER,
    OP,
    SESSION_COMPLETE,
    TOPIC,
    TRANSCRIPT,
    attached,
    chunk,
    connected_store,
    event,
    finished,
    fired,
    fold,
    link_of,
    link_path,
    notify,
    op_of,
    opened,
    path,
    received,
    resources_of,
    resume_complete,
    runtime_end,
    started,
)

# --------------------------------------------------------------------------- resume_complete


@pytest.mark.parametrize(
    ("status", "result"),
    [
        (SessionStatus.COMPLETED, Result.COMPLETED),
        (SessionStatus.ERROR, Result.FAILED),
        (SessionStatus.INTERRUPTED, Result.INTERRUPTED),
    ],
)
def test_terminal_resume_complete_ends_with_resume_status(
    status: SessionStatus, result: Result
) -> None:
    """A terminal `resume_complete` ends the run with RESUME_STATUS provenance (3.3)."""
    store = connected_store()
    ended = Outcome(result=result, source=FinishSource.RESUME_STATUS, detail=status.value)
    store.send(received(resume_complete(status)), finished(ended), effects=[notify(ended)])
    store.finish()


@pytest.mark.parametrize(
    "status",
    [SessionStatus.RUNNING, SessionStatus.WAITING_INPUT, SessionStatus.WAITING_CONFIRMATION],
)
def test_non_terminal_resume_complete_keeps_the_run_live(status: SessionStatus) -> None:
    """A non-terminal `resume_complete` changes nothing: the run keeps streaming."""
    store = connected_store()
    store.send(received(resume_complete(status)), {}, effects=[])
    store.send(received(chunk("more", id="1")), {path("last_event_id"): "1", TRANSCRIPT: ANY})
    store.finish()


def test_silence_never_completes_an_attached_operation() -> None:
    """Firing every timer of a reattached op with an empty replay never finishes it (5)."""
    state = fold(GatewayState(), attached())
    fired_kinds = set()
    for _ in range(60):
        timers = sorted((r for r in resources_of(state) if isinstance(r, Timer)), key=repr)
        for timer in timers:
            fired_kinds.add(timer.kind)
            step = reduce(state, fired(timer))
            assert all(isinstance(effect, SendMessage) for effect in step.effects)
            state = step.state
        if link_of(state).status is ConnectionStatus.CONNECTING:
            generation = link_of(state).generation
            state = fold(state, opened(generation), received(AUTH_SUCCESS, generation))
    assert op_of(state).status is OperationStatus.RUNNING
    assert op_of(state).outcome is None
    assert is_input_loading(state, TOPIC)
    never_armed = {  # no refresh, no tool, no intervention was asked for; a v1 link
        TimerKind.IDLE_CLOSE,
        TimerKind.REFRESH_RETRY,
        TimerKind.REFRESH_TIMEOUT,
        TimerKind.TOOL_DEADLINE,
        TimerKind.INTERVENTION_DEADLINE,
    }
    assert fired_kinds == set(TimerKind) - never_armed


# --------------------------------------------------------------------------- own events


@pytest.mark.parametrize(
    ("reason", "result"),
    [
        (None, Result.COMPLETED),
        ("interrupted", Result.INTERRUPTED),
        ("waiting_for_async_tool", Result.PARKED),
        ("error", Result.FAILED),
    ],
)
def test_own_runtime_end_ends_by_reason(reason: str | None, result: Result) -> None:
    """Own `agent_runtime_end` ends the run; its reason picks the result (4.2)."""
    store = connected_store()
    ended = Outcome(result=result, source=FinishSource.AGENT_EVENT, detail=reason or "")
    store.send(
        received(runtime_end(reason, id="1")),
        finished(ended, **{path("last_event_id"): "1", TRANSCRIPT: ANY}),
        effects=[notify(ended)],
    )
    assert op_of(store.state).transcript.ended
    store.finish()


def test_own_error_event_fails_with_inline_error() -> None:
    """Own `error` ends the run FAILED and keeps the error message in the transcript."""
    store = connected_store()
    ended = Outcome(result=Result.FAILED, source=FinishSource.AGENT_EVENT, detail="rate limited")
    store.send(
        received(event("error", {"message": "rate limited"})),
        finished(
            ended,
            **{
                path("transcript.entries"): (ErrorEntry(id="error", message="rate limited"),),
                path("transcript.ended"): True,
                path("transcript.events"): 1,
            },
        ),
        effects=[notify(ended)],
    )
    store.finish()


def test_structured_error_event_message_is_found() -> None:
    """A model-runtime error shape (`{errorType, error: {message}}`) yields its message,
    and the transcript keeps it whole: type and body."""
    state = fold(
        connected_store().state,
        received(event("error", {"errorType": "ProviderError", "error": {"message": "quota"}})),
    )
    op = op_of(state)
    assert op.transcript.error == ErrorEntry(
        id="error", message="quota", kind="ProviderError", body={"error": {"message": "quota"}}
    )
    assert op.outcome == Outcome(
        result=Result.FAILED, source=FinishSource.AGENT_EVENT, detail="quota"
    )


def test_event_without_operation_id_counts_as_own() -> None:
    """A terminal event with no operationId is the session's own terminal (1.4)."""
    store = connected_store()
    ended = Outcome(result=Result.COMPLETED, source=FinishSource.AGENT_EVENT)
    store.send(
        received(runtime_end(operation_id="")),
        finished(ended, **{TRANSCRIPT: ANY}),
        effects=[notify(ended)],
    )
    store.finish()


def test_foreign_terminal_is_delivered_but_does_not_end() -> None:
    """A member's terminal is counted as delivered and arms an echo; the run goes on (7)."""
    store = connected_store()
    store.send(
        received(runtime_end(operation_id=MEMBER, id="1")),
        {
            path("last_event_id"): "1",
            path("transcript.member_events"): 1,
            path("echo.owed_echoes"): 1,
            path("echo.replay_foreign_status"): SessionStatus.COMPLETED,
        },
        effects=[],
    )
    store.send(
        received(event("error", {"message": "member broke"}, operation_id=MEMBER, id="2")),
        {path("last_event_id"): "2", path("transcript.member_events"): 2},
        effects=[],
    )
    assert op_of(store.state).status is OperationStatus.RUNNING
    assert op_of(store.state).transcript.error is None
    store.finish()


def test_genuine_session_complete_ends_as_ended() -> None:
    """A `session_complete` nobody owes as an echo ends the run ENDED/SESSION_COMPLETE."""
    store = connected_store()
    ended = Outcome(result=Result.ENDED, source=FinishSource.SESSION_COMPLETE)
    store.send(received(SESSION_COMPLETE), finished(ended), effects=[notify(ended)])
    store.finish()


# --------------------------------------------------------------------------- the socket


def test_fatal_socket_failure_rejects_the_operation() -> None:
    """A non-retryable socket failure (e.g. HTTP 404 on upgrade) ends the run REJECTED."""
    store = TestStore(fold(GatewayState(), started()))
    ended = Outcome(result=Result.REJECTED, source=FinishSource.CONNECTION_REJECTED, detail="404")
    store.send(
        SocketFailed(link_id=OP, generation=1, error="404", retryable=False),
        finished(ended),
        effects=[notify(ended)],
    )
    store.finish()


def test_retryable_socket_failure_reconnects() -> None:
    """A retryable socket failure is a lost connection: back off and redial, no ending."""
    store = TestStore(fold(GatewayState(), started()))
    store.send(
        SocketFailed(link_id=OP, generation=1, error="refused"),
        {
            CONNECTION: ConnectionStatus.RECONNECTING,
            link_path("attempt"): 1,
            path("last_problem"): "refused",
        },
        effects=[],
    )
    store.finish()


def test_finished_operation_has_no_resources() -> None:
    """A finished operation has no timer and its link (DISCONNECTED) no socket or timer,
    whatever ended it (2)."""
    for ending in (
        received(runtime_end()),
        received(SESSION_COMPLETE),
        received(resume_complete(SessionStatus.COMPLETED)),
    ):
        state = fold(connected_store().state, ending)
        assert op_of(state).is_finished
        assert operation_resources(op_of(state), state.config) == frozenset()
        assert link_of(state).status is ConnectionStatus.DISCONNECTED
        assert link_resources(link_of(state), state.config) == frozenset()
        assert resources(state) == frozenset()


def test_finished_operation_ignores_everything() -> None:
    """Terminal states are absorbing: no later action revives or re-notifies the run."""
    state = fold(connected_store().state, received(runtime_end()))
    store = TestStore(state)
    for action in (
        received(chunk("late", id="9")),
        received(SESSION_COMPLETE),
        received(resume_complete(SessionStatus.ERROR)),
        received(runtime_end("error")),
    ):
        store.send(action, {}, effects=[])
    store.finish()
