"""Client-executed tools: `tool_execute` -> `ExecuteTool` -> exactly one `tool_result`.

PROTOCOL.md 6.1, invariant 14, and 12.5 (results queued across reconnects, dropped only
after the deadline).
"""

from __future__ import annotations

import pytest

from gatewayops.protocol import DEFAULT_TOOL_TIMEOUT_MS, Heartbeat, SessionStatus, ToolResult
from gatewayops.store import (
    ABSENT,
    ConnectionStatus,
    ExecuteTool,
    GatewayState,
    SendFailed,
    Timer,
    TimerKind,
    Tool,
    ToolFinished,
    ToolStatus,
    reduce,
    tool_timeout_ms,
)
from gatewayops.testing import TestStore

from .helpers import (
    ANY,
    AUTH_EXPIRED,
    AUTH_SUCCESS,
    CURSOR,
    OP,
    TRANSCRIPT,
    closed,
    connected_store,
    fired,
    fold,
    link_path,
    op_of,
    opened,
    path,
    received,
    resume_complete,
    resume_frame,
    send,
    timer,
    tool_execute,
    tool_result,
)

CALL = "call-1"
TOOL = f"{path('tools')}[{CALL!r}]"
SETTLED = f"{path('settled_tools')}[{CALL!r}]"
RUNNING = Tool(id=CALL, order=0, deadline_ms=10_000)
SENT = Tool(id=CALL, order=0, deadline_ms=10_000, status=ToolStatus.SENT)


def _queued(result: ToolResult) -> Tool:
    return Tool(id=CALL, order=0, deadline_ms=10_000, status=ToolStatus.QUEUED, result=result)


def _execute(timeout_ms: int) -> ExecuteTool:
    return ExecuteTool(
        operation_id=OP,
        tool_call_id=CALL,
        identifier="calc",
        api_name="add",
        arguments='{"a": 1, "b": 2}',
        timeout_ms=timeout_ms,
    )


def _running_tool_store() -> TestStore:
    """A connected operation running tool `call-1` (10 s server deadline)."""
    return TestStore(fold(connected_store().state, received(tool_execute(id="1"))))


def _lost(state: GatewayState, generation: int = 1) -> GatewayState:
    """The socket of `generation` closed; the operation waits to reconnect."""
    return fold(state, closed(generation))


def _reconnected(state: GatewayState, generation: int = 2) -> GatewayState:
    """Backoff elapsed and the socket of `generation` opened (not yet authenticated)."""
    return fold(state, fired(timer(state, TimerKind.BACKOFF)), opened(generation))


def test_tool_execute_runs_the_tool_with_a_deadline_margin() -> None:
    """`tool_execute` -> one ExecuteTool whose timeout is executionTimeoutMs - 500 ms."""
    store = connected_store()
    store.send(
        received(tool_execute(timeout_ms=10_000, id="1")),
        {
            CURSOR: "1",
            TRANSCRIPT: ANY,
            TOOL: RUNNING,
        },
        effects=[_execute(9_500)],
    )
    deadline = timer(store.state, TimerKind.TOOL_DEADLINE)
    assert deadline == Timer(
        owner=OP, kind=TimerKind.TOOL_DEADLINE, delay_ms=10_000, tool_call_id=CALL
    )
    store.finish()


@pytest.mark.parametrize(
    ("server_ms", "local_ms"),
    [(10_000, 9_500), (600, 100), (300, 100), (None, DEFAULT_TOOL_TIMEOUT_MS - 500)],
)
def test_tool_timeout_has_a_floor_and_a_default(server_ms: int | None, local_ms: int) -> None:
    """The local budget is deadline - 500 ms, at least 100 ms; 120 s when none is given."""
    step = reduce(connected_store().state, received(tool_execute(timeout_ms=server_ms)))
    assert step.effects == (_execute(local_ms),)
    if server_ms is not None:
        assert tool_timeout_ms(server_ms) == local_ms


def test_duplicate_tool_execute_is_not_run_twice() -> None:
    """A second `tool_execute` with the same toolCallId (e.g. replayed) runs nothing."""
    store = _running_tool_store()
    repeat = {
        path("problems"): 1,
        path("last_problem"): "event id '1' does not follow '1'",
        path("transcript.events"): 2,
    }
    store.send(received(tool_execute(id="1")), repeat, effects=[])  # a repeated id: reported
    store.send(
        received(tool_execute(id="2")), {CURSOR: "2", path("transcript.events"): 3}, effects=[]
    )  # under a new id
    store.send(received(tool_execute()), {path("transcript.events"): 4}, effects=[])  # no id
    assert len(op_of(store.state).transcript.tool_calls) == 1
    store.finish()


