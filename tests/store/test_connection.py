"""A link's lifecycle: dial, open, authenticate, heartbeats, watchdog, backoff, staleness.

PROTOCOL.md 2.3 (transition table), 12.1 (connect watchdog), 12.4 and 11.25 (backoff
reset only once a connection proved healthy), and DESIGN.md's generations (stale
transport news and timers are dropped). In v1 the operation's link has its id, so the
link fields asserted here are ``links['op-1'].*``.
"""

from __future__ import annotations

from typing import Any

import pytest

from gatewayops.protocol import Heartbeat
from gatewayops.store import (
    ConnectionStatus,
    GatewayState,
    Link,
    Operation,
    OperationDetached,
    StoreConfig,
    Timer,
    TimerKind,
    Topic,
    backoff_delay_ms,
    link_resources,
    operation_resources,
)
from gatewayops.testing import TestStore

from .helpers import (
    ANY,
    AUTH_EXPIRED,
    AUTH_SUCCESS,
    CURSOR,
    EVER_OPENED,
    HEARTBEAT_ACK,
    OP,
    OP_URL,
    TOKEN,
    TOPIC,
    auth_failed,
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
    resources_of,
    resume_frame,
    send,
    socket_of,
    started,
    timer,
    timers,
)
from .helpers import TRANSCRIPT as TRANSCRIPT

STATUS = link_path("status")
GENERATION = link_path("generation")
ATTEMPT = link_path("attempt")
MISSED = link_path("missed_heartbeats")
TICKS = link_path("heartbeat_ticks")
PROBLEM = path("last_problem")


def _reconnecting(attempts: int, config: StoreConfig | None = None) -> GatewayState:
    """A started operation whose first `attempts` sockets all failed before opening."""
    state = fold(GatewayState(config=config or StoreConfig()), started())
    for generation in range(1, attempts + 1):
        state = fold(state, closed(generation))
        if generation < attempts:
            state = fold(state, fired(timer(state, TimerKind.BACKOFF)))
    return state


# --------------------------------------------------------------------------- the handshake


def test_start_dials_a_socket_of_generation_one() -> None:
    """Starting a run records it and its own link (v1: the operation's id), claims the
    topic and dials generation 1; no frame yet. The socket and the watchdog are the
    link's; the operation itself holds no timer."""
    store = TestStore()
    store.send(
        started(),
        {
            f"operations[{OP!r}]": Operation(id=OP, topic_id=TOPIC, link_id=OP, token=TOKEN),
            f"links[{OP!r}]": Link(
                id=OP,
                url=OP_URL,
                operation_id=OP,
                status=ConnectionStatus.CONNECTING,
                generation=1,
            ),
            f"topics[{TOPIC!r}]": Topic(id=TOPIC, running_operation=OP),
        },
        effects=[],
    )
    assert link_resources(link_of(store.state), store.state.config) == {
        socket_of(1),
        Timer(owner=OP, kind=TimerKind.CONNECT_WATCHDOG, generation=1, delay_ms=15_000),
    }
    assert operation_resources(op_of(store.state), store.state.config) == frozenset()
    store.finish()


def test_socket_open_sends_the_auth_frame_first() -> None:
    """When the socket opens the client authenticates with its token and nothing else."""
    store = TestStore(fold(GatewayState(), started()))
    store.send(
        opened(),
        {STATUS: ConnectionStatus.AUTHENTICATING, EVER_OPENED: True},
        effects=[auth_frame()],
    )
    store.finish()


def test_auth_success_sends_resume_with_cursor_and_want_status() -> None:
    """`auth_success` connects and sends `resume{lastEventId: cursor, wantStatus: true}`."""
    store = TestStore(fold(GatewayState(), started(), opened()))
    store.send(
        received(AUTH_SUCCESS), {STATUS: ConnectionStatus.CONNECTED}, effects=[resume_frame("")]
    )
    store.finish()


def test_resume_after_reconnect_carries_the_cursor() -> None:
    """A reconnect resumes from the envelope id of the last event seen, not from the start."""
    store = connected_store()
    state = fold(store.state, received(chunk("hi", id="7")), closed(1))
    state = fold(state, fired(timer(state, TimerKind.BACKOFF)), opened(2))
    store = TestStore(state)
    store.send(
        received(AUTH_SUCCESS, generation=2),
        {STATUS: ConnectionStatus.CONNECTED},
        effects=[resume_frame("7", generation=2)],
    )
    store.finish()


