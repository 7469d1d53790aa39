"""Resume: the envelope-id cursor (reported, never dropped, when it goes back), and buffering
the replay on reattach (the only place events are deduplicated in v1).

PROTOCOL.md 1.5, 2.4, 3 and invariants 9-11.
"""

from __future__ import annotations

from gatewayops.protocol import AgentEvent, AgentEventMessage, SessionStatus
from gatewayops.store import (
    ConnectionStatus,
    ExecuteTool,
    FinishSource,
    GatewayState,
    NotifyFinished,
    OperationStatus,
    Outcome,
    Result,
    ResumeState,
    ResumeStatus,
    Timer,
    TimerKind,
    reduce,
    transcript,
)
from gatewayops.testing import TestStore

from .helpers import (
    ANY,
    AUTH_SUCCESS,
    CONNECTION,
    CURSOR,
    OP,
    OUTCOME,
    RESUME,
    SESSION_COMPLETE,
    STATUS,
    TRANSCRIPT,
    attached,
    chunk,
    closed,
    connected_store,
    event,
    fired,
    fold,
    marker,
    notify,
    op_of,
    opened,
    path,
    received,
    resume_complete,
    resume_frame,
    runtime_end,
    started,
    timer,
    timers,
    tool_execute,
)


def _text(state: GatewayState) -> str:
    found = transcript(state, OP)
    assert found is not None
    return found.text


def _buffering_store() -> TestStore:
    """An operation reattached without a cursor, authenticated on its link's socket of
    generation 1 and buffering that socket's replay."""
    store = connected_store(attach=True)
    assert op_of(store.state).resume == ResumeState(
        on_connect=True, status=ResumeStatus.BUFFERING, generation=1
    )
    return store


# --------------------------------------------------------------------------- the cursor


def test_cursor_follows_envelope_ids() -> None:
    """The resume cursor is the envelope `id` of the last `agent_event`."""
    store = connected_store()
    step = store.send(received(chunk("hello", id="1")), {CURSOR: "1", TRANSCRIPT: ANY}, effects=[])
    assert step.state is store.state
    assert _text(store.state) == "hello"
    store.finish()


def test_event_inner_id_is_not_the_cursor() -> None:
    """Only the envelope id moves the cursor; an id inside the event does not (1.5)."""
    message = AgentEventMessage(
        event=AgentEvent(
            type="stream_chunk",
            operation_id=OP,
            data={"chunkType": "text", "content": "x"},
            id="99",
        ),
        id=None,
    )
    state = fold(connected_store().state, received(message))
    assert op_of(state).last_event_id == ""


def test_a_live_repeat_of_an_id_is_delivered_and_reported() -> None:
    """Outside a resume replay nothing is deduplicated: a live event whose id does not
    come after the cursor is shown, and reported as a problem of the operation (10)."""
    state = fold(
        connected_store().state, received(chunk("a", id="1")), received(chunk("b", id="2"))
    )
    store = TestStore(state)
    store.send(
        received(chunk("b", id="2")),
        {
            TRANSCRIPT: ANY,
            path("problems"): 1,
            path("last_problem"): "event id '2' does not follow '2'",
        },
        effects=[],
    )
    assert _text(store.state) == "abb"
    store.finish()


def test_an_id_going_back_moves_the_cursor_and_the_run_goes_on() -> None:
    """A gateway that lost its id counter restarts at 1: the events are shown, the cursor
    follows what the server says, and the run still ends on its own terminal (10)."""
    state = fold(connected_store().state, received(chunk("a", id="41")))
    state = fold(state, received(chunk("b", id="1")), received(chunk("c", id="2")))
    assert _text(state) == "abc"
    assert op_of(state).last_event_id == "2"
    assert op_of(state).problems == 1
    state = fold(state, received(runtime_end(id="3")))
    assert op_of(state).status is OperationStatus.FINISHED