def test_tool_result_is_sent_when_connected() -> None:
    """A finished tool's result goes out at once on the current socket."""
    store = _running_tool_store()
    result = tool_result()
    store.send(
        ToolFinished(operation_id=OP, result=result),
        {TOOL: ABSENT, SETTLED: SENT},
        effects=[send(result)],
    )
    store.finish()


def test_tool_result_while_disconnected_is_queued_then_sent_after_resume() -> None:
    """A result produced during a reconnect is sent right after the next `resume` (12.5)."""
    state = _lost(_running_tool_store().state)
    store = TestStore(state)
    result = tool_result()
    store.send(
        ToolFinished(operation_id=OP, result=result),
        {f"{TOOL}.status": ToolStatus.QUEUED, f"{TOOL}.result": result},
        effects=[],
    )
    store = TestStore(_reconnected(store.state))
    store.send(
        received(AUTH_SUCCESS, 2),
        {link_path("status"): ConnectionStatus.CONNECTED, TOOL: ABSENT, SETTLED: SENT},
        effects=[resume_frame("1", generation=2), send(result, generation=2)],
    )
    store.finish()


def test_queued_results_are_sent_in_arrival_order() -> None:
    """Several queued results follow the resume frame in the order their tools arrived."""
    state = fold(
        connected_store().state,
        received(tool_execute("call-b", id="1")),
        received(tool_execute("call-a", id="2")),
        closed(1),
        ToolFinished(operation_id=OP, result=tool_result("call-a")),
        ToolFinished(operation_id=OP, result=tool_result("call-b")),
    )
    step = reduce(_reconnected(state), received(AUTH_SUCCESS, 2))
    assert step.effects == (
        resume_frame("2", generation=2),
        send(tool_result("call-b"), generation=2),
        send(tool_result("call-a"), generation=2),
    )


def test_result_waits_while_the_token_is_expired() -> None:
    """An unauthenticated (expired) socket does not carry tool results: they are queued."""
    state = fold(_running_tool_store().state, received(AUTH_EXPIRED))
    step = reduce(state, ToolFinished(operation_id=OP, result=tool_result()))
    assert step.effects == ()
    assert op_of(step.state).tools[CALL].status is ToolStatus.QUEUED


def test_deadline_drops_a_queued_result() -> None:
    """A queued result whose server deadline passed is dropped, never sent late."""
    state = fold(
        _lost(_running_tool_store().state), ToolFinished(operation_id=OP, result=tool_result())
    )
    store = TestStore(state)
    expired = Tool(id=CALL, order=0, deadline_ms=10_000, status=ToolStatus.EXPIRED)
    store.send(
        fired(timer(state, TimerKind.TOOL_DEADLINE)),
        {TOOL: ABSENT, SETTLED: expired},
        effects=[],
    )
    store = TestStore(_reconnected(store.state))
    store.send(
        received(AUTH_SUCCESS, 2),
        {link_path("status"): ConnectionStatus.CONNECTED},
        effects=[resume_frame("1", generation=2)],
    )
    store.finish()


def test_result_after_the_deadline_is_not_sent() -> None:
    """A tool that overran its deadline sends nothing when it finally finishes."""
    state = _running_tool_store().state
    state = fold(state, fired(timer(state, TimerKind.TOOL_DEADLINE)))
    store = TestStore(state)
    store.send(ToolFinished(operation_id=OP, result=tool_result()), {}, effects=[])
    store.finish()


def test_send_failure_requeues_the_result() -> None:
    """A result that could not be written is queued again and sent on the next connection."""
    result = tool_result()
    state = fold(_running_tool_store().state, ToolFinished(operation_id=OP, result=result))
    state = _lost(state)
    store = TestStore(state)
    store.send(
        SendFailed(link_id=OP, generation=1, message=result),
        {TOOL: _queued(result), SETTLED: ABSENT},
        effects=[],
    )
    step = reduce(_reconnected(store.state), received(AUTH_SUCCESS, 2))
    assert step.effects == (resume_frame("1", generation=2), send(result, generation=2))
    store.finish()


def test_send_failure_on_the_current_socket_queues_instead_of_resending() -> None:
    """A failed write on the still-current (dying) socket is queued, not resent into it."""
    result = tool_result()
    state = fold(_running_tool_store().state, ToolFinished(operation_id=OP, result=result))
    store = TestStore(state)
    store.send(
        SendFailed(link_id=OP, generation=1, message=result),
        {TOOL: _queued(result), SETTLED: ABSENT},
        effects=[],
    )
    store.finish()


