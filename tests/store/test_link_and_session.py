"""The link and the session (issue 12): which id an action is about, how the reducer
routes it, and the link of an operation no longer followed.

Transport news and the link timers (watchdog, heartbeat, backoff) name a link; every
other action names an operation. In v1 an operation's link has the operation's id, so
most tests cannot tell the two apart: here a state is also built by hand with a link id
that differs, so that routing by the wrong id would show.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, get_args

import immutables
import pytest

from gatewayops.protocol import Auth, Heartbeat
from gatewayops.store import (
    LINK_TIMERS,
    TRANSPORT_ACTIONS,
    Action,
    BadMessageReceived,
    ConnectionStatus,
    FinishSource,
    GatewayState,
    HandlingFailed,
    InterruptConfirmed,
    InterruptFailed,
    InterventionAnswered,
    InterventionDeclined,
    InterventionSubmitFailed,
    InterventionSubmitted,
    InvariantChecker,
    Link,
    LinkConnectRequested,
    LinkDisconnectRequested,
    MessageReceived,
    MessagesFetched,
    MessagesFetchFailed,
    NetworkRestored,
    Operation,
    OperationAttached,
    OperationDetached,
    OperationForgotten,
    OperationStarted,
    OperationStatus,
    Outcome,
    ReconnectRequested,
    RefreshStatus,
    Result,
    SendFailed,
    SendMessage,
    SocketClosed,
    SocketFailed,
    SocketOpened,
    SocketWentQuiet,
    StopRequested,
    Timer,
    TimerFired,
    TimerKind,
    TokenRefreshed,
    TokenRefreshFailed,
    TokenReplaced,
    ToolFinished,
    Topic,
    concerned,
    connection_status,
    is_about_a_link,
    is_quiet,
    link,
    link_resources,
    operation_resources,
    reduce,
    subject,
)
from gatewayops.testing import TestStore

from .helpers import (
    AUTH_EXPIRED,
    AUTH_SUCCESS,
    CONNECTION,
    OP,
    OP_URL,
    STATUS,
    TOKEN,
    TOPIC,
    URL,
    closed,
    connected_store,
    finished,
    fold,
    link_of,
    link_path,
    notify,
    opened,
    path,
    received,
    resources_of,
    started,
    tool_result,
)

LINK_KINDS = (
    TimerKind.CONNECT_WATCHDOG,
    TimerKind.HEARTBEAT,
    TimerKind.BACKOFF,
    TimerKind.IDLE_CLOSE,
)
OPERATION_KINDS = (
    TimerKind.RESUME_FLUSH,
    TimerKind.REFRESH_RETRY,
    TimerKind.REFRESH_TIMEOUT,
    TimerKind.TOOL_DEADLINE,
    TimerKind.INTERVENTION_DEADLINE,
)


def _timer(owner: str, kind: TimerKind) -> Timer:
    return Timer(owner=owner, kind=kind, generation=1, delay_ms=1_000)


def _transport(link_id: str) -> list[Action]:
    """One action of every transport class, naming `link_id`."""
    return [
        SocketOpened(link_id=link_id, generation=1),
        SocketClosed(link_id=link_id, generation=1, code=1006),
        SocketFailed(link_id=link_id, generation=1, error="refused"),
        SocketWentQuiet(link_id=link_id, generation=1, quiet_ms=1),
        MessageReceived(link_id=link_id, generation=1, message=AUTH_SUCCESS),
        BadMessageReceived(link_id=link_id, generation=1, error="bad"),
        SendFailed(link_id=link_id, generation=1, message=Heartbeat()),
    ]


def _of_operation(op_id: str) -> list[Action]:
    """One action of every application and effect-result class, naming `op_id`."""
    return [
        OperationStarted(operation_id=op_id, topic_id=TOPIC, gateway_url=URL, token=TOKEN),
        OperationAttached(operation_id=op_id, topic_id=TOPIC, gateway_url=URL, token=TOKEN),
        StopRequested(operation_id=op_id),
        OperationDetached(operation_id=op_id),
        TokenReplaced(operation_id=op_id, token=TOKEN),
        ReconnectRequested(operation_id=op_id),
        OperationForgotten(operation_id=op_id),
        TokenRefreshed(operation_id=op_id, token=TOKEN),
        TokenRefreshFailed(operation_id=op_id, error="503"),
        ToolFinished(operation_id=op_id, result=tool_result()),
        InterruptConfirmed(operation_id=op_id),
        InterruptFailed(operation_id=op_id, error="offline"),
        InterventionAnswered(
            operation_id=op_id, tool_call_id="c", resolution_request_id="r", result="yes"
        ),
        InterventionDeclined(operation_id=op_id, tool_call_id="c", resolution_request_id="r"),
        InterventionSubmitted(operation_id=op_id, tool_call_id="c", resolution_request_id="r"),
        InterventionSubmitFailed(
            operation_id=op_id, tool_call_id="c", resolution_request_id="r", error="offline"
        ),
        MessagesFetched(operation_id=op_id, messages=[], revision=1),
        MessagesFetchFailed(operation_id=op_id, error="503"),
        HandlingFailed(operation_id=op_id, error="boom"),
    ]


def _about_links(link_id: str) -> list[Action]:
    return [*_transport(link_id), *(TimerFired(timer=_timer(link_id, k)) for k in LINK_KINDS)]


def _about_operations(op_id: str) -> list[Action]:
    timers = (TimerFired(timer=_timer(op_id, kind)) for kind in OPERATION_KINDS)
    return [*_of_operation(op_id), *timers]


def test_the_samples_cover_every_action_class() -> None:
    """Every class of `Action` is sampled below (a new one must be classified here)."""
    sampled = {type(action) for action in [*_about_links("l"), *_about_operations("o")]}
    v2_link_requests = {LinkDisconnectRequested, LinkConnectRequested}  # test_v2_hold
    assert sampled | {NetworkRestored} | v2_link_requests == set(get_args(Action))
    assert {type(action) for action in _transport("l")} == TRANSPORT_ACTIONS


def test_link_timers_are_the_watchdog_heartbeat_backoff_and_idle_close() -> None:
    """`Timer.of_link` holds exactly for the kinds in `LINK_TIMERS`."""
    assert frozenset(LINK_KINDS) == LINK_TIMERS
    assert set(LINK_KINDS) | set(OPERATION_KINDS) == set(TimerKind)
    for kind in TimerKind:
        assert _timer("x", kind).of_link is (kind in LINK_KINDS)


# --------------------------------------------------------------------------- subject


@pytest.mark.parametrize("action", _about_links("link-9"), ids=repr)
def test_subject_of_link_news_is_the_link(action: Action) -> None:
    """Transport news and a link timer are about their link."""
    assert subject(action) == "link-9"
    assert is_about_a_link(action)


@pytest.mark.parametrize("action", _about_operations("op-9"), ids=repr)
def test_subject_of_anything_else_is_the_operation(action: Action) -> None:
    """Application actions, effect results and an operation's timers name the operation."""
    assert subject(action) == "op-9"
    assert not is_about_a_link(action)