def test_ids_of_any_length_are_compared_as_numbers() -> None:
    """A 5,000-digit id is an id like any other: compared without int(), never raising."""
    huge = "9" * 5_000
    state = fold(connected_store().state, received(chunk("a", id=huge)))
    state = fold(state, received(chunk("b", id="1" + "0" * 5_000)))
    assert op_of(state).problems == 0
    state = fold(state, received(chunk("c", id=huge)))
    assert op_of(state).problems == 1
    assert _text(state) == "abc"


def test_an_empty_id_leaves_the_cursor() -> None:
    """An envelope id of "" does not move the cursor (upstream's ``if (msg.id)``)."""
    state = fold(connected_store().state, received(chunk("a", id="7")), received(chunk("b", id="")))
    assert op_of(state).last_event_id == "7"
    assert _text(state) == "ab"


def test_reconnect_resumes_after_the_cursor() -> None:
    """After a reconnect `resume` asks for what came after the cursor; new ids apply."""
    state = fold(
        connected_store().state,
        received(chunk("a", id="1")),
        received(chunk("b", id="2")),
        closed(1),
    )
    state = fold(state, fired(timer(state, TimerKind.BACKOFF)), opened(2))
    assert reduce(state, received(AUTH_SUCCESS, 2)).effects == (resume_frame("2", generation=2),)
    state = fold(state, received(AUTH_SUCCESS, 2), received(chunk("c", id="3"), 2))
    assert _text(state) == "abc"
    assert op_of(state).last_event_id == "3"


def test_cursor_survives_refresh_and_reconnect() -> None:
    """The cursor is kept across reconnects, so the next `resume` starts after it."""
    state = fold(connected_store().state, received(chunk("a", id="41")), closed(1))
    store = TestStore(fold(state, fired(timer(state, TimerKind.BACKOFF)), opened(2)))
    store.send(
        received(AUTH_SUCCESS, 2),
        {CONNECTION: ConnectionStatus.CONNECTED},
        effects=[resume_frame("41", generation=2)],
    )
    store.finish()


def test_attach_with_cursor_resumes_after_it() -> None:
    """Attaching with a handed-over cursor resumes after it and does not buffer (3.1)."""
    store = TestStore(fold(GatewayState(), attached(last_event_id="12"), opened()))
    store.send(
        received(AUTH_SUCCESS),
        {CONNECTION: ConnectionStatus.CONNECTED},
        effects=[resume_frame("12")],
    )
    assert not op_of(store.state).resume.buffering
    store.finish()


# --------------------------------------------------------------------------- buffering


def test_attach_without_cursor_buffers_the_replay() -> None:
    """Reattached with no cursor, replayed events are held back, not shown yet."""
    store = _buffering_store()
    first = chunk("a", id="1")
    store.send(
        received(first),
        {
            CURSOR: "1",
            path("resume.buffer"): (first,),
            path("resume.seen"): ANY,
            path("resume.arrivals"): 1,
        },
        effects=[],
    )
    assert _text(store.state) == ""
    assert timer(store.state, TimerKind.RESUME_FLUSH) == Timer(
        owner=OP, kind=TimerKind.RESUME_FLUSH, generation=1, seq=1, delay_ms=500
    )
    store.finish()


def test_a_replay_buffered_again_after_a_reconnect_is_keyed_by_the_new_generation() -> None:
    """With the cursor still empty, the next socket's replay is buffered too; its flush
    timer names that socket's generation, so the first replay's timer is stale."""
    state = _buffering_store().state
    first = timer(state, TimerKind.RESUME_FLUSH)
    state = fold(state, closed(1))
    assert op_of(state).resume == ResumeState(on_connect=True)
    state = fold(state, fired(timer(state, TimerKind.BACKOFF)), opened(2))
    state = fold(state, received(AUTH_SUCCESS, 2))
    assert op_of(state).resume == ResumeState(
        on_connect=True, status=ResumeStatus.BUFFERING, generation=2
    )
    second = timer(state, TimerKind.RESUME_FLUSH)
    assert (first.generation, second.generation) == (1, 2)
    store = TestStore(state)
    store.send(fired(first), {}, effects=[])
    store.send(fired(second), {RESUME: ResumeState(on_connect=True)}, effects=[])
    store.finish()


