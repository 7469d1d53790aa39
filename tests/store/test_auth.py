"""Authentication: `auth_failed` is terminal, `auth_expired` refreshes (single-flight, budgeted).

PROTOCOL.md 4.1, 5, 11 (invariants 1-4, 17) and 12.2-12.3.
"""

from __future__ import annotations

from gatewayops.protocol import Auth
from gatewayops.store import (
    ConnectionStatus,
    FinishSource,
    GatewayState,
    InterruptConfirmed,
    OperationDetached,
    OperationStatus,
    Outcome,
    RefreshState,
    RefreshStatus,
    RefreshToken,
    Result,
    StopRequested,
    StoreConfig,
    TimerKind,
    TokenRefreshed,
    TokenRefreshFailed,
    is_input_loading,
    outcome,
    reduce,
)
from gatewayops.testing import TestStore

from .helpers import (
    AUTH_EXPIRED,
    AUTH_SUCCESS,
    CONNECTION,
    FRESH_TOKEN,
    OP,
    OUTCOME,
    STATUS,
    TOPIC,
    auth_failed,
    chunk,
    closed,
    connected_store,
    fired,
    fold,
    link_path,
    marker,
    notify,
    op_of,
    opened,
    path,
    received,
    resources_of,
    resume_frame,
    send,
    started,
    timer,
    timers,
)

REFRESH = path("refresh")
TOKEN_PATH = path("token")
GENERATION = link_path("generation")
PROBLEM = path("last_problem")
REFRESH_TOKEN = RefreshToken(operation_id=OP, topic_id=TOPIC)


def _expired_store(config: StoreConfig | None = None) -> TestStore:
    """A connected operation that just got `auth_expired` and asked for one refresh."""
    store = connected_store(config=config)
    store.send(
        received(AUTH_EXPIRED),
        {
            CONNECTION: ConnectionStatus.EXPIRED,
            REFRESH: RefreshState(status=RefreshStatus.IN_FLIGHT, attempts=1),
        },
        effects=[REFRESH_TOKEN],
    )
    return store


def _failed_refresh(attempts: int) -> GatewayState:
    """An expired operation whose `attempts` refreshes all failed (the last still pending)."""
    state = _expired_store().state
    for _ in range(attempts - 1):
        state = fold(state, TokenRefreshFailed(operation_id=OP, error="503"))
        state = fold(state, fired(timer(state, TimerKind.REFRESH_RETRY)))
    return state


# --------------------------------------------------------------------------- auth_failed


def test_auth_failed_is_terminal_and_clean() -> None:
    """`auth_failed` ends the run once: no socket, marker cleared, input no longer loading."""
    store = connected_store()
    ended = Outcome(
        result=Result.AUTH_FAILED, source=FinishSource.AUTH_FAILED, detail="operation gone"
    )
    store.send(
        received(auth_failed("operation gone")),
        {
            STATUS: OperationStatus.FINISHED,
            OUTCOME: ended,
            CONNECTION: ConnectionStatus.DISCONNECTED,
            marker(): None,
        },
        effects=[notify(ended)],
    )
    assert resources_of(store.state) == frozenset()
    assert not is_input_loading(store.state, TOPIC)
    store.finish()


def test_auth_failed_during_authenticating_is_terminal() -> None:
    """`auth_failed` as the answer to the `auth` frame ends the run as well (4)."""
    store = TestStore(fold(GatewayState(), started(), opened()))
    ended = Outcome(result=Result.AUTH_FAILED, source=FinishSource.AUTH_FAILED, detail="bad")
    store.send(
        received(auth_failed("bad")),
        {
            STATUS: OperationStatus.FINISHED,
            OUTCOME: ended,
            CONNECTION: ConnectionStatus.DISCONNECTED,
            marker(): None,
        },
        effects=[notify(ended)],
    )
    store.finish()


def test_second_terminal_signal_after_auth_failed_does_nothing() -> None:
    """Exactly one NotifyFinished: everything after the terminal state is ignored."""
    state = fold(connected_store().state, received(auth_failed()))
    store = TestStore(state)
    store.send(received(auth_failed()), {}, effects=[])
    store.send(received(AUTH_SUCCESS), {}, effects=[])
    store.send(closed(1), {}, effects=[])
    store.finish()


def test_marker_is_cleared_only_if_it_names_the_finishing_operation() -> None:
    """A newer run's topic marker survives the late end of an older operation (17)."""
    state = fold(
        connected_store().state,
        StopRequested(operation_id=OP),
        OperationDetached(operation_id=OP),
        started(op="op-2"),
    )
    assert state.topics[TOPIC].running_operation == "op-2"
    store = TestStore(state)
    ended = Outcome(result=Result.INTERRUPTED, source=FinishSource.INTERRUPT_CONFIRMED)
    store.send(
        InterruptConfirmed(operation_id=OP),
        {STATUS: OperationStatus.FINISHED, OUTCOME: ended, path("stop_requested"): False},
        effects=[notify(ended)],
    )
    assert store.state.topics[TOPIC].running_operation == "op-2"
    assert is_input_loading(store.state, TOPIC)
    store.finish()


