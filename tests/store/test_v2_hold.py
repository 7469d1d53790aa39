"""The application's disconnect and connect of the user's v2 link (PROTOCOL.md 7.6), pure.

`LinkDisconnectRequested` holds the link: the socket goes, nothing dials (no backoff, no
watchdog, no idle close, the network coming back changes nothing), the sessions stay
running with their cursors and queued tool results, and a run started meanwhile waits.
`LinkConnectRequested` releases it: a new socket generation dials, and `ready`
subscribes every session from its own cursor. On protocol v1 both are refused.
"""

from __future__ import annotations

import pytest

from gatewayops.exceptions import InvalidGatewayUrl, ProtocolV2Required
from gatewayops.protocol._v2_messages import MuxToolResult
from gatewayops.store import (
    ConnectionStatus,
    GatewayState,
    LinkConnectRequested,
    LinkDisconnectRequested,
    NetworkRestored,
    OperationDetached,
    OperationStatus,
    ReconnectRequested,
    StoreConfig,
    TimerKind,
    ToolFinished,
    concerned,
    link_resources,
    reduce,
    subject,
)

from .helpers import OP, URL, fired, fold, op_of, timer, timers, tool_result
from .v2_helpers import (
    LINK,
    OTHER,
    READY,
    closed_v2,
    mux_chunk,
    mux_tool_execute,
    opened_v2,
    ready_state,
    rx,
    sent,
    subscribe,
    v2_config,
    v2_started,
)

DISCONNECT = LinkDisconnectRequested(gateway_url=URL)
CONNECT = LinkConnectRequested(gateway_url=URL)


def _held(state: GatewayState) -> GatewayState:
    """`state` after the application disconnected the link."""
    return fold(state, DISCONNECT)


def test_disconnect_closes_the_socket_and_keeps_every_session_running() -> None:
    """Held: no socket and no link timer (watchdog, heartbeat, backoff, idle close);
    both sessions are still carried, running, with their cursors; nothing is sent."""
    state = fold(ready_state(OP, OTHER), rx(mux_chunk("a", id="4")))
    step = reduce(state, DISCONNECT)
    link = step.state.links[LINK]
    assert step.effects == ()
    assert (link.status, link.held, set(link.sessions)) == (
        ConnectionStatus.DISCONNECTED,
        True,
        {OP, OTHER},
    )
    assert link_resources(link, step.state.config) == frozenset()
    assert op_of(step.state).status is OperationStatus.RUNNING
    assert op_of(step.state).last_event_id == "4"


def test_a_held_link_ignores_the_old_sockets_late_news() -> None:
    """The closed socket's close and frames arrive after the disconnect: dropped, no
    backoff starts and the link stays held."""
    state = _held(ready_state(OP))
    after = fold(state, rx(mux_chunk("late", id="5")), closed_v2())
    assert after == state


def test_the_network_coming_back_does_not_dial_a_held_link() -> None:
    """`NetworkRestored` leaves a held link alone (it redials only backoffs)."""
    state = _held(fold(ready_state(OP), closed_v2()))
    assert reduce(state, NetworkRestored()).state == state


def test_disconnect_during_a_backoff_cancels_the_backoff() -> None:
    """Held while waiting out a backoff: the backoff timer is gone, nothing dials."""
    state = fold(ready_state(OP), closed_v2())
    assert state.links[LINK].status is ConnectionStatus.RECONNECTING
    link = _held(state).links[LINK]
    assert (link.status, link_resources(link, state.config)) == (
        ConnectionStatus.DISCONNECTED,
        frozenset(),
    )


def test_connect_dials_a_new_generation_and_ready_resubscribes_from_each_cursor() -> None:
    """Released: the next socket generation dials, and its `ready` subscribes every
    session from its own cursor."""
    state = fold(ready_state(OP, OTHER), rx(mux_chunk("a", id="3")))
    state = fold(state, rx(mux_chunk("b", op=OTHER, id="7")))
    state = fold(_held(state), CONNECT)
    link = state.links[LINK]
    assert (link.status, link.generation, link.held) == (ConnectionStatus.CONNECTING, 2, False)
    step = reduce(fold(state, opened_v2(2)), rx(READY, 2))
    assert set(step.effects) == {
        sent(subscribe(OP, cursor="3"), 2),
        sent(subscribe(OTHER, cursor="7"), 2),
    }


