"""Per-operation v2 frames over the user's link (PROTOCOL.md 7.4-7.5), pure: no Trio.

Two operations share one ready link; each test feeds hub frames for one of them and
checks what that session (and only it) makes of them: the numeric-id dedup, routing by
the envelope, the terminal rules and their provenance, the echo guard, the executor
rule, `subscribe_failed` and the hub's `error`.
"""

from __future__ import annotations

import attrs

from gatewayops.protocol import SessionStatus, decode_mux
from gatewayops.protocol._v2_messages import HubError, Unsubscribe
from gatewayops.store import (
    ExecuteTool,
    FinishSource,
    GatewayState,
    NotifyFinished,
    OperationStatus,
    Result,
    reduce,
)

from .helpers import OP, fold, op_of
from .v2_helpers import (
    LINK,
    OTHER,
    READY,
    mux_chunk,
    mux_end,
    mux_event,
    mux_tool_execute,
    notified,
    opened_v2,
    ready_state,
    rx,
    sent,
    session_complete,
    status_change,
    subscribe_failed,
    v2_attached,
    v2_config,
    v2_resume_complete,
    v2_started,
)


def _two() -> GatewayState:
    return ready_state(OP, OTHER)


def _ended_by(state: GatewayState, message: object) -> tuple[GatewayState, NotifyFinished]:
    """Feed `message`; assert it ended `OP` alone, with an `unsubscribe`."""
    step = reduce(state, rx(message))
    ends = notified(step.effects)
    assert list(ends) == [OP]
    assert sent(Unsubscribe(operation_id=OP)) in step.effects
    assert op_of(step.state, OTHER).status is OperationStatus.RUNNING
    return step.state, ends[OP]


# --------------------------------------------------------------------------- dedup


def test_a_numeric_id_not_after_the_cursor_is_dropped() -> None:
    """Ids 3, 3, 2, 4: the repeat and the older one change nothing; 4 moves the cursor."""
    state = fold(_two(), rx(mux_chunk("a", id="3")))
    assert op_of(state).last_event_id == "3"
    for repeat in ("3", "2"):
        step = reduce(state, rx(mux_chunk("again", id=repeat)))
        assert step.state == state
        assert step.effects == ()
    state = fold(state, rx(mux_chunk("b", id="4")))
    assert op_of(state).last_event_id == "4"
    assert op_of(state).transcript.events == 2


def test_a_repeat_is_dropped_whole_with_the_problems_of_its_detail() -> None:
    """A repeated id whose detail did not read (a problem) leaves the session as it was."""
    state = fold(_two(), rx(mux_chunk("a", id="3")))
    repeat = attrs.evolve(mux_chunk("again", id="3"), problems=("event.stepIndex: not an int",))
    step = reduce(state, rx(repeat))
    assert step.state == state
    assert step.effects == ()


def test_a_frame_without_a_numeric_id_bypasses_dedup_and_keeps_the_cursor() -> None:
    """An id of "x1" (or none) is delivered every time and leaves the cursor where it is."""
    state = fold(_two(), rx(mux_chunk("a", id="5")))
    for raw in ("x1", "x1", None):
        state = fold(state, rx(mux_chunk("more", id=raw)))
    assert op_of(state).last_event_id == "5"
    assert op_of(state).transcript.events == 4


def test_dedup_starts_at_the_cursor_the_session_was_attached_with() -> None:
    """Attached from "7": id 7 is dropped (already seen), 8 is the next."""
    state = GatewayState(config=v2_config())
    state = fold(state, v2_attached(cursor="7"), opened_v2(), rx(READY))
    step = reduce(state, rx(mux_chunk("old", id="7")))
    assert step.state == state
    state = fold(state, rx(mux_chunk("new", id="8")))
    assert op_of(state).last_event_id == "8"


def test_dedup_is_per_operation() -> None:
    """`OTHER` at id 9 does not make `OP`'s id 2 a repeat."""
    state = fold(_two(), rx(mux_chunk("b", op=OTHER, id="9")), rx(mux_chunk("a", id="2")))
    assert op_of(state).last_event_id == "2"
    assert op_of(state, OTHER).last_event_id == "9"