def test_send_failure_reported_after_a_reconnect_goes_to_the_new_socket() -> None:
    """A failure of an old socket's write, reported once a newer socket is authenticated,
    sends the result on the newer socket at once."""
    result = tool_result()
    state = fold(_running_tool_store().state, ToolFinished(operation_id=OP, result=result))
    state = fold(_reconnected(_lost(state)), received(AUTH_SUCCESS, 2))
    store = TestStore(state)
    store.send(
        SendFailed(link_id=OP, generation=1, message=result),
        {},
        effects=[send(result, generation=2)],
    )
    store.finish()


def test_send_failure_after_the_deadline_is_never_resent() -> None:
    """A result re-queued by a failed write, whose deadline then passed, stays expired: a
    further failure reported for its frame changes nothing, even on a newer socket."""
    result = tool_result()
    state = fold(_running_tool_store().state, ToolFinished(operation_id=OP, result=result))
    state = fold(state, SendFailed(link_id=OP, generation=1, message=result))
    state = fold(state, fired(timer(state, TimerKind.TOOL_DEADLINE)))
    expired = Tool(id=CALL, order=0, deadline_ms=10_000, status=ToolStatus.EXPIRED)
    assert op_of(state).settled_tools[CALL] == expired
    state = fold(_reconnected(_lost(state)), received(AUTH_SUCCESS, 2))
    store = TestStore(state)
    store.send(SendFailed(link_id=OP, generation=1, message=result), {}, effects=[])
    store.finish()


def test_send_failure_of_other_frames_is_ignored() -> None:
    """Only tool results are retried; a lost heartbeat or resume frame changes nothing."""
    store = connected_store()
    store.send(SendFailed(link_id=OP, generation=1, message=Heartbeat()), {}, effects=[])
    store.finish()


def test_exactly_one_tool_result_per_tool_execute() -> None:
    """Repeated finishes and replays of one tool call put one `tool_result` on the wire (14)."""
    result = tool_result()
    state = connected_store().state
    sent: list[object] = []
    for action in (
        received(tool_execute(id="1")),
        received(tool_execute(id="1")),
        ToolFinished(operation_id=OP, result=result),
        ToolFinished(operation_id=OP, result=result),
        received(tool_execute(id="2")),
        ToolFinished(operation_id=OP, result=ToolResult(tool_call_id=CALL, success=False)),
    ):
        step = reduce(state, action)
        sent.extend(e for e in step.effects if isinstance(getattr(e, "message", None), ToolResult))
        state = step.state
    assert sent == [send(result)]


def test_a_second_result_for_a_queued_call_is_ignored() -> None:
    """While offline, the first result of a call is queued; a second one for the same call
    changes nothing (the first stands) and only the first is sent on the next socket."""
    first = tool_result()
    second = ToolResult(tool_call_id=CALL, success=False)
    state = fold(_lost(_running_tool_store().state), ToolFinished(operation_id=OP, result=first))
    store = TestStore(state)
    store.send(ToolFinished(operation_id=OP, result=second), {}, effects=[])
    assert op_of(store.state).tools[CALL] == _queued(first)
    step = reduce(_reconnected(store.state), received(AUTH_SUCCESS, 2))
    assert step.effects == (resume_frame("1", generation=2), send(first, generation=2))
    store.finish()


def test_a_second_result_for_a_call_requeued_on_a_live_socket_is_ignored() -> None:
    """A result whose write failed on the still-current socket is queued again; a second
    result for the call, while that socket is still connected, changes nothing."""
    first = tool_result()
    state = fold(_running_tool_store().state, ToolFinished(operation_id=OP, result=first))
    state = fold(state, SendFailed(link_id=OP, generation=1, message=first))
    store = TestStore(state)
    second = ToolResult(tool_call_id=CALL, success=False)
    store.send(ToolFinished(operation_id=OP, result=second), {}, effects=[])
    assert op_of(store.state).tools[CALL] == _queued(first)
    store.finish()


def test_tool_result_for_unknown_call_is_ignored() -> None:
    """A result for a toolCallId never executed sends nothing."""
    store = connected_store()
    store.send(ToolFinished(operation_id=OP, result=tool_result("call-zz")), {}, effects=[])
    store.finish()


def test_tool_execute_after_terminal_state_is_ignored() -> None:
    """Once the operation finished, a late `tool_execute` starts no tool."""
    state = fold(connected_store().state, received(resume_complete(SessionStatus.COMPLETED)))
    store = TestStore(state)
    store.send(received(tool_execute(id="5")), {}, effects=[])
    store.finish()