def test_each_buffered_event_rearms_the_flush_timer() -> None:
    """The 500 ms flush is a debounce: every buffered event arms a fresh timer."""
    state = _buffering_store().state
    before = timer(state, TimerKind.RESUME_FLUSH)
    state = fold(state, received(chunk("a", id="1")))
    after = timer(state, TimerKind.RESUME_FLUSH)
    assert after != before
    store = TestStore(state)
    store.send(fired(before), {}, effects=[])  # the superseded timer is stale
    store.finish()


def test_quiet_timer_flushes_the_buffer_in_order() -> None:
    """500 ms after the last replayed event the buffer is shown, in arrival order."""
    state = fold(
        _buffering_store().state,
        received(chunk("a", id="1")),
        received(chunk("b", id="2")),
        received(chunk("c", id="3")),
    )
    store = TestStore(state)
    store.send(
        fired(timer(state, TimerKind.RESUME_FLUSH)),
        {RESUME: ResumeState(on_connect=True), TRANSCRIPT: ANY},
        effects=[],
    )
    assert _text(store.state) == "abc"
    assert TimerKind.RESUME_FLUSH not in timers(store.state)
    store.finish()


def test_live_events_after_flush_are_shown_at_once() -> None:
    """Once flushed, later events go straight to the transcript (no buffering)."""
    state = fold(_buffering_store().state, received(chunk("a", id="1")))
    state = fold(state, fired(timer(state, TimerKind.RESUME_FLUSH)), received(chunk("b", id="2")))
    assert _text(state) == "ab"
    assert not op_of(state).resume.buffer


def test_flush_dedupes_keeping_the_first_copy() -> None:
    """Id-less duplicates in the buffer (same type/step/timestamp) are shown once, first wins."""
    replayed = event("stream_chunk", {"chunkType": "text", "content": "replay"}, timestamp=5)
    raced = event("stream_chunk", {"chunkType": "text", "content": "live"}, timestamp=5)
    later = event("stream_chunk", {"chunkType": "text", "content": "!"}, timestamp=6)
    state = fold(_buffering_store().state, received(replayed), received(raced), received(later))
    assert list(op_of(state).resume.buffer) == [replayed, later]
    assert op_of(state).resume.arrivals == 3
    state = fold(state, fired(timer(state, TimerKind.RESUME_FLUSH)))
    assert _text(state) == "replay!"
    assert op_of(state).transcript.events == 2


def test_resume_complete_flushes_before_deciding() -> None:
    """`resume_complete` shows the buffered replay first, then completes (9)."""
    state = fold(_buffering_store().state, received(chunk("done", id="1")))
    store = TestStore(state)
    ended = Outcome(result=Result.COMPLETED, source=FinishSource.RESUME_STATUS, detail="completed")
    store.send(
        received(resume_complete(SessionStatus.COMPLETED)),
        {
            RESUME: ResumeState(on_connect=True),
            TRANSCRIPT: ANY,
            STATUS: OperationStatus.FINISHED,
            OUTCOME: ended,
            CONNECTION: ConnectionStatus.DISCONNECTED,
            marker(): None,
        },
        effects=[notify(ended)],
    )
    assert _text(store.state) == "done"
    store.finish()


def test_resume_complete_running_flushes_and_stays_live() -> None:
    """A non-terminal `resume_complete` flushes the replay and keeps streaming."""
    state = fold(_buffering_store().state, received(chunk("so far", id="1")))
    store = TestStore(state)
    store.send(
        received(resume_complete(SessionStatus.RUNNING)),
        {RESUME: ResumeState(on_connect=True), TRANSCRIPT: ANY},
        effects=[],
    )
    assert _text(store.state) == "so far"
    assert op_of(store.state).status is OperationStatus.RUNNING
    store.finish()