# --------------------------------------------------------------------------- routing


def test_a_frame_is_routed_by_its_envelope_to_that_session_alone() -> None:
    """A chunk for `OTHER` changes `OTHER`; `OP` is the same object as before."""
    state = _two()
    after = fold(state, rx(mux_chunk("hi", op=OTHER, id="1")))
    assert op_of(after) is op_of(state)
    assert op_of(after, OTHER).transcript.events == 1


def test_a_frame_for_an_operation_the_link_does_not_carry_is_dropped() -> None:
    """An `agent_event` or a `session_complete` for an unknown operation changes nothing."""
    state = _two()
    for message in (mux_chunk("x", op="op-unknown", id="1"), session_complete("op-unknown")):
        step = reduce(state, rx(message))
        assert step.state == state
        assert step.effects == ()


def test_the_envelope_operation_is_restored_so_an_own_end_ends_the_run() -> None:
    """A hub `agent_runtime_end` without `event.operationId` is the envelope's own end."""
    frame = (
        '{"type":"agent_event","operationId":"op-1","id":4,'
        '"event":{"type":"agent_runtime_end","stepIndex":0,"timestamp":1,"data":{}}}'
    )
    _, end = _ended_by(_two(), decode_mux(frame))
    assert end.outcome.source is FinishSource.AGENT_EVENT


# --------------------------------------------------------------------------- tools


def test_tool_execute_runs_only_for_an_executor_session() -> None:
    """The executor runs the tool; a watcher notes a problem and runs nothing."""
    state = GatewayState(config=v2_config())
    state = fold(state, v2_started(executor=True), v2_started(OTHER, "topic-2", executor=False))
    state = fold(state, opened_v2(), rx(READY))
    step = reduce(state, rx(mux_tool_execute(id="1")))
    assert [type(e) for e in step.effects] == [ExecuteTool]
    step = reduce(state, rx(mux_tool_execute(op=OTHER, id="1")))
    assert step.effects == ()
    watcher = op_of(step.state, OTHER)
    assert not watcher.tools
    assert watcher.last_event_id == "1"
    assert "not the executor" in (watcher.last_problem or "")


# --------------------------------------------------------------------------- terminals


def test_an_own_agent_runtime_end_completes_the_run() -> None:
    """Own clean end: completed, from the agent event."""
    _, end = _ended_by(_two(), mux_end(id="1"))
    assert (end.outcome.result, end.outcome.source) == (Result.COMPLETED, FinishSource.AGENT_EVENT)


def test_an_own_error_event_fails_the_run() -> None:
    """Own `error` event: failed, with its message as the detail."""
    _, end = _ended_by(_two(), mux_event("error", {"message": "boom"}, id="1"))
    assert end.outcome.result is Result.FAILED
    assert end.outcome.detail == "boom"


def test_a_member_terminal_is_delivered_and_owes_one_echo() -> None:
    """A member's end is shown, ends nothing, and its `session_complete` echo is ignored
    once; the next `session_complete` ends the run."""
    state = fold(_two(), rx(mux_end(id="1", event_op="op-member")))
    assert op_of(state).status is OperationStatus.RUNNING
    assert op_of(state).echo.owed_echoes == 1
    step = reduce(state, rx(session_complete(id="2")))
    assert notified(step.effects) == {}
    assert op_of(step.state).echo.owed_echoes == 0
    _, end = _ended_by(step.state, session_complete(id="3"))
    assert end.outcome.source is FinishSource.SESSION_COMPLETE


def test_a_member_terminal_echo_as_status_change_is_ignored_once() -> None:
    """The echo may come as a terminal `status_change`: ignored once, then it ends."""
    state = fold(_two(), rx(mux_end(id="1", event_op="op-member")))
    state = fold(state, rx(status_change(SessionStatus.COMPLETED, id="2")))
    assert op_of(state).status is OperationStatus.RUNNING
    _, end = _ended_by(state, status_change(SessionStatus.COMPLETED, id="3"))
    assert end.outcome.source is FinishSource.STATUS_CHANGE