def test_a_tool_result_finished_while_held_stays_queued_until_ready() -> None:
    """The tool's result comes while held: queued (nothing is written), its deadline
    timer the only timer armed; after connect it goes out after the `subscribe`."""
    state = fold(ready_state(OP), rx(mux_tool_execute(id="1")))
    step = reduce(_held(state), ToolFinished(operation_id=OP, result=tool_result()))
    assert step.effects == ()
    assert timers(step.state) == {TimerKind.TOOL_DEADLINE}
    state = fold(step.state, CONNECT, opened_v2(2))
    ready = reduce(state, rx(READY, 2))
    result = MuxToolResult(operation_id=OP, result=tool_result())
    assert ready.effects == (sent(subscribe(OP, cursor="1"), 2), sent(result, 2))


def test_a_queued_result_whose_deadline_passes_while_held_is_not_sent() -> None:
    """The tool's deadline passes while held: the next `ready` subscribes only."""
    state = fold(ready_state(OP), rx(mux_tool_execute(id="1", timeout_ms=None)))
    state = fold(_held(state), ToolFinished(operation_id=OP, result=tool_result()))
    deadline = timer(state, TimerKind.TOOL_DEADLINE)
    state = fold(state, fired(deadline), CONNECT, opened_v2(2))
    assert reduce(state, rx(READY, 2)).effects == (sent(subscribe(OP, cursor="1"), 2),)


def test_a_run_started_while_held_waits_and_subscribes_after_connect() -> None:
    """A new run joins a held link: carried, but nothing dials until connect."""
    state = fold(_held(ready_state(OP)), v2_started(OTHER, "topic-2"))
    link = state.links[LINK]
    assert (link.status, OTHER in link.sessions) == (ConnectionStatus.DISCONNECTED, True)
    state = fold(state, CONNECT, opened_v2(2))
    assert sent(subscribe(OTHER), 2) in reduce(state, rx(READY, 2)).effects


def test_disconnect_before_any_run_holds_the_link_runs_join() -> None:
    """Disconnected before the first run: the link exists held, and a run waits."""
    state = fold(GatewayState(config=v2_config()), DISCONNECT, v2_started())
    link = state.links[LINK]
    assert (link.held, link.status, set(link.sessions)) == (
        True,
        ConnectionStatus.DISCONNECTED,
        {OP},
    )


def test_reconnect_of_one_run_does_not_dial_a_held_link() -> None:
    """`ReconnectRequested` for a run on a held link: the link stays held."""
    state = _held(ready_state(OP))
    after = reduce(state, ReconnectRequested(operation_id=OP)).state
    assert after.links[LINK] == state.links[LINK]


def test_connect_of_a_held_link_with_no_session_waits_for_a_run() -> None:
    """A lazy link that carries nothing is released without dialling; a keep-alive
    one dials."""
    state = fold(ready_state(OP), OperationDetached(operation_id=OP), DISCONNECT, CONNECT)
    link = state.links[LINK]
    assert (link.held, link.status) == (False, ConnectionStatus.DISCONNECTED)
    kept = ready_state(OP, config=v2_config(v2_keep_alive=True))
    kept = fold(kept, OperationDetached(operation_id=OP), DISCONNECT, CONNECT)
    assert kept.links[LINK].status is ConnectionStatus.CONNECTING


def test_disconnect_and_connect_twice_change_nothing_more() -> None:
    """A second disconnect and a connect of a link not held are no-ops."""
    held = _held(ready_state(OP))
    assert reduce(held, DISCONNECT).state == held
    released = fold(held, CONNECT)
    assert reduce(released, CONNECT).state == released


def test_connect_starts_the_failure_counts_and_backoff_again() -> None:
    """A link that had lost sockets is released with attempt and failed dials at 0."""
    state = fold(ready_state(OP), closed_v2(), DISCONNECT, CONNECT)
    link = state.links[LINK]
    assert (link.attempt, link.failed_dials, link.auth_failures) == (0, 0, 0)


def test_v1_refuses_disconnect_and_connect() -> None:
    """On protocol v1 there is no shared link: both raise `ProtocolV2Required`."""
    state = GatewayState(config=StoreConfig())
    for action in (DISCONNECT, CONNECT):
        with pytest.raises(ProtocolV2Required):
            reduce(state, action)


def test_disconnect_refuses_a_url_that_is_not_a_gateways() -> None:
    """A bad base URL is refused before anything changes."""
    with pytest.raises(InvalidGatewayUrl):
        reduce(GatewayState(config=v2_config()), LinkDisconnectRequested(gateway_url="ftp://x"))


def test_the_requests_are_about_their_gateways_link() -> None:
    """Their subject is the v2 link's id; `concerned` names the link, no operation."""
    state = ready_state(OP)
    assert subject(DISCONNECT) == subject(CONNECT) == LINK
    assert concerned(state, DISCONNECT) == (LINK, None)
