"""The user's v2 link as a whole (PROTOCOL.md 7.4-7.6), pure: no Trio.

Joining it, `ready` (every session subscribes from its own cursor, then the queued tool
results go out), `unsubscribe` when an operation ends, close code 4401, the dial budget
(v2 unavailable: every session ends once, or moves to a v1 link of its own with the
fallback), the lazy link's idle close and reuse, the keep-alive link, the network
coming back, and the full-jitter backoff.
"""

from __future__ import annotations

from gatewayops.protocol import Resume, encode_mux
from gatewayops.protocol._v2_messages import MuxToolResult, Unsubscribe
from gatewayops.store import (
    ConnectionStatus,
    FinishSource,
    GatewayState,
    NetworkRestored,
    OperationDetached,
    OperationStatus,
    Protocol,
    RefreshToken,
    Result,
    SendMessage,
    Step,
    Timer,
    TimerKind,
    TokenRefreshed,
    ToolFinished,
    link_resources,
    operation_resources,
    reduce,
)

from .helpers import AUTH_SUCCESS, OP, fired, fold, op_of, opened, received, tool_result
from .v2_helpers import (
    LINK,
    OTHER,
    READY,
    closed_v2,
    link_timer,
    mux_chunk,
    mux_end,
    mux_tool_execute,
    notified,
    opened_v2,
    ready_state,
    rx,
    sent,
    session_complete,
    subscribe,
    v2_attached,
    v2_config,
    v2_started,
    v2_state,
)

_UNAUTHORIZED = 4401


def _backoff_over(state: GatewayState) -> GatewayState:
    """The backoff timer fires: the link dials its next socket."""
    return fold(state, fired(link_timer(state, TimerKind.BACKOFF)))


def _lose_unready_dials(state: GatewayState, count: int) -> GatewayState:
    """`count` dials in a row close before `ready` (each after its backoff)."""
    for index in range(count):
        if index:
            state = _backoff_over(state)
        state = fold(state, closed_v2(state.links[LINK].generation))
    return state


def _timers(state: GatewayState, op: str = OP) -> set[Timer]:
    """The timers `op` wants itself."""
    wanted = operation_resources(op_of(state, op), state.config)
    return {timer for timer in wanted if isinstance(timer, Timer)}


def _link_timers(state: GatewayState) -> set[TimerKind]:
    """The kinds of timer the v2 link wants."""
    wanted = link_resources(state.links[LINK], state.config)
    return {timer.kind for timer in wanted if isinstance(timer, Timer)}


def _with_queued_result(state: GatewayState, timeout_ms: int | None = 10_000) -> GatewayState:
    """`OP` ran a tool whose result came while the socket was down: it is queued."""
    state = fold(state, rx(mux_tool_execute(id="1", timeout_ms=timeout_ms)), closed_v2())
    return fold(state, ToolFinished(operation_id=OP, result=tool_result()))


# --------------------------------------------------------------------------- join and ready


def test_subscribe_carries_its_optional_fields_only_when_set() -> None:
    """A fresh watcher's `subscribe` is bare; an executor attached from a cursor
    carries both."""
    state = ready_state(OP)
    watcher = subscribe(OTHER, executor=False)
    assert reduce(state, v2_started(OTHER, "topic-2", executor=False)).effects == (sent(watcher),)
    assert encode_mux(watcher) == '{"type":"subscribe","operationId":"op-2"}'
    executor = subscribe("op-3", cursor="12", executor=True)
    assert reduce(state, v2_attached("op-3", "topic-3", cursor="12")).effects == (sent(executor),)
    assert encode_mux(executor) == (
        '{"type":"subscribe","operationId":"op-3","lastEventId":"12","executor":true}'
    )


def test_nothing_is_sent_before_ready() -> None:
    """Sessions join a dialling link and its socket opens: not one frame goes out."""
    state = GatewayState(config=v2_config())
    for action in (v2_started(), v2_started(OTHER, "topic-2"), opened_v2()):
        step = reduce(state, action)
        assert step.effects == (), action
        state = step.state
    assert state.links[LINK].status is ConnectionStatus.AUTHENTICATING


def test_sessions_share_one_link_and_one_socket() -> None:
    """Two operations, one link (dialled once), carrying both."""
    state = v2_state(OP, OTHER)
    link = state.links[LINK]
    assert (link.generation, set(link.sessions)) == (1, {OP, OTHER})
    assert op_of(state).link_id == op_of(state, OTHER).link_id == LINK