def test_session_complete_ends_the_run() -> None:
    """A `session_complete` owed no echo: ended, from `session_complete`."""
    _, end = _ended_by(_two(), session_complete(id="1"))
    assert (end.outcome.result, end.outcome.source) == (Result.ENDED, FinishSource.SESSION_COMPLETE)


def test_a_terminal_status_change_ends_the_run_with_its_status() -> None:
    """`status_change: error`: failed, from `status_change`, the status as detail."""
    _, end = _ended_by(_two(), status_change(SessionStatus.ERROR, id="1"))
    assert end.outcome.result is Result.FAILED
    assert (end.outcome.source, end.outcome.detail) == (FinishSource.STATUS_CHANGE, "error")


def test_a_non_terminal_status_change_ends_nothing() -> None:
    """`status_change: running` moves the cursor and ends nothing."""
    step = reduce(_two(), rx(status_change(SessionStatus.RUNNING, id="4")))
    assert step.effects == ()
    assert op_of(step.state).status is OperationStatus.RUNNING
    assert op_of(step.state).last_event_id == "4"


def test_a_terminal_resume_complete_ends_the_run() -> None:
    """`resume_complete{status: completed}` not pending: ended from the resume status."""
    _, end = _ended_by(_two(), v2_resume_complete(SessionStatus.COMPLETED))
    assert (end.outcome.result, end.outcome.source) == (
        Result.COMPLETED,
        FinishSource.RESUME_STATUS,
    )


def test_a_pending_resume_complete_keeps_waiting() -> None:
    """`pending: true` (the operation is not set up yet): a terminal status ends nothing."""
    step = reduce(_two(), rx(v2_resume_complete(SessionStatus.COMPLETED, pending=True)))
    assert step.effects == ()
    assert op_of(step.state).status is OperationStatus.RUNNING


def test_a_non_terminal_resume_complete_keeps_following() -> None:
    """`resume_complete{status: running}`: the run goes on."""
    step = reduce(_two(), rx(v2_resume_complete(SessionStatus.RUNNING)))
    assert notified(step.effects) == {}
    assert op_of(step.state).status is OperationStatus.RUNNING


def test_subscribe_failed_is_an_authentication_failure() -> None:
    """The hub refused the subscription: auth failed, the reason in the detail."""
    _, end = _ended_by(_two(), subscribe_failed(reason="forbidden"))
    assert end.outcome.result is Result.AUTH_FAILED
    assert "forbidden" in end.outcome.detail


def test_nothing_is_delivered_to_an_ended_session() -> None:
    """After its end, frames for the operation change nothing and have no effect."""
    state, _ = _ended_by(_two(), mux_end(id="1"))
    for message in (
        mux_chunk("late", id="2"),
        session_complete(id="3"),
        status_change(SessionStatus.ERROR, id="4"),
        v2_resume_complete(SessionStatus.ERROR),
        subscribe_failed(),
    ):
        step = reduce(state, rx(message))
        assert step.state == state, message
        assert step.effects == (), message


# --------------------------------------------------------------------------- hub errors


def test_a_hub_error_for_a_subscription_is_that_sessions_problem_not_its_end() -> None:
    """`error{operationId: OP}`: OP's problem, OP goes on, the link is untouched."""
    state = _two()
    step = reduce(state, rx(HubError(code="rate_limited", message="slow", operation_id=OP)))
    assert step.effects == ()
    assert op_of(step.state).status is OperationStatus.RUNNING
    assert op_of(step.state).last_problem == "hub error rate_limited: slow"
    assert step.state.links[LINK] == state.links[LINK]


def test_a_hub_error_for_no_subscription_is_the_links_problem() -> None:
    """`error` with no operation (or one not carried) goes to the link, no session."""
    state = _two()
    for error in (
        HubError(code="bad_frame", message="?"),
        HubError(code="bad_frame", message="?", operation_id="op-unknown"),
    ):
        step = reduce(state, rx(error))
        assert step.effects == ()
        assert step.state.links[LINK].last_problem == "hub error bad_frame: ?"
        assert step.state.operations == state.operations