def test_connected_operation_holds_socket_and_heartbeat_timer() -> None:
    """Once connected the resources are the link's socket and a 30 s heartbeat timer
    only (the operation holds none of its own)."""
    state = connected_store().state
    assert resources_of(state) == {
        socket_of(1),
        Timer(owner=OP, kind=TimerKind.HEARTBEAT, generation=1, delay_ms=30_000),
    }
    assert operation_resources(op_of(state), state.config) == frozenset()


# --------------------------------------------------------------------------- watchdog


def test_connect_watchdog_in_connecting_reconnects() -> None:
    """A handshake that never completes is abandoned by the 15 s watchdog (12.1)."""
    state = fold(GatewayState(), started())
    store = TestStore(state)
    store.send(
        fired(timer(state, TimerKind.CONNECT_WATCHDOG)),
        {
            STATUS: ConnectionStatus.RECONNECTING,
            ATTEMPT: 1,
            PROBLEM: "no auth_success within 15000 ms",
        },
        effects=[],
    )
    assert timers(store.state) == {TimerKind.BACKOFF}
    store.finish()


def test_connect_watchdog_in_authenticating_reconnects() -> None:
    """A server that never answers `auth` cannot park the client in authenticating (12.1)."""
    state = fold(GatewayState(), started(), opened())
    store = TestStore(state)
    store.send(
        fired(timer(state, TimerKind.CONNECT_WATCHDOG)),
        {
            STATUS: ConnectionStatus.RECONNECTING,
            ATTEMPT: 1,
            PROBLEM: "no auth_success within 15000 ms",
        },
        effects=[],
    )
    store.finish()


def test_connect_watchdog_is_gone_once_connected() -> None:
    """After `auth_success` the watchdog is no longer armed; a late firing changes nothing."""
    watchdog = timer(fold(GatewayState(), started()), TimerKind.CONNECT_WATCHDOG)
    store = connected_store()
    assert TimerKind.CONNECT_WATCHDOG not in timers(store.state)
    store.send(fired(watchdog), {}, effects=[])
    store.finish()


# --------------------------------------------------------------------------- heartbeats


def test_heartbeat_tick_sends_a_heartbeat_and_rearms() -> None:
    """Each 30 s tick while connected sends `heartbeat` and arms the next tick."""
    store = connected_store()
    tick = timer(store.state, TimerKind.HEARTBEAT)
    assert tick.delay_ms == 30_000
    store.send(fired(tick), {MISSED: 1, TICKS: 1}, effects=[send(Heartbeat())])
    assert timer(store.state, TimerKind.HEARTBEAT).seq == 1
    store.finish()


def test_heartbeat_ack_resets_missed_count() -> None:
    """`heartbeat_ack` resets the missed-heartbeat counter to zero."""
    store = connected_store()
    state = fold(store.state, fired(timer(store.state, TimerKind.HEARTBEAT)))
    state = fold(state, fired(timer(state, TimerKind.HEARTBEAT)))
    store = TestStore(state)
    store.send(received(HEARTBEAT_ACK), {MISSED: 0}, effects=[])
    store.finish()


def test_fourth_unanswered_tick_reconnects() -> None:
    """Ticks 1-3 send heartbeats; the 4th with no ack gives up and reconnects."""
    store = connected_store()
    for tick in range(1, 4):
        store.send(
            fired(timer(store.state, TimerKind.HEARTBEAT)),
            {MISSED: tick, TICKS: tick},
            effects=[send(Heartbeat())],
        )
    store.send(
        fired(timer(store.state, TimerKind.HEARTBEAT)),
        {
            STATUS: ConnectionStatus.RECONNECTING,
            MISSED: 0,
            ATTEMPT: 1,
            PROBLEM: "3 heartbeats unanswered",
        },
        effects=[],
    )
    assert timers(store.state) == {TimerKind.BACKOFF}
    store.finish()