def test_ready_resubscribes_every_session_from_its_own_cursor_then_flushes_results() -> None:
    """After a loss: both `subscribe`s (each with its cursor) come first, then the
    queued tool result, on the new socket."""
    state = fold(ready_state(OP, OTHER), rx(mux_chunk("b", op=OTHER, id="9")))
    state = _with_queued_result(state)
    state = fold(_backoff_over(state), opened_v2(2))
    step = reduce(state, rx(READY, 2))
    result = MuxToolResult(operation_id=OP, result=tool_result())
    assert set(step.effects[:2]) == {
        sent(subscribe(OP, cursor="1"), 2),
        sent(subscribe(OTHER, cursor="9"), 2),
    }
    assert step.effects[2:] == (sent(result, 2),)
    assert step.state.links[LINK].status is ConnectionStatus.CONNECTED


def test_a_queued_result_past_its_deadline_is_dropped_not_sent() -> None:
    """The tool's deadline (120 s by default) passes while the socket is down: the
    next `ready` subscribes and sends no result."""
    state = _with_queued_result(ready_state(OP), timeout_ms=None)
    deadline = [t for t in _timers(state) if t.kind is TimerKind.TOOL_DEADLINE]
    assert [t.delay_ms for t in deadline] == [120_000]
    state = fold(state, fired(deadline[0]))
    state = fold(_backoff_over(state), opened_v2(2))
    step = reduce(state, rx(READY, 2))
    assert step.effects == (sent(subscribe(OP, cursor="1"), 2),)


def test_a_result_finished_while_ready_goes_out_at_once() -> None:
    """On a ready link the tool result is written now, wrapped with its operation."""
    state = fold(ready_state(OP), rx(mux_tool_execute(id="1")))
    step = reduce(state, ToolFinished(operation_id=OP, result=tool_result()))
    assert step.effects == (sent(MuxToolResult(operation_id=OP, result=tool_result())),)


def test_unsubscribe_goes_out_when_the_operation_ends_and_others_stay() -> None:
    """`OP` ends: `unsubscribe{OP}` on the live socket; `OTHER` is still carried."""
    step = reduce(ready_state(OP, OTHER), rx(session_complete()))
    assert step.effects[-1] == sent(Unsubscribe(operation_id=OP))
    assert set(step.state.links[LINK].sessions) == {OTHER}


def test_no_unsubscribe_for_a_session_the_hub_never_heard_of() -> None:
    """Detached before `ready`: it leaves the link without a frame."""
    step = reduce(v2_state(OP, OTHER), OperationDetached(operation_id=OP))
    assert step.effects == ()
    assert set(step.state.links[LINK].sessions) == {OTHER}


# --------------------------------------------------------------------------- 4401


def test_a_4401_close_redials_at_once_without_backoff() -> None:
    """The hub refused the user token: a new socket now (the runtime fetches a fresh
    token before every dial), no backoff timer, the refusal counted."""
    step = reduce(ready_state(OP, OTHER), closed_v2(code=_UNAUTHORIZED, reason="auth_expired"))
    link = step.state.links[LINK]
    assert (link.status, link.generation, link.auth_failures) == (
        ConnectionStatus.CONNECTING,
        2,
        1,
    )
    assert TimerKind.BACKOFF not in _link_timers(step.state)
    assert step.effects == ()


def test_three_4401_in_a_row_end_every_session_as_an_auth_failure() -> None:
    """The third refusal in a row: each session ends once as AUTH_FAILED; the link closes."""
    state = v2_state(OP, OTHER)
    for generation in (1, 2):
        state = fold(state, closed_v2(generation, code=_UNAUTHORIZED))
    step = reduce(state, closed_v2(3, code=_UNAUTHORIZED))
    ends = notified(step.effects)
    assert set(ends) == {OP, OTHER}
    assert {end.outcome.result for end in ends.values()} == {Result.AUTH_FAILED}
    assert step.state.links[LINK].status is ConnectionStatus.DISCONNECTED


def test_ready_between_refusals_starts_the_count_again() -> None:
    """4401, 4401, `ready`, 4401, 4401: nobody ends (the count restarted at `ready`)."""
    state = v2_state(OP, OTHER)
    state = fold(state, closed_v2(1, code=_UNAUTHORIZED), closed_v2(2, code=_UNAUTHORIZED))
    state = fold(state, opened_v2(3), rx(READY, 3))
    assert state.links[LINK].auth_failures == 0
    state = fold(state, closed_v2(3, code=_UNAUTHORIZED), closed_v2(4, code=_UNAUTHORIZED))
    assert op_of(state).status is OperationStatus.RUNNING