def test_own_terminal_while_buffering_flushes_everything_then_ends() -> None:
    """An own terminal in the replay flushes the buffer, itself included, then ends."""
    state = fold(_buffering_store().state, received(chunk("all", id="1")))
    store = TestStore(state)
    ended = Outcome(result=Result.COMPLETED, source=FinishSource.AGENT_EVENT)
    store.send(
        received(runtime_end(id="2")),
        {
            CURSOR: "2",
            RESUME: ResumeState(on_connect=True),
            TRANSCRIPT: ANY,
            STATUS: OperationStatus.FINISHED,
            OUTCOME: ended,
            CONNECTION: ConnectionStatus.DISCONNECTED,
            marker(): None,
        },
        effects=[notify(ended)],
    )
    final = transcript(store.state, OP)
    assert final is not None
    assert final.text == "all"
    assert final.ended
    store.finish()


def test_session_complete_while_buffering_flushes_then_ends() -> None:
    """A genuine `session_complete` flushes the replay before ending the run."""
    state = fold(_buffering_store().state, received(chunk("x", id="1")))
    store = TestStore(state)
    ended = Outcome(result=Result.ENDED, source=FinishSource.SESSION_COMPLETE)
    store.send(
        received(SESSION_COMPLETE),
        {
            RESUME: ResumeState(on_connect=True),
            TRANSCRIPT: ANY,
            STATUS: OperationStatus.FINISHED,
            OUTCOME: ended,
            CONNECTION: ConnectionStatus.DISCONNECTED,
            marker(): None,
        },
        effects=[notify(ended)],
    )
    assert _text(store.state) == "x"
    store.finish()


def test_buffered_tool_execute_runs_when_flushed() -> None:
    """A replayed `tool_execute` is executed when the buffer is flushed, not before."""
    state = fold(_buffering_store().state, received(tool_execute(id="1")))
    assert not op_of(state).tools
    step = reduce(state, fired(timer(state, TimerKind.RESUME_FLUSH)))
    assert [type(effect) for effect in step.effects] == [ExecuteTool]


def test_replayed_effects_come_before_the_completion() -> None:
    """Effects of the flushed replay precede the NotifyFinished the same frame causes (9)."""
    state = fold(_buffering_store().state, received(tool_execute(id="1")))
    step = reduce(state, received(resume_complete(SessionStatus.COMPLETED)))
    assert [type(effect) for effect in step.effects] == [ExecuteTool, NotifyFinished]


def test_new_run_never_buffers() -> None:
    """A brand-new run (start) streams live from the first event (invariant 11)."""
    state = fold(GatewayState(), started(), opened(), received(AUTH_SUCCESS))
    assert not op_of(state).resume.buffering
    state = fold(state, received(chunk("live", id="1")))
    assert _text(state) == "live"
    assert TimerKind.RESUME_FLUSH not in timers(state)


def test_attach_reconnect_with_cursor_does_not_buffer_again() -> None:
    """After the first replay moved the cursor, a reconnect resumes live, unbuffered."""
    state = fold(_buffering_store().state, received(chunk("a", id="1")), closed(1))
    state = fold(state, fired(timer(state, TimerKind.BACKOFF)), opened(2))
    state = fold(state, received(AUTH_SUCCESS, 2))
    assert not op_of(state).resume.buffering
    assert _text(state) == "a"


def test_losing_the_socket_while_buffering_flushes_the_replay() -> None:
    """Events buffered before a drop are shown, not dropped: the cursor already moved
    past them, so the next replay will not carry them again."""
    store = _buffering_store()
    state = fold(store.state, received(chunk("a", id="1")), received(chunk("b", id="2")))
    state = fold(state, closed())
    assert _text(state) == "ab"
    assert op_of(state).resume.buffer == ()
    assert op_of(state).last_event_id == "2"
