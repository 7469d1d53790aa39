"""The pure invariant checks flag each broken rule, and only broken ones."""

from __future__ import annotations

import attrs
import immutables
import pytest

from gatewayops.protocol import AuthExpired, AuthFailed, AuthSuccess, Ready
from gatewayops.replay import InvariantChecker
from gatewayops.store import (
    ConnectionStatus,
    FetchMessages,
    FinishSource,
    GatewayState,
    MessageReceived,
    MessagesFetched,
    NotifyFinished,
    Operation,
    OperationStarted,
    OperationStatus,
    Outcome,
    Protocol,
    RefreshState,
    RefreshStatus,
    RefreshToken,
    Result,
    SocketOpened,
    StoreConfig,
    Timer,
    TimerFired,
    TimerKind,
    _resources,
    concerned,
    reduce,
)
from gatewayops.store._invariant_checks import (
    absorbing,
    authentication_decides,
    backoff_capped,
    closed_unless_followed,
    cursor_follows_server,
    no_resources_when_finished,
    notify_once,
    refresh_single_flight,
    silence_never_completes,
)
from gatewayops.store._invariant_checks_v2 import sessions_live

from .helpers import GATEWAY, event, received


def _connected_state() -> GatewayState:
    state = GatewayState()
    for action in (
        OperationStarted(operation_id="op", topic_id="t", gateway_url=GATEWAY, token="x"),
        SocketOpened(link_id="op", generation=1),
        received("op", 1, AuthSuccess()),
    ):
        state = reduce(state, action).state
    return state


def _connected() -> Operation:
    return _connected_state().operations["op"]


def _finished(op: Operation, source: FinishSource = FinishSource.AGENT_EVENT) -> Operation:
    return attrs.evolve(
        op,
        status=op.status.FINISHED,
        outcome=Outcome(result=Result.AUTH_FAILED, source=source),
    )


_TICK = TimerFired(timer=Timer(owner="op", kind=TimerKind.HEARTBEAT, delay_ms=1))
_NOTIFY = NotifyFinished(
    operation_id="op",
    topic_id="t",
    outcome=Outcome(result=Result.ENDED, source=FinishSource.SESSION_COMPLETE),
)
_FETCHED = MessagesFetched(operation_id="op", messages=[])


def test_notify_once_wants_one_notification_exactly_when_finishing() -> None:
    """One NotifyFinished in the finishing step passes; none, two, or an early one fail."""
    op = _connected()
    done = _finished(op)
    assert notify_once(op, done, 1) is None
    assert notify_once(op, op, 0) is None
    assert notify_once(op, done, 0) is not None
    assert notify_once(op, done, 2) is not None
    assert notify_once(op, op, 1) is not None
    assert notify_once(done, done, 1) is not None


def test_absorbing_flags_a_finished_operation_that_changes_or_acts() -> None:
    """A finished operation that changes (or whose link changes), or gets effects,
    breaks the absorbing rule."""
    done = _finished(_connected())
    assert absorbing(_TICK, done, done, False, ()) is None
    assert absorbing(_TICK, done, attrs.evolve(done, last_event_id="9"), False, ()) is not None
    assert absorbing(_TICK, done, done, True, ()) is not None
    assert absorbing(_TICK, done, done, False, (_NOTIFY,)) is not None


def test_absorbing_lets_a_fetch_answer_change_only_the_transcript() -> None:
    """The answer to a transcript's fetch may change a finished operation's transcript
    and ask again; it may not change anything else, nor produce other effects."""
    done = _finished(_connected())
    shown = attrs.evolve(done, transcript=attrs.evolve(done.transcript, revision=4))
    again = FetchMessages(operation_id="op", topic_id="t")
    assert absorbing(_FETCHED, done, shown, False, (again,)) is None
    assert absorbing(_TICK, done, shown, False, ()) is not None
    assert absorbing(_FETCHED, done, attrs.evolve(shown, last_event_id="9"), False, ()) is not None
    assert absorbing(_FETCHED, done, shown, False, (_NOTIFY,)) is not None