def test_acked_heartbeats_never_reconnect() -> None:
    """With every heartbeat acknowledged the connection survives any number of ticks."""
    state = connected_store().state
    for _ in range(10):
        state = fold(state, fired(timer(state, TimerKind.HEARTBEAT)), received(HEARTBEAT_ACK))
    assert link_of(state).status is ConnectionStatus.CONNECTED
    assert link_of(state).generation == 1


# --------------------------------------------------------------------------- backoff


def test_backoff_doubles_and_caps_at_thirty_seconds() -> None:
    """Consecutive failed attempts wait 1, 2, 4, 8, 16, 30, 30 s (12.4)."""
    delays = []
    state = fold(GatewayState(), started())
    for generation in range(1, 8):
        state = fold(state, closed(generation))
        backoff = timer(state, TimerKind.BACKOFF)
        delays.append(backoff.delay_ms)
        state = fold(state, fired(backoff))
    assert delays == [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]


@pytest.mark.parametrize(
    ("attempt", "delay"), [(1, 1_000), (2, 2_000), (5, 16_000), (6, 30_000), (100, 30_000)]
)
def test_backoff_formula(attempt: int, delay: int) -> None:
    """`backoff_delay_ms` doubles from 1 s per attempt and never exceeds 30 s."""
    assert backoff_delay_ms(StoreConfig(), attempt) == delay


def test_backoff_is_not_reset_by_a_socket_that_opens_then_drops() -> None:
    """A server that accepts then closes is not redialled every second (12.4)."""
    state = fold(GatewayState(), started(), opened(1), closed(1))
    assert timer(state, TimerKind.BACKOFF).delay_ms == 1_000
    state = fold(state, fired(timer(state, TimerKind.BACKOFF)), opened(2), closed(2))
    assert timer(state, TimerKind.BACKOFF).delay_ms == 2_000
    state = fold(state, fired(timer(state, TimerKind.BACKOFF)), opened(3), closed(3))
    assert timer(state, TimerKind.BACKOFF).delay_ms == 4_000


def _authenticated_after(attempts: int) -> TestStore:
    """A store whose operation lost `attempts` sockets, then authenticated a new one."""
    state = _reconnecting(attempts)
    assert link_of(state).attempt == attempts
    state = fold(state, fired(timer(state, TimerKind.BACKOFF)), opened(attempts + 1))
    return TestStore(fold(state, received(AUTH_SUCCESS, generation=attempts + 1)))


def test_auth_success_alone_does_not_reset_the_backoff() -> None:
    """A server that authenticates and drops is not redialled every second (11.25)."""
    store = _authenticated_after(3)
    assert link_of(store.state).attempt == 3
    state = fold(store.state, closed(4))
    assert timer(state, TimerKind.BACKOFF).delay_ms == backoff_delay_ms(StoreConfig(), 4)


@pytest.mark.parametrize(
    "proof", [chunk("alive", id="9"), HEARTBEAT_ACK], ids=["agent_event", "heartbeat_ack"]
)
def test_a_healthy_connection_resets_the_backoff(proof: Any) -> None:
    """An agent event or a heartbeat ack after `auth_success` restarts the backoff (11.25)."""
    store = _authenticated_after(3)
    store.send(received(proof, generation=4), {ATTEMPT: 0, **_detail_of(proof)}, effects=[])
    state = fold(store.state, closed(4))
    assert timer(state, TimerKind.BACKOFF).delay_ms == 1_000


def _detail_of(proof: Any) -> dict[str, Any]:
    """What else the proof changes besides the backoff (an event moves cursor and text)."""
    if proof is HEARTBEAT_ACK:
        return {}
    return {CURSOR: "9", TRANSCRIPT: ANY}


def test_backoff_timer_dials_the_next_generation() -> None:
    """When the backoff elapses a new socket of the next generation is dialled."""
    state = fold(GatewayState(), started(), closed(1))
    store = TestStore(state)
    store.send(
        fired(timer(state, TimerKind.BACKOFF)),
        {STATUS: ConnectionStatus.CONNECTING, GENERATION: 2},
        effects=[],
    )
    assert socket_of(2) in link_resources(link_of(store.state), store.state.config)
    store.finish()


