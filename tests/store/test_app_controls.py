"""The application's controls over a followed run: no auto-reconnect, a token replaced in
place, an explicit reconnect (PROTOCOL.md 2.2 and 2.5), and the quiet signal."""

from __future__ import annotations

import pytest

from gatewayops.exceptions import (
    OperationAlreadyExists,
    OperationFinished,
    TopicBusy,
    UnknownOperation,
)
from gatewayops.protocol import SessionStatus
from gatewayops.store import (
    ConnectionStatus,
    GatewayState,
    NotifyFinished,
    OperationDetached,
    OperationStatus,
    ReconnectRequested,
    SocketWentQuiet,
    StoreConfig,
    TimerKind,
    TokenReplaced,
    is_input_loading,
    is_quiet,
    reduce,
)
from gatewayops.testing import TestStore

from .helpers import (
    ANY,
    AUTH_SUCCESS,
    CONNECTION,
    CURSOR,
    FRESH_TOKEN,
    HEARTBEAT_ACK,
    OP,
    STATUS,
    TOPIC,
    TRANSCRIPT,
    attached,
    auth_frame,
    chunk,
    closed,
    connected_store,
    fired,
    fold,
    link_of,
    link_path,
    op_of,
    opened,
    path,
    received,
    resume_complete,
    resume_frame,
    started,
    timer,
    timers,
)

NO_RECONNECT = StoreConfig(auto_reconnect=False)
QUIET = link_path("quiet")


# --------------------------------------------------------------------------- auto_reconnect


def test_without_auto_reconnect_a_lost_socket_stops_following_without_an_ending() -> None:
    """With `auto_reconnect=False` a closed socket detaches the run: no redial, no notify."""
    store = connected_store(config=NO_RECONNECT)
    store.send(
        closed(1),
        {
            STATUS: OperationStatus.DETACHED,
            CONNECTION: ConnectionStatus.DISCONNECTED,
            path("last_problem"): "socket closed (code 1006, '')",
        },
        effects=[],
    )
    assert not timers(store.state)
    assert not is_input_loading(store.state, TOPIC)
    store.finish()


def test_without_auto_reconnect_a_silent_handshake_is_one_attempt_only() -> None:
    """The connect watchdog firing also stops the following: one attempt, no backoff."""
    state = fold(GatewayState(config=NO_RECONNECT), started(), opened())
    state = fold(state, fired(timer(state, TimerKind.CONNECT_WATCHDOG)))
    op = op_of(state)
    assert (op.status, link_of(state).status) == (
        OperationStatus.DETACHED,
        ConnectionStatus.DISCONNECTED,
    )
    assert op.outcome is None
    assert not timers(state)


# --------------------------------------------------------------------------- token and reconnect


def test_a_replaced_token_is_only_used_by_the_next_auth_frame() -> None:
    """`TokenReplaced` changes the token and sends nothing (upstream `updateToken`)."""
    store = connected_store()
    store.send(TokenReplaced(operation_id=OP, token=FRESH_TOKEN), {path("token"): FRESH_TOKEN})
    store.skip_effects()
    assert reduce(store.state, TokenReplaced(operation_id=OP, token="x")).effects == ()
    store.finish()


def test_reconnect_replaces_the_socket_keeps_the_cursor_and_uses_the_new_token() -> None:
    """`ReconnectRequested` dials the next generation now; its `auth` carries the new
    token and its `resume` the same cursor, so no event is shown twice (12)."""
    state = fold(connected_store().state, received(chunk("a", id="5")))
    state = fold(state, TokenReplaced(operation_id=OP, token=FRESH_TOKEN))
    store = TestStore(state)
    store.send(
        ReconnectRequested(operation_id=OP),
        {
            CONNECTION: ConnectionStatus.CONNECTING,
            link_path("generation"): 2,
            link_path("heartbeat_ticks"): 0,
        },
        effects=[],
    )
    assert reduce(store.state, opened(2)).effects == (auth_frame(FRESH_TOKEN, generation=2),)
    state = fold(store.state, opened(2))
    assert reduce(state, received(AUTH_SUCCESS, 2)).effects == (resume_frame("5", generation=2),)