def test_the_network_coming_back_is_about_no_one_link() -> None:
    """`NetworkRestored` is about every link: its subject is "" and no single link or
    operation is `concerned` (the runtime follows every link for it)."""
    action = NetworkRestored()
    assert subject(action) == ""
    assert not is_about_a_link(action)
    assert concerned(GatewayState(), action) == (None, None)


# --------------------------------------------------------------------------- concerned


def _split_state() -> GatewayState:
    """An operation whose link has an id of its own (`link-9`), dialling generation 1."""
    op = Operation(id=OP, topic_id=TOPIC, link_id="link-9", token=TOKEN)
    carrier = Link(
        id="link-9",
        url=OP_URL,
        operation_id=OP,
        status=ConnectionStatus.CONNECTING,
        generation=1,
    )
    return GatewayState(
        operations=immutables.Map({OP: op}),
        links=immutables.Map({"link-9": carrier}),
        topics=immutables.Map({TOPIC: Topic(id=TOPIC, running_operation=OP)}),
    )


@pytest.mark.parametrize("action", _about_links("link-9"), ids=repr)
def test_concerned_by_link_news_is_the_link_and_the_operation_it_carries(action: Action) -> None:
    """Link news names its link; the operation is the one the link carries."""
    assert concerned(_split_state(), action) == ("link-9", OP)
    assert concerned(GatewayState(), action) == ("link-9", None)