def _expired_state() -> GatewayState:
    return fold(connected_store().state, received(AUTH_EXPIRED))


@pytest.mark.parametrize(
    ("setup", "news"),
    [
        ("connecting", received(AUTH_SUCCESS)),
        ("connecting", received(AUTH_EXPIRED)),
        ("authenticating", opened()),
        ("connected", opened()),
        ("expired", opened()),
        ("expired", received(AUTH_SUCCESS)),
    ],
    ids=[
        "auth_success_before_open",
        "auth_expired_before_open",
        "opened_twice",
        "opened_when_connected",
        "opened_when_expired",
        "auth_success_when_expired",
    ],
)
def test_news_the_link_does_not_expect_is_ignored(setup: str, news: Any) -> None:
    """The IGNORED entries of the connection table: news of the live socket that does not
    apply in the link's status changes nothing and sends nothing (while EXPIRED, a
    fresh token is on its way and redials; only then is the new socket accepted)."""
    states = {
        "connecting": lambda: fold(GatewayState(), started()),
        "authenticating": lambda: fold(GatewayState(), started(), opened()),
        "connected": lambda: connected_store().state,
        "expired": _expired_state,
    }
    store = TestStore(states[setup]())
    store.send(news, {}, effects=[])
    store.finish()


# --------------------------------------------------------------------------- staleness


def test_late_close_of_an_old_socket_is_ignored() -> None:
    """An old socket's late close after a reconnect does not tear down the new one."""
    state = fold(GatewayState(), started(), closed(1))
    state = fold(
        state, fired(timer(state, TimerKind.BACKOFF)), opened(2), received(AUTH_SUCCESS, 2)
    )
    store = TestStore(state)
    store.send(closed(1), {}, effects=[])
    store.send(received(AUTH_SUCCESS, generation=1), {}, effects=[])
    store.send(opened(1), {}, effects=[])
    assert link_of(store.state).status is ConnectionStatus.CONNECTED
    store.finish()


def test_stale_timers_are_ignored() -> None:
    """A timer no longer in the resources (old generation or old seq) changes nothing."""
    state = fold(GatewayState(), started())
    old_watchdog = timer(state, TimerKind.CONNECT_WATCHDOG)
    state = fold(state, closed(1))
    old_backoff = timer(state, TimerKind.BACKOFF)
    state = fold(state, fired(old_backoff), opened(2), received(AUTH_SUCCESS, 2))
    first_tick = timer(state, TimerKind.HEARTBEAT)
    state = fold(state, fired(first_tick))
    store = TestStore(state)
    store.send(fired(old_watchdog), {}, effects=[])
    store.send(fired(old_backoff), {}, effects=[])
    store.send(fired(first_tick), {}, effects=[])
    store.finish()


def test_no_reconnect_after_finish() -> None:
    """A finished operation holds no timer, its link no socket or timer (DISCONNECTED),
    and late socket news changes nothing."""
    state = fold(connected_store().state, received(auth_failed()))
    assert link_of(state).status is ConnectionStatus.DISCONNECTED
    assert resources_of(state) == frozenset()
    store = TestStore(state)
    store.send(closed(1), {}, effects=[])
    store.send(opened(1), {}, effects=[])
    assert resources_of(store.state) == frozenset()
    store.finish()


def test_no_reconnect_after_detach() -> None:
    """A detached operation's link is closed, and a late socket close schedules no
    reconnect."""
    state = fold(connected_store().state, OperationDetached(operation_id=OP))
    assert link_of(state).status is ConnectionStatus.DISCONNECTED
    assert resources_of(state) == frozenset()
    store = TestStore(state)
    store.send(closed(1), {}, effects=[])
    assert resources_of(store.state) == frozenset()
    store.finish()


def test_news_for_an_unknown_link_is_ignored() -> None:
    """Transport news naming a link the store never knew changes nothing."""
    store = TestStore(fold(GatewayState(), started()))
    store.send(opened(link="link-ghost"), {}, effects=[])
    store.send(received(AUTH_SUCCESS, link="link-ghost"), {}, effects=[])
    store.send(closed(link="link-ghost"), {}, effects=[])
    store.finish()
    assert TestStore().send(opened(link="op-ghost")).effects == ()
