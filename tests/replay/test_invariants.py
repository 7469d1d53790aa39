"""The pure invariant checks flag each broken rule, and only broken ones."""

from __future__ import annotations

import attrs

from gatewayops.protocol import AuthSuccess
from gatewayops.replay import InvariantChecker
from gatewayops.replay._invariants import (
    absorbing,
    cursor_follows_server,
    notify_once,
    refresh_single_flight,
    silence_never_completes,
)
from gatewayops.store import (
    FinishSource,
    GatewayState,
    Operation,
    OperationStarted,
    Outcome,
    RefreshState,
    RefreshStatus,
    RefreshToken,
    Result,
    SocketOpened,
    StoreConfig,
    Timer,
    TimerFired,
    TimerKind,
    reduce,
)

from .helpers import GATEWAY, event, received


def _connected() -> Operation:
    state = GatewayState()
    for action in (
        OperationStarted(operation_id="op", topic_id="t", gateway_url=GATEWAY, token="x"),
        SocketOpened(operation_id="op", generation=1),
        received("op", 1, AuthSuccess()),
    ):
        state = reduce(state, action).state
    return state.operations["op"]


def _finished(op: Operation, source: FinishSource = FinishSource.AGENT_EVENT) -> Operation:
    return attrs.evolve(
        op,
        status=op.status.FINISHED,
        outcome=Outcome(result=Result.AUTH_FAILED, source=source),
        connection=attrs.evolve(op.connection, status=op.connection.status.DISCONNECTED),
    )


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
    """A finished operation that changes, or gets effects, breaks the absorbing rule."""
    done = _finished(_connected())
    assert absorbing(done, done, 0) is None
    assert absorbing(done, attrs.evolve(done, last_event_id="9"), 0) is not None
    assert absorbing(done, done, 1) is not None


def test_only_a_refresh_timeout_may_finish_an_operation_from_a_timer() -> None:
    """A heartbeat timer ending a run is flagged; a refresh timeout past budget is not."""
    op = _connected()
    heartbeat = Timer(operation_id="op", kind=TimerKind.HEARTBEAT, delay_ms=1)
    refresh = Timer(operation_id="op", kind=TimerKind.REFRESH_TIMEOUT, delay_ms=1)
    failed = _finished(op, FinishSource.REFRESH_FAILED)
    assert silence_never_completes(TimerFired(operation_id="op", timer=heartbeat), op, failed)
    assert silence_never_completes(TimerFired(operation_id="op", timer=refresh), op, failed) is None
    assert silence_never_completes(TimerFired(operation_id="op", timer=heartbeat), op, op) is None


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


def test_checker_reports_at_the_record_given_even_on_the_hot_path() -> None:
    """A cursor that does not follow a plain streamed event is reported at its record."""
    op = attrs.evolve(_connected(), last_event_id="7")
    wrong = attrs.evolve(op, last_event_id="5")
    checker = InvariantChecker(StoreConfig())
    action = received("op", 1, event("op", "stream_chunk", {}, "9"))
    (violation,) = checker.check((42, 43), action, op, wrong)
    assert (violation.invariant, violation.seq, violation.line) == (
        "cursor-follows-server",
        42,
        43,
    )
    assert str(violation) == (
        "record 42 (line 43): op: cursor-follows-server: "
        "resume cursor is '5', not the event's id '9'"
    )
