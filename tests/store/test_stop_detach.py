"""Application actions: stop, detach, re-attach, and the misuse errors they raise.

PROTOCOL.md 8.4 (re-attach skipped while followed), 8.5 (stop -> interrupt, done only
when confirmed), invariants 12 and 21.
"""

from __future__ import annotations

import pytest

from gatewayops.exceptions import (
    InvalidGatewayUrl,
    LocalUsageError,
    OperationAlreadyExists,
    OperationFinished,
    TopicBusy,
    UnknownOperation,
)
from gatewayops.store import (
    ConnectionStatus,
    FinishSource,
    GatewayState,
    InterruptConfirmed,
    InterruptFailed,
    OperationDetached,
    OperationStatus,
    Outcome,
    RequestInterrupt,
    Result,
    ResumeState,
    StopRequested,
    Timer,
    TimerKind,
    is_input_loading,
    is_stopping,
    reduce,
)
from gatewayops.testing import TestStore

from .helpers import (
    ANY,
    AUTH_SUCCESS,
    CONNECTION,
    FRESH_TOKEN,
    OP,
    OUTCOME,
    STATUS,
    TOPIC,
    attached,
    auth_frame,
    chunk,
    closed,
    connected_store,
    fired,
    fold,
    link_of,
    link_path,
    marker,
    notify,
    op_of,
    opened,
    path,
    received,
    resources_of,
    resume_frame,
    runtime_end,
    socket_of,
    started,
    timer,
    tool_execute,
)

STOP = path("stop_requested")
PROBLEM = path("last_problem")
INTERRUPT = RequestInterrupt(operation_id=OP, topic_id=TOPIC)


def _stopping_store() -> TestStore:
    store = connected_store()
    store.send(StopRequested(operation_id=OP), {STOP: True}, effects=[INTERRUPT])
    return store


# --------------------------------------------------------------------------- stop


def test_stop_requests_one_interrupt() -> None:
    """Stop asks the server to interrupt once; a second press asks nothing more."""
    store = _stopping_store()
    assert is_stopping(store.state, OP)
    assert is_input_loading(store.state, TOPIC)
    store.send(StopRequested(operation_id=OP), {}, effects=[])
    store.finish()


def test_confirmed_interrupt_ends_as_interrupted() -> None:
    """A confirmed interrupt ends the run INTERRUPTED/INTERRUPT_CONFIRMED, once (21)."""
    store = _stopping_store()
    ended = Outcome(result=Result.INTERRUPTED, source=FinishSource.INTERRUPT_CONFIRMED)
    store.send(
        InterruptConfirmed(operation_id=OP),
        {
            STATUS: OperationStatus.FINISHED,
            OUTCOME: ended,
            CONNECTION: ConnectionStatus.DISCONNECTED,
            STOP: False,
            marker(): None,
        },
        effects=[notify(ended)],
    )
    assert not is_input_loading(store.state, TOPIC)
    assert resources_of(store.state) == frozenset()
    store.finish()


def test_failed_interrupt_leaves_the_run_going() -> None:
    """An unconfirmed stop leaves the run untouched: still running, stop can be retried."""
    store = _stopping_store()
    store.send(
        InterruptFailed(operation_id=OP, error="device offline"),
        {STOP: False, PROBLEM: "device offline"},
        effects=[],
    )
    assert op_of(store.state).status is OperationStatus.RUNNING
    assert link_of(store.state).status is ConnectionStatus.CONNECTED
    store.send(StopRequested(operation_id=OP), {STOP: True}, effects=[INTERRUPT])
    store.finish()


def test_server_terminal_before_confirmation_wins() -> None:
    """The server's own terminal arriving first ends the run; the late confirmation is moot."""
    store = _stopping_store()
    ended = Outcome(
        result=Result.INTERRUPTED, source=FinishSource.AGENT_EVENT, detail="interrupted"
    )
    store.send(
        received(runtime_end("interrupted")),
        {
            STATUS: OperationStatus.FINISHED,
            OUTCOME: ended,
            CONNECTION: ConnectionStatus.DISCONNECTED,
            STOP: False,
            marker(): None,
            path("transcript"): ANY,
        },
        effects=[notify(ended)],
    )
    store.send(InterruptConfirmed(operation_id=OP), {}, effects=[])
    store.finish()


def test_confirmation_without_a_stop_is_ignored() -> None:
    """An `InterruptConfirmed` nobody asked for does not end the run."""
    store = connected_store()
    store.send(InterruptConfirmed(operation_id=OP), {}, effects=[])
    store.finish()


# --------------------------------------------------------------------------- detach


def test_detach_closes_everything_without_notifying() -> None:
    """Detach closes the link (no socket, no timer) and emits no NotifyFinished."""
    store = connected_store()
    store.send(
        OperationDetached(operation_id=OP),
        {STATUS: OperationStatus.DETACHED, CONNECTION: ConnectionStatus.DISCONNECTED},
        effects=[],
    )
    assert resources_of(store.state) == frozenset()
    assert op_of(store.state).outcome is None
    assert not is_input_loading(store.state, TOPIC)
    store.finish()


def test_detach_keeps_a_pending_tool_deadline() -> None:
    """A detached operation still owes its tool result: only the tool deadline timer stays
    (its link holds nothing)."""
    state = fold(connected_store().state, received(tool_execute(id="1")))
    state = fold(state, OperationDetached(operation_id=OP))
    kinds = {
        resource.kind if isinstance(resource, Timer) else "socket"
        for resource in resources_of(state)
    }
    assert kinds == {TimerKind.TOOL_DEADLINE}