def test_only_a_refresh_timeout_may_finish_an_operation_from_a_timer() -> None:
    """A heartbeat timer ending a run is flagged; a refresh timeout past budget is not."""
    op = _connected()
    heartbeat = Timer(owner="op", kind=TimerKind.HEARTBEAT, delay_ms=1)
    refresh = Timer(owner="op", kind=TimerKind.REFRESH_TIMEOUT, delay_ms=1)
    failed = _finished(op, FinishSource.REFRESH_FAILED)
    assert silence_never_completes(TimerFired(timer=heartbeat), op, failed)
    assert silence_never_completes(TimerFired(timer=refresh), op, failed) is None
    assert silence_never_completes(TimerFired(timer=heartbeat), op, op) is None


def test_cursor_follows_server_checks_the_envelope_id_of_accepted_events() -> None:
    """After an accepted event the cursor is its id, even one going back; an event
    without an id leaves it; a dropped event (state unchanged) is not checked."""
    op = attrs.evolve(_connected(), last_event_id="7")
    at = {cursor: attrs.evolve(op, last_event_id=cursor) for cursor in ("5", "8")}
    back, other = received("op", 1, event("op", "stream_chunk", {}, "5")), at["8"]
    assert cursor_follows_server(back, op, at["5"]) is None
    assert cursor_follows_server(back, op, other) == (
        "resume cursor is '8', not the event's id '5'"
    )
    idless = received("op", 1, event("op", "stream_chunk", {}, None))
    assert cursor_follows_server(idless, op, other) == (
        "resume cursor moved from '7' on an event without an id"
    )
    assert cursor_follows_server(back, op, op) is None


def test_refresh_single_flight_flags_a_refresh_while_one_is_in_flight() -> None:
    """A RefreshToken while refresh.status is in_flight is flagged."""
    op = _connected()
    flying = attrs.evolve(op, refresh=RefreshState(status=RefreshStatus.IN_FLIGHT))
    effect = RefreshToken(operation_id="op", topic_id="t")
    assert refresh_single_flight(op, [effect]) is None
    assert refresh_single_flight(flying, [effect]) is not None


def _cursor_left_behind() -> tuple[GatewayState, MessageReceived, GatewayState]:
    """A streamed event's step (no link changed) whose cursor does not follow it."""
    state = _connected_state()
    op = attrs.evolve(state.operations["op"], last_event_id="7")
    wrong = attrs.evolve(op, last_event_id="5")
    old = attrs.evolve(state, operations=state.operations.set("op", op))
    new = attrs.evolve(state, operations=state.operations.set("op", wrong))
    return old, received("op", 1, event("op", "stream_chunk", {}, "9")), new


def test_checker_reports_at_the_record_given_even_on_the_hot_path() -> None:
    """A cursor that does not follow a plain streamed event is reported at its record."""
    old, action, new = _cursor_left_behind()
    checker = InvariantChecker(StoreConfig())
    (violation,) = checker.check((42, 43), action, old, new)
    assert (violation.invariant, violation.seq, violation.line) == (
        "cursor-follows-server",
        42,
        43,
    )
    assert str(violation) == (
        "record 42 (line 43): op: cursor-follows-server: "
        "resume cursor is '5', not the event's id '9'"
    )


def test_checker_given_the_steps_subjects_finds_what_it_finds_deriving_them() -> None:
    """Handing the checker the step's link and operation (`concerned`, as the replayer
    does) changes nothing it reports."""
    old, action, new = _cursor_left_behind()
    checker = InvariantChecker(StoreConfig())
    found = checker.check((42, 43), action, old, new)
    assert found
    assert checker.check((42, 43), action, old, new, subjects=concerned(new, action)) == found


def test_checker_hot_path_sees_a_streamed_event_when_the_links_map_was_rebuilt() -> None:
    """A step whose links map is a new one holding the same link is still checked."""
    old, action, new = _cursor_left_behind()
    new = attrs.evolve(new, links=immutables.Map(dict(new.links.items())))
    assert new.links is not old.links
    (violation,) = InvariantChecker(StoreConfig()).check((42, 43), action, old, new)
    assert violation.invariant == "cursor-follows-server"