def test_reconnect_restarts_the_backoff() -> None:
    """A reconnect from a long run of failures waits 1 s again if that socket is lost."""
    state = fold(GatewayState(), started(), closed(1))
    state = fold(state, fired(timer(state, TimerKind.BACKOFF)), closed(2))
    assert link_of(state).attempt == 2
    state = fold(state, ReconnectRequested(operation_id=OP), closed(3))
    assert timer(state, TimerKind.BACKOFF).delay_ms == 1_000


def test_reconnect_follows_a_detached_run_again_and_claims_its_topic() -> None:
    """A detached run (e.g. after a loss without auto-reconnect) is followed again."""
    state = fold(connected_store(config=NO_RECONNECT).state, closed(1))
    state = fold(state, ReconnectRequested(operation_id=OP))
    op = op_of(state)
    assert (op.status, link_of(state).status) == (
        OperationStatus.RUNNING,
        ConnectionStatus.CONNECTING,
    )
    assert is_input_loading(state, TOPIC)


def test_reconnect_is_refused_for_a_finished_or_unknown_run_or_a_busy_topic() -> None:
    """Misuse raises before anything changes."""
    done = fold(connected_store().state, received(resume_complete(SessionStatus.COMPLETED)))
    with pytest.raises(OperationFinished):
        reduce(done, ReconnectRequested(operation_id=OP))
    with pytest.raises(UnknownOperation):
        reduce(GatewayState(), ReconnectRequested(operation_id=OP))
    detached = fold(connected_store().state, OperationDetached(operation_id=OP))
    busy = fold(detached, started(op="op-newer"))
    with pytest.raises(TopicBusy):
        reduce(busy, ReconnectRequested(operation_id=OP))


# --------------------------------------------------------------------------- quiet


def test_a_quiet_connected_socket_is_reported_and_the_next_frame_clears_it() -> None:
    """`SocketWentQuiet` marks a connected run quiet (never finished); a heartbeat ack
    does not count as news, the next event does."""
    store = connected_store()
    store.send(SocketWentQuiet(link_id=OP, generation=1, quiet_ms=180_000), {QUIET: True})
    store.skip_effects()
    assert is_quiet(store.state, OP)
    store.send(received(HEARTBEAT_ACK), {}, effects=[])
    store.send(
        received(chunk("news", id="1")), {QUIET: False, CURSOR: "1", TRANSCRIPT: ANY}, effects=[]
    )
    assert not is_quiet(store.state, OP)
    store.finish()


def test_quiet_before_authentication_is_ignored() -> None:
    """Only an authenticated socket can be quiet; before, the connect watchdog decides."""
    store = TestStore(fold(GatewayState(), started(), opened()))
    step = store.send(SocketWentQuiet(link_id=OP, generation=1, quiet_ms=1), {}, effects=[])
    assert not any(isinstance(effect, NotifyFinished) for effect in step.effects)
    store.finish()


def test_reconnecting_a_finished_operation_says_how_it_ended_in_words() -> None:
    """The OperationFinished message names the outcome in words, not as an attrs repr."""
    done = fold(connected_store().state, received(resume_complete(SessionStatus.COMPLETED)))
    with pytest.raises(OperationFinished) as raised:
        reduce(done, ReconnectRequested(operation_id=OP))
    assert (
        str(raised.value)
        == f"operation '{OP}' already finished: completed (resume_status: completed)"
    )


def test_attaching_a_followed_operation_on_another_topic_is_refused() -> None:
    """An operation runs on one topic: attaching it on a second one raises
    OperationAlreadyExists naming both topics."""
    state = connected_store().state
    with pytest.raises(OperationAlreadyExists, match=f"followed on topic '{TOPIC}', not 'other'"):
        reduce(state, attached(topic="other"))