# --------------------------------------------------------------------------- auth_expired


def test_auth_expired_asks_for_one_refresh() -> None:
    """`auth_expired` keeps the socket and asks for exactly one token refresh."""
    store = _expired_store()
    assert timers(store.state) == {TimerKind.HEARTBEAT, TimerKind.REFRESH_TIMEOUT}
    store.finish()


def test_second_auth_expired_during_refresh_does_nothing() -> None:
    """A refresh is single-flight: `auth_expired` while one is in flight is ignored (12.2)."""
    store = _expired_store()
    store.send(received(AUTH_EXPIRED), {}, effects=[])
    store.finish()


def test_auth_expired_alone_never_finishes() -> None:
    """`auth_expired` by itself never ends the operation (invariant 4)."""
    store = _expired_store()
    op = op_of(store.state)
    assert op.status is OperationStatus.RUNNING
    assert op.outcome is None
    assert is_input_loading(store.state, TOPIC)
    store.finish()


def test_token_refreshed_redials_a_new_generation() -> None:
    """A fresh token replaces the old one and dials a new socket at once."""
    store = _expired_store()
    store.send(
        TokenRefreshed(operation_id=OP, token=FRESH_TOKEN),
        {
            TOKEN_PATH: FRESH_TOKEN,
            REFRESH: RefreshState(status=RefreshStatus.IDLE, attempts=1),
            CONNECTION: ConnectionStatus.CONNECTING,
            GENERATION: 2,
        },
        effects=[],
    )
    store.finish()


def test_new_socket_authenticates_with_the_new_token_and_same_cursor() -> None:
    """After a refresh the new socket's `auth` carries the new token; `resume` the old cursor."""
    store = connected_store()
    state = fold(store.state, received(chunk("a", id="5")), received(AUTH_EXPIRED))
    state = fold(state, TokenRefreshed(operation_id=OP, token=FRESH_TOKEN))
    store = TestStore(state)
    store.send(
        opened(2),
        {CONNECTION: ConnectionStatus.AUTHENTICATING},
        effects=[send(Auth(token=FRESH_TOKEN), generation=2)],
    )
    store.send(
        received(AUTH_SUCCESS, generation=2),
        {CONNECTION: ConnectionStatus.CONNECTED, REFRESH: RefreshState()},
        effects=[resume_frame("5", generation=2)],
    )
    store.finish()


def test_old_socket_news_after_refresh_redial_is_ignored() -> None:
    """The expired socket's late close does not disturb the redialled one."""
    state = fold(_expired_store().state, TokenRefreshed(operation_id=OP, token=FRESH_TOKEN))
    store = TestStore(state)
    store.send(closed(1), {}, effects=[])
    store.finish()


def test_refresh_failure_within_budget_retries_after_a_delay() -> None:
    """A failed refresh arms a retry timer; when it fires another refresh is requested."""
    store = _expired_store()
    store.send(
        TokenRefreshFailed(operation_id=OP, error="503"),
        {REFRESH: RefreshState(status=RefreshStatus.RETRY_WAIT, attempts=1), PROBLEM: "503"},
        effects=[],
    )
    retry = timer(store.state, TimerKind.REFRESH_RETRY)
    assert retry.delay_ms == 1_000
    assert retry.jittered
    store.send(
        fired(retry),
        {REFRESH: RefreshState(status=RefreshStatus.IN_FLIGHT, attempts=2)},
        effects=[REFRESH_TOKEN],
    )
    store.finish()


def test_refresh_failures_past_budget_end_as_auth_failed() -> None:
    """The third failed refresh ends AUTH_FAILED/REFRESH_FAILED with no socket, same step."""
    state = _failed_refresh(3)
    assert op_of(state).refresh == RefreshState(status=RefreshStatus.IN_FLIGHT, attempts=3)
    store = TestStore(state)
    ended = Outcome(result=Result.AUTH_FAILED, source=FinishSource.REFRESH_FAILED, detail="503")
    store.send(
        TokenRefreshFailed(operation_id=OP, error="503"),
        {
            STATUS: OperationStatus.FINISHED,
            OUTCOME: ended,
            CONNECTION: ConnectionStatus.DISCONNECTED,
            REFRESH: RefreshState(status=RefreshStatus.IDLE, attempts=3),
            marker(): None,
        },
        effects=[notify(ended)],
    )
    assert resources_of(store.state) == frozenset()
    store.finish()