@pytest.mark.parametrize("action", _about_operations(OP), ids=repr)
def test_concerned_by_an_operations_action_is_it_and_its_link(action: Action) -> None:
    """Anything else names its operation; the link is the operation's."""
    assert concerned(_split_state(), action) == ("link-9", OP)
    assert concerned(GatewayState(), action) == (None, OP)


def test_concerned_in_v1_is_the_operations_own_link() -> None:
    """In v1 the link and the operation share the id, whichever the action names."""
    state = connected_store().state
    for action in [*_about_links(OP), *_about_operations(OP)]:
        assert concerned(state, action) == (OP, OP)


def test_an_operation_id_is_not_a_link_id() -> None:
    """Link news naming the operation's id, not its link's, concerns no operation."""
    assert concerned(_split_state(), SocketOpened(link_id=OP, generation=1)) == (OP, None)


# --------------------------------------------------------------------------- routing


def test_transport_news_is_routed_by_link() -> None:
    """The reducer finds the operation through the link the news names: the socket of
    `link-9` opening authenticates on `link-9` with the operation's token; the same news
    naming the operation's id is about no link and changes nothing."""
    state = _split_state()
    step = reduce(state, SocketOpened(link_id="link-9", generation=1))
    assert step.state.links["link-9"].status is ConnectionStatus.AUTHENTICATING
    assert step.effects == (SendMessage(link_id="link-9", generation=1, message=Auth(token=TOKEN)),)
    ignored = reduce(state, SocketOpened(link_id=OP, generation=1))
    assert ignored.state is state
    assert ignored.effects == ()


def test_link_timers_are_routed_by_their_owner() -> None:
    """The link's watchdog (owned by `link-9`) loses its socket; a timer of the same kind
    owned by the operation's id belongs to no link and changes nothing."""
    state = _split_state()
    (watchdog,) = (
        r for r in link_resources(state.links["link-9"], state.config) if isinstance(r, Timer)
    )
    assert (watchdog.kind, watchdog.owner) == (TimerKind.CONNECT_WATCHDOG, "link-9")
    step = reduce(state, TimerFired(timer=watchdog))
    assert step.state.links["link-9"].status is ConnectionStatus.RECONNECTING
    stranger = Timer(
        owner=OP, kind=TimerKind.CONNECT_WATCHDOG, generation=1, delay_ms=watchdog.delay_ms
    )
    assert reduce(state, TimerFired(timer=stranger)).state is state


def test_an_operation_ending_closes_the_link_it_names() -> None:
    """Finishing the operation closes its link (whatever the link's id)."""
    step = reduce(_split_state(), HandlingFailed(operation_id=OP, error="boom"))
    assert step.state.operations[OP].status is OperationStatus.FINISHED
    assert step.state.links["link-9"].status is ConnectionStatus.DISCONNECTED
    assert link_resources(step.state.links["link-9"], step.state.config) == frozenset()


# --------------------------------------------------------------------------- not followed


def _quiet_connected() -> GatewayState:
    return fold(connected_store().state, SocketWentQuiet(link_id=OP, generation=1, quiet_ms=1))


SETUPS: dict[str, tuple[Callable[[], GatewayState], dict[str, Any]]] = {
    "connecting": (lambda: fold(GatewayState(), started()), {}),
    "authenticating": (lambda: fold(GatewayState(), started(), opened()), {}),
    "connected": (lambda: connected_store().state, {}),
    "quiet": (_quiet_connected, {link_path("quiet"): False}),
    "expired": (
        lambda: fold(connected_store().state, received(AUTH_EXPIRED)),
        {path("refresh.status"): RefreshStatus.IDLE},
    ),
    "reconnecting": (lambda: fold(GatewayState(), started(), closed(1)), {}),
}
"""A followed operation whose link is in each status with a socket or a backoff, and
what else stopping to follow it changes (a quiet flag, a refresh in flight)."""


