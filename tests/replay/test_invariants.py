"""The pure invariant checks flag each broken rule, and only broken ones."""

from __future__ import annotations

import attrs

from gatewayops.protocol import AuthSuccess
from gatewayops.replay import InvariantChecker
from gatewayops.replay._invariants import (
    absorbing,
    cursor_forward,
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

from .helpers import GATEWAY, received


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


def test_cursor_forward_flags_only_numeric_moves_back() -> None:
    """ "7" -> "5" is flagged; forward moves and non-numeric cursors are not."""
    op = _connected()
    at = [attrs.evolve(op, last_event_id=cursor) for cursor in ("7", "5", "12", "abc")]
    assert cursor_forward(at[0], at[1]) == "resume cursor moved back from 7 to 5"
    assert cursor_forward(at[0], at[2]) is None
    assert cursor_forward(at[2], at[3]) is None


def test_refresh_single_flight_flags_a_refresh_while_one_is_in_flight() -> None:
    """A RefreshToken while refresh.status is in_flight is flagged."""
    op = _connected()
    flying = attrs.evolve(op, refresh=RefreshState(status=RefreshStatus.IN_FLIGHT))
    effect = RefreshToken(operation_id="op", topic_id="t")
    assert refresh_single_flight(op, [effect]) is None
    assert refresh_single_flight(flying, [effect]) is not None


def test_checker_reports_at_the_record_given_even_on_the_hot_path() -> None:
    """A cursor moving back in a plain streaming step is reported at that step's record."""
    op = attrs.evolve(_connected(), last_event_id="7")
    back = attrs.evolve(op, last_event_id="5")
    checker = InvariantChecker(StoreConfig())
    action = received("op", 1, AuthSuccess())
    (violation,) = checker.check((42, 43), action, op, back)
    assert (violation.invariant, violation.seq, violation.line) == ("cursor-forward", 42, 43)
    assert (
        str(violation)
        == "record 42 (line 43): op: cursor-forward: resume cursor moved back from 7 to 5"
    )