def test_detach_while_buffering_flushes_the_replay() -> None:
    """Detaching mid-replay shows what was buffered (the cursor already moved past it)."""
    state = fold(connected_store(attach=True).state, received(chunk("seen", id="1")))
    state = fold(state, OperationDetached(operation_id=OP))
    op = op_of(state)
    assert op.transcript.text == "seen"
    assert op.resume == ResumeState(on_connect=True)


def test_reattach_after_detach_dials_again() -> None:
    """Re-attaching a detached operation dials a new generation with the new token."""
    state = fold(
        connected_store().state, received(chunk("a", id="3")), OperationDetached(operation_id=OP)
    )
    store = TestStore(state)
    store.send(
        attached(token=FRESH_TOKEN),
        {
            STATUS: OperationStatus.RUNNING,
            path("token"): FRESH_TOKEN,
            CONNECTION: ConnectionStatus.CONNECTING,
            link_path("generation"): 2,
            path("resume"): ResumeState(on_connect=True),
            marker(): OP,
        },
        effects=[],
    )
    assert socket_of(2) in resources_of(store.state)
    store.send(opened(2), {CONNECTION: ConnectionStatus.AUTHENTICATING})
    store.receive(auth_frame(FRESH_TOKEN, generation=2))
    store.send(
        received(AUTH_SUCCESS, 2),
        {CONNECTION: ConnectionStatus.CONNECTED},
        effects=[resume_frame("3", generation=2)],
    )
    assert is_input_loading(store.state, TOPIC)
    store.finish()


def test_attach_to_a_followed_operation_is_skipped() -> None:
    """Attaching an operation already running changes nothing and opens no second socket."""
    for state in (connected_store().state, fold(GatewayState(), started())):
        store = TestStore(state)
        store.send(attached(), {}, effects=[])
        store.finish()


def test_detach_twice_is_harmless() -> None:
    """Detaching a detached operation changes nothing."""
    store = TestStore(fold(connected_store().state, OperationDetached(operation_id=OP)))
    store.send(OperationDetached(operation_id=OP), {}, effects=[])
    store.finish()


def test_detached_operation_ignores_its_old_timers() -> None:
    """A backoff timer armed before the detach no longer dials after it."""
    state = fold(GatewayState(), started(), closed(1))
    backoff = timer(state, TimerKind.BACKOFF)
    store = TestStore(fold(state, OperationDetached(operation_id=OP)))
    store.send(fired(backoff), {}, effects=[])
    store.finish()


# --------------------------------------------------------------------------- misuse


def test_start_with_a_known_id_raises() -> None:
    """Starting an operation id the store already knows is OperationAlreadyExists."""
    state = fold(GatewayState(), started(topic="topic-x"))
    with pytest.raises(OperationAlreadyExists, match="op-1"):
        reduce(state, started(topic="topic-y"))


def test_start_on_a_busy_topic_raises() -> None:
    """A new run cannot start on a topic another running operation holds (TopicBusy)."""
    state = fold(GatewayState(), started())
    with pytest.raises(TopicBusy, match="topic-1"):
        reduce(state, started(op="op-2"))
    with pytest.raises(TopicBusy):
        reduce(state, attached(op="op-2"))


def test_start_after_the_topic_run_finished_is_allowed() -> None:
    """Once the topic's run finished, its marker is clear and a new run may start."""
    state = fold(connected_store().state, received(runtime_end()))
    state = fold(state, started(op="op-2"))
    assert state.topics[TOPIC].running_operation == "op-2"


def test_attach_a_finished_operation_raises() -> None:
    """A finished operation cannot be followed again (OperationFinished)."""
    state = fold(connected_store().state, received(runtime_end()))
    with pytest.raises(OperationFinished, match="op-1"):
        reduce(state, attached())


@pytest.mark.parametrize(
    "action", [StopRequested(operation_id="nope"), OperationDetached(operation_id="nope")]
)
def test_stop_or_detach_unknown_raises(action: StopRequested | OperationDetached) -> None:
    """Stop or detach of an operation the store never knew is UnknownOperation."""
    with pytest.raises(UnknownOperation, match="nope"):
        reduce(GatewayState(), action)


@pytest.mark.parametrize("url", ["ftp://gateway.test", "gateway.test", ""])
def test_bad_gateway_url_scheme_raises(url: str) -> None:
    """A gateway URL that is not ws(s):// or http(s):// is InvalidGatewayUrl."""
    with pytest.raises(InvalidGatewayUrl):
        reduce(GatewayState(), started(url=url))


def test_misuse_errors_are_local_usage_errors_and_leave_state_alone() -> None:
    """Every misuse error is a LocalUsageError raised before the state changes."""
    state = fold(GatewayState(), started())
    for action in (started(), started(op="op-2"), StopRequested(operation_id="x")):
        with pytest.raises(LocalUsageError):
            reduce(state, action)
    assert state == fold(GatewayState(), started())


def test_http_gateway_url_becomes_websocket_url() -> None:
    """`https://` bases dial `wss://.../ws?operationId=` (1.1): the URL of the
    operation's own link, which its socket dials."""
    state = fold(GatewayState(), started(url="https://gateway.test.com"))
    assert link_of(state).url == "wss://gateway.test.com/ws?operationId=op-1"
    sockets = [resource for resource in resources_of(state) if not isinstance(resource, Timer)]
    assert [socket.url for socket in sockets] == ["wss://gateway.test.com/ws?operationId=op-1"]