def test_refresh_not_found_ends_as_gone() -> None:
    """A refresh reporting the operation is gone ends it GONE, socket closed (12.3)."""
    store = _expired_store()
    ended = Outcome(result=Result.GONE, source=FinishSource.REFRESH_NOT_FOUND, detail="404")
    store.send(
        TokenRefreshFailed(operation_id=OP, error="404", not_found=True),
        {
            STATUS: OperationStatus.FINISHED,
            OUTCOME: ended,
            CONNECTION: ConnectionStatus.DISCONNECTED,
            REFRESH: RefreshState(attempts=1),
            marker(): None,
        },
        effects=[notify(ended)],
    )
    assert resources_of(store.state) == frozenset()
    assert not is_input_loading(store.state, TOPIC)
    store.finish()


def test_refresh_budget_ends_a_token_that_stays_expired() -> None:
    """Refreshes that never reach `auth_success` end the run after the budget (12.2)."""
    state = connected_store().state
    for generation in range(1, 4):
        state = fold(state, received(AUTH_EXPIRED, generation))
        assert op_of(state).refresh.attempts == generation
        state = fold(
            state,
            TokenRefreshed(operation_id=OP, token=f"fresh-{generation}"),
            opened(generation + 1),
        )
    store = TestStore(state)
    ended = Outcome(
        result=Result.AUTH_FAILED,
        source=FinishSource.REFRESH_BUDGET,
        detail="token still expired after 3 refreshes",
    )
    store.send(
        received(AUTH_EXPIRED, generation=4),
        {
            STATUS: OperationStatus.FINISHED,
            OUTCOME: ended,
            CONNECTION: ConnectionStatus.DISCONNECTED,
            marker(): None,
        },
        effects=[notify(ended)],
    )
    assert resources_of(store.state) == frozenset()
    store.finish()


def test_auth_success_restores_the_refresh_budget() -> None:
    """A refresh that reaches `auth_success` resets the budget: later expiries refresh again."""
    state = connected_store().state
    for generation in range(1, 6):
        state = fold(
            state,
            received(AUTH_EXPIRED, generation),
            TokenRefreshed(operation_id=OP, token="fresh"),
            opened(generation + 1),
            received(AUTH_SUCCESS, generation + 1),
        )
    op = op_of(state)
    assert op.status is OperationStatus.RUNNING
    assert op.refresh == RefreshState()
    assert outcome(state, OP) is None


def test_refresh_result_without_a_refresh_is_ignored() -> None:
    """A `TokenRefreshed` nobody asked for changes nothing (no second socket)."""
    store = connected_store()
    store.send(TokenRefreshed(operation_id=OP, token=FRESH_TOKEN), {}, effects=[])
    store.send(TokenRefreshFailed(operation_id=OP, error="late"), {}, effects=[])
    store.finish()


def test_token_never_appears_in_reprs() -> None:
    """Tokens are redacted in the repr of state, actions and effects."""
    store = _expired_store()
    state = fold(store.state, TokenRefreshed(operation_id=OP, token=FRESH_TOKEN), opened(2))
    texts = [
        repr(state),
        repr(started()),
        repr(TokenRefreshed(operation_id=OP, token=FRESH_TOKEN)),
        repr(send(Auth(token=FRESH_TOKEN), generation=2)),
        repr(op_of(state)),
    ]
    for text in texts:
        assert "jwt-secret" not in text
        assert "<redacted>" in text


def test_a_refresh_that_never_answers_times_out_and_is_retried() -> None:
    """A refresh in flight past its timeout counts as failed and is retried after a delay,
    so a hung refresh endpoint cannot leave the run stuck."""
    store = _expired_store()
    store.send(
        fired(timer(store.state, TimerKind.REFRESH_TIMEOUT)),
        {
            REFRESH: RefreshState(status=RefreshStatus.RETRY_WAIT, attempts=1),
            path("last_problem"): "token refresh did not answer within 30000 ms",
        },
        effects=[],
    )
    store.finish()


def test_a_refresh_that_never_answers_ends_the_run_once_the_budget_is_spent() -> None:
    """With the budget spent, a timed-out refresh ends the run as an auth failure."""
    store = _expired_store(StoreConfig(refresh_budget=1))
    step = reduce(store.state, fired(timer(store.state, TimerKind.REFRESH_TIMEOUT)))
    op = op_of(step.state)
    assert op.outcome is not None
    assert (op.outcome.result, op.outcome.source) == (
        Result.AUTH_FAILED,
        FinishSource.REFRESH_FAILED,
    )
    assert resources_of(step.state) == frozenset()