def test_a_link_dialled_again_after_refusals_ended_its_sessions_starts_afresh() -> None:
    """After three 4401s ended everything, a new run dials with the counts at zero: its
    first 4401 is retried, not an authentication failure at once."""
    state = v2_state(OP)
    for generation in (1, 2, 3):
        state = fold(state, closed_v2(generation, code=_UNAUTHORIZED))
    state = fold(state, v2_started(OTHER, "topic-2"))
    link = state.links[LINK]
    assert (link.auth_failures, link.failed_dials, link.attempt) == (0, 0, 0)
    step = reduce(state, closed_v2(link.generation, code=_UNAUTHORIZED))
    assert notified(step.effects) == {}
    assert op_of(step.state, OTHER).status is OperationStatus.RUNNING


# --------------------------------------------------------------------------- the dial budget


def test_a_dial_that_reached_ready_does_not_count_against_the_budget() -> None:
    """Healthy sockets that later drop only reconnect, however many times."""
    state = ready_state(OP, OTHER)
    for generation in range(1, 6):
        state = fold(state, closed_v2(generation))
        state = fold(_backoff_over(state), opened_v2(generation + 1), rx(READY, generation + 1))
    assert state.links[LINK].failed_dials == 0
    assert op_of(state).status is OperationStatus.RUNNING


def test_the_dial_budget_spent_makes_v2_unavailable_and_ends_each_session_once() -> None:
    """Three dials without `ready` and no fallback: each session ends once as
    UNREACHABLE (v2 unavailable); the link is closed and marked unavailable."""
    state = _backoff_over(_lose_unready_dials(v2_state(OP, OTHER), 2))
    step = reduce(state, closed_v2(state.links[LINK].generation))
    ends = notified(step.effects)
    assert set(ends) == {OP, OTHER}
    for end in ends.values():
        assert (end.outcome.result, end.outcome.source) == (
            Result.UNREACHABLE,
            FinishSource.V2_UNAVAILABLE,
        )
    link = step.state.links[LINK]
    assert link.unavailable
    assert link.status is ConnectionStatus.DISCONNECTED
    assert not link.sessions


def test_with_the_fallback_each_session_moves_to_its_own_v1_link_from_its_cursor() -> None:
    """The budget spent with `v2_fallback`: every live run gets a v1 link of its own,
    resumes there from its v2 cursor, and its queued tool result goes out after
    `auth_success`; nobody is notified."""
    config = v2_config(v2_fallback=True)
    state = GatewayState(config=config)
    state = fold(state, v2_started(token="run-token-1"), v2_started(OTHER, "topic-2"))
    state = fold(state, opened_v2(), rx(READY))
    state = _with_queued_result(state)
    state = _lose_unready_dials(_backoff_over(state), 3)
    assert state.links[LINK].unavailable
    moved = op_of(state)
    assert (moved.link_id, moved.status) == (OP, OperationStatus.RUNNING)
    v1 = state.links[OP]
    assert (v1.protocol, v1.status) == (Protocol.V1, ConnectionStatus.CONNECTING)
    step = reduce(state, opened())
    state = step.state
    step = reduce(state, received(AUTH_SUCCESS))
    assert (
        SendMessage(link_id=OP, generation=1, message=Resume(last_event_id="1", want_status=True))
        in step.effects
    )
    assert SendMessage(link_id=OP, generation=1, message=tool_result()) in step.effects


def test_a_fallback_session_without_a_run_token_asks_for_one_then_dials_v1() -> None:
    """A session that joined with only the user token asks for a v1 token first."""
    state = v2_state(OTHER, config=v2_config(v2_fallback=True))
    steps: list[Step] = []
    for _ in range(3):
        if steps:
            state = _backoff_over(state)
        step = reduce(state, closed_v2(state.links[LINK].generation))
        steps.append(step)
        state = step.state
    assert steps[-1].effects == (RefreshToken(operation_id=OTHER, topic_id="topic-1"),)
    assert state.links[OTHER].status is ConnectionStatus.DISCONNECTED
    state = fold(state, TokenRefreshed(operation_id=OTHER, token="run-token-2"))
    assert state.links[OTHER].status is ConnectionStatus.CONNECTING


def test_a_new_run_on_an_unavailable_link_with_the_fallback_goes_to_v1() -> None:
    """Once v2 is unavailable (fallback on), a new run does not dial v2 again."""
    state = _lose_unready_dials(v2_state(OP, config=v2_config(v2_fallback=True)), 3)
    state = fold(state, v2_started(OTHER, "topic-2", token="run-token-2"))
    assert op_of(state, OTHER).link_id == OTHER
    assert state.links[LINK].status is ConnectionStatus.DISCONNECTED


# --------------------------------------------------------------------------- lazy and keep-alive