def _checked(store: TestStore, action: Action, expect: dict[str, Any], effects: Any) -> None:
    """Send `action` exactly, then check the step with the store's invariant checker."""
    old = store.state
    step = store.send(action, expect, effects=effects)
    checker = InvariantChecker(old.config)
    assert checker.check((1, None), action, old, step.state, step.effects) == []


@pytest.mark.parametrize("setup", list(SETUPS))
def test_a_finished_operations_link_is_disconnected_with_no_resources(setup: str) -> None:
    """Whatever its link was doing, a finished operation's link is DISCONNECTED in the
    same step, and neither holds a socket or a timer."""
    build, more = SETUPS[setup]
    store = TestStore(build())
    ended = Outcome(result=Result.FAILED, source=FinishSource.INTERNAL_ERROR, detail="boom")
    _checked(
        store,
        HandlingFailed(operation_id=OP, error="boom"),
        finished(ended, **more),
        [notify(ended)],
    )
    assert link_of(store.state).status is ConnectionStatus.DISCONNECTED
    assert resources_of(store.state) == frozenset()
    store.finish()


@pytest.mark.parametrize("setup", list(SETUPS))
def test_a_detached_operations_link_is_disconnected_with_no_resources(setup: str) -> None:
    """Whatever its link was doing, a detached operation's link is DISCONNECTED in the
    same step, with no socket or timer (and nothing is notified)."""
    build, more = SETUPS[setup]
    store = TestStore(build())
    _checked(
        store,
        OperationDetached(operation_id=OP),
        {STATUS: OperationStatus.DETACHED, CONNECTION: ConnectionStatus.DISCONNECTED, **more},
        [],
    )
    assert resources_of(store.state) == frozenset()
    assert not is_quiet(store.state, OP)
    store.finish()


def test_a_detached_operation_keeps_its_link_for_the_next_attach() -> None:
    """The link of a detached operation stays known, with its generation, so following it
    again dials the next generation (stale news of the old socket stays stale)."""
    state = fold(connected_store().state, OperationDetached(operation_id=OP))
    kept = link_of(state)
    assert (kept.status, kept.generation) == (ConnectionStatus.DISCONNECTED, 1)
    state = fold(state, ReconnectRequested(operation_id=OP))
    assert (link_of(state).status, link_of(state).generation) == (ConnectionStatus.CONNECTING, 2)
    assert reduce(state, opened(1)).state is state


# --------------------------------------------------------------------------- selectors


def test_link_and_connection_status_selectors() -> None:
    """`link` gives the operation's link (kept once it finished); `connection_status` its
    status; both None for an unknown operation."""
    state = connected_store().state
    assert link(state, OP) is state.links[OP]
    assert link(state, "nope") is None
    assert connection_status(state, "nope") is None
    done = fold(state, HandlingFailed(operation_id=OP, error="boom"))
    found = link(done, OP)
    assert found is not None
    assert (found.id, found.operation_id, found.status) == (
        OP,
        OP,
        ConnectionStatus.DISCONNECTED,
    )
    assert connection_status(done, OP) is ConnectionStatus.DISCONNECTED
    split = _split_state()
    assert link(split, OP) is split.links["link-9"]


def test_resources_are_owned_by_the_link_or_the_operation() -> None:
    """A link's resources are its socket and link timers, owned by its id; an operation's
    are its own timers, owned by its id."""
    state = fold(connected_store().state, received(AUTH_EXPIRED))
    for resource in link_resources(link_of(state), state.config):
        if isinstance(resource, Timer):
            assert resource.of_link
            assert resource.owner == OP
        else:
            assert resource.link_id == OP
    own = operation_resources(state.operations[OP], state.config)
    assert own
    assert all(isinstance(r, Timer) and not r.of_link and r.owner == OP for r in own)