def test_authentication_decides_flags_an_expiry_ending_or_a_failure_not_ending() -> None:
    """`auth_expired` may end a run only through the spent refresh budget; `auth_failed`
    on the live socket must end it (a stale socket's need not)."""
    state = _connected_state()
    op, link = state.operations["op"], state.links["op"]
    expired, failed = received("op", 1, AuthExpired()), received("op", 1, AuthFailed(reason="x"))
    spent = _finished(op, FinishSource.REFRESH_BUDGET)
    assert authentication_decides(expired, op, op, link) is None
    assert authentication_decides(expired, op, spent, link) is None
    assert authentication_decides(expired, op, _finished(op), link) == (
        "auth_expired alone ended the operation (agent_event)"
    )
    assert authentication_decides(failed, op, _finished(op, FinishSource.AUTH_FAILED), link) is None
    assert authentication_decides(failed, op, op, link) == (
        "auth_failed on the live socket did not end the operation"
    )
    stale = received("op", 0, AuthFailed(reason="x"))
    assert authentication_decides(stale, op, op, link) is None


def test_backoff_capped_flags_a_reconnect_delay_over_the_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A reconnecting link whose backoff delay exceeds `max_backoff_ms` is flagged."""
    link = _connected_state().links["op"]
    config = StoreConfig(initial_backoff_ms=1_000, max_backoff_ms=30_000)
    waiting = attrs.evolve(link, status=ConnectionStatus.RECONNECTING, attempt=40)
    assert backoff_capped(link, config) is None
    assert backoff_capped(waiting, config) is None  # the store caps the delay itself
    # a backoff computation that forgot the cap
    monkeypatch.setattr(_resources, "backoff_delay_ms", lambda config, attempt: 30_001)
    assert backoff_capped(waiting, config) == "backoff of 30001 ms is over the cap"
    assert backoff_capped(link, config) is None  # a connected link waits for nothing


def test_closed_unless_followed_flags_a_socket_of_an_operation_not_followed() -> None:
    """A detached or finished operation whose link still wants a socket is flagged."""
    state = _connected_state()
    op, link = state.operations["op"], state.links["op"]
    closed = attrs.evolve(link, status=ConnectionStatus.DISCONNECTED)
    detached = attrs.evolve(op, status=OperationStatus.DETACHED)
    config = state.config
    assert closed_unless_followed(op, link, config) is None
    assert closed_unless_followed(detached, closed, config) is None
    assert closed_unless_followed(_finished(op), closed, config) is None
    assert closed_unless_followed(detached, link, config) is not None
    assert closed_unless_followed(_finished(op), link, config) is not None


def test_a_v2_link_shared_with_running_operations_is_not_held_by_a_finished_one() -> None:
    """On a v2 link (one socket for the user), a finished operation is not flagged for
    the socket the others still use; it is flagged (``sessions-live``) only while the link
    still carries its subscription."""
    state = GatewayState(config=StoreConfig(protocol=Protocol.V2))
    for op_id in ("op-a", "op-b"):
        start = OperationStarted(operation_id=op_id, topic_id=op_id, gateway_url=GATEWAY, token="")
        state = reduce(state, start).state
    link_id = state.operations["op-a"].link_id
    ready = Ready(user_id="u", connection_id="c")
    for action in (
        SocketOpened(link_id=link_id, generation=1),
        MessageReceived(link_id=link_id, generation=1, message=ready),
    ):
        state = reduce(state, action).state
    link, config = state.links[link_id], state.config
    done = _finished(state.operations["op-a"])
    operations = {**state.operations, "op-a": done}
    left = attrs.evolve(link, sessions=link.sessions.delete("op-a"))
    assert closed_unless_followed(done, left, config) is None
    assert no_resources_when_finished(done, left, config) is None
    assert sessions_live(left, operations) is None
    assert sessions_live(link, operations) == "carries op-a, which is finished"