def test_a_lazy_link_closes_when_its_last_session_ends() -> None:
    """The last run ends: an idle-close timer of 0 ms; when it fires the socket goes."""
    state = fold(ready_state(OP), rx(mux_end(id="1")))
    idle = link_timer(state, TimerKind.IDLE_CLOSE)
    assert idle.delay_ms == 0
    state = fold(state, fired(idle))
    assert state.links[LINK].status is ConnectionStatus.DISCONNECTED


def test_a_lazy_link_is_reused_by_a_run_that_joins_before_it_closes() -> None:
    """A run ends and another starts before the idle timer fires: same socket, the new
    run subscribed at once, the idle timer gone."""
    state = fold(ready_state(OP), rx(mux_end(id="1")))
    step = reduce(state, v2_started(OTHER, "topic-2"))
    assert step.effects == (sent(subscribe(OTHER)),)
    assert step.state.links[LINK].generation == 1
    assert TimerKind.IDLE_CLOSE not in _link_timers(step.state)


def test_a_lazy_idle_link_that_loses_its_socket_does_not_redial() -> None:
    """No session left and the socket drops: closed, no backoff."""
    state = fold(ready_state(OP), rx(mux_end(id="1")), closed_v2())
    assert state.links[LINK].status is ConnectionStatus.DISCONNECTED


def test_a_keep_alive_link_stays_open_and_redials_with_no_session() -> None:
    """`v2_keep_alive`: no idle-close timer, and a loss backs off and redials."""
    state = fold(ready_state(OP, config=v2_config(v2_keep_alive=True)), rx(mux_end(id="1")))
    assert TimerKind.IDLE_CLOSE not in _link_timers(state)
    state = fold(state, closed_v2())
    assert state.links[LINK].status is ConnectionStatus.RECONNECTING


# --------------------------------------------------------------------------- network and backoff


def test_network_restored_redials_a_waiting_link_at_once() -> None:
    """Backing off after a loss, the network comes back: the next socket now, the
    backoff started again."""
    state = fold(ready_state(OP), closed_v2())
    assert state.links[LINK].status is ConnectionStatus.RECONNECTING
    link = reduce(state, NetworkRestored()).state.links[LINK]
    assert (link.status, link.generation, link.attempt) == (ConnectionStatus.CONNECTING, 2, 0)


def test_network_restored_leaves_an_idle_lazy_link_alone() -> None:
    """Nothing to carry and not kept alive: the network coming back dials nothing."""
    state = fold(v2_state(OP, config=v2_config(v2_keep_alive=False)), closed_v2())
    state = fold(state, OperationDetached(operation_id=OP))
    assert reduce(state, NetworkRestored()).state == state


def test_the_backoff_is_full_jitter_and_capped_at_30_seconds() -> None:
    """Every backoff timer is full-jitter, doubling from 1 s, never over 30 s."""
    state = v2_state(OP, config=v2_config(v2_dial_budget=20))
    delays = []
    for _ in range(8):
        state = fold(state, closed_v2(state.links[LINK].generation))
        backoff = link_timer(state, TimerKind.BACKOFF)
        assert backoff.full_jitter
        delays.append(backoff.delay_ms)
        state = _backoff_over(state)
    assert delays == [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]


def test_the_backoff_restarts_once_a_ready_link_proves_healthy() -> None:
    """`ready` resets the failure counts; the backoff restarts with the first agent
    event after it (PROTOCOL.md 11.25), so a hub that says `ready` and drops backs off."""
    state = _lose_unready_dials(v2_state(OP, OTHER), 2)
    state = fold(_backoff_over(state), opened_v2(3), rx(READY, 3))
    link = state.links[LINK]
    assert (link.failed_dials, link.attempt) == (0, 2)
    state = fold(state, rx(mux_chunk("alive", id="1"), 3))
    assert state.links[LINK].attempt == 0


def test_a_stale_generations_close_changes_nothing() -> None:
    """News of the socket before a 4401 redial is stale."""
    state = fold(ready_state(OP), closed_v2(code=_UNAUTHORIZED))
    assert reduce(state, closed_v2(1)).state == state


def test_a_session_detached_while_the_link_was_down_is_not_resubscribed() -> None:
    """A session that left while the link was down gets no `subscribe` on `ready`."""
    state = fold(ready_state(OP, OTHER), closed_v2())
    state = fold(state, OperationDetached(operation_id=OP))
    state = fold(_backoff_over(state), opened_v2(2))
    step = reduce(state, rx(READY, 2))
    assert step.effects == (sent(subscribe(OTHER), 2),)
    assert op_of(step.state, OTHER).status is OperationStatus.RUNNING
