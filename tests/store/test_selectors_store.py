"""Selectors a GUI asks, and the synchronous `Store` with its listeners and middleware.

PROTOCOL.md 2.1 (emitter rules: a raising listener does not stop the others) and
invariant 22; DESIGN.md 2 (selectors are plain functions of state).
"""

from __future__ import annotations

import logging

import pytest

from gatewayops.exceptions import UnknownOperation
from gatewayops.protocol import SessionStatus
from gatewayops.store import (
    Action,
    ConnectionStatus,
    FinishSource,
    GatewayState,
    NotifyFinished,
    OperationDetached,
    Outcome,
    Result,
    Step,
    StopRequested,
    Store,
    connection_status,
    is_input_loading,
    is_stopping,
    live_operations,
    outcome,
    reduce,
    running_operation,
)

from .helpers import (
    AUTH_SUCCESS,
    OP,
    TOPIC,
    auth_frame,
    connected_store,
    fold,
    opened,
    received,
    resume_complete,
    resume_frame,
    started,
)

# --------------------------------------------------------------------------- selectors


def test_input_loading_follows_the_running_operation() -> None:
    """`is_input_loading` is true exactly while the topic's run is running and unfinished."""
    state = GatewayState()
    assert not is_input_loading(state, TOPIC)
    state = fold(state, started())
    assert is_input_loading(state, TOPIC)
    state = fold(state, opened(), received(AUTH_SUCCESS))
    assert is_input_loading(state, TOPIC)
    state = fold(state, received(resume_complete(SessionStatus.COMPLETED)))
    assert not is_input_loading(state, TOPIC)


def test_running_operation_names_the_marker_holder() -> None:
    """`running_operation` returns the running operation the topic's marker names."""
    state = connected_store().state
    found = running_operation(state, TOPIC)
    assert found is not None
    assert found.id == OP
    assert running_operation(state, "other-topic") is None
    assert running_operation(fold(state, OperationDetached(operation_id=OP)), TOPIC) is None


def test_outcome_and_connection_status_selectors() -> None:
    """`outcome` is None until the end; `connection_status` tracks the socket."""
    state = connected_store().state
    assert outcome(state, OP) is None
    assert connection_status(state, OP) is ConnectionStatus.CONNECTED
    assert connection_status(state, "nope") is None
    state = fold(state, received(resume_complete(SessionStatus.ERROR)))
    assert outcome(state, OP) == Outcome(
        result=Result.FAILED, source=FinishSource.RESUME_STATUS, detail="error"
    )
    assert connection_status(state, OP) is ConnectionStatus.DISCONNECTED
    assert outcome(state, "nope") is None


def test_is_stopping_and_live_operations() -> None:
    """`is_stopping` reflects an unconfirmed stop; `live_operations` lists unfinished runs."""
    state = fold(connected_store().state, started(op="op-2", topic="topic-2"))
    assert not is_stopping(state, OP)
    assert is_stopping(fold(state, StopRequested(operation_id=OP)), OP)
    assert not is_stopping(state, "nope")
    state = fold(state, received(resume_complete(SessionStatus.COMPLETED)))
    assert [op.id for op in live_operations(state)] == ["op-2"]


def test_outcome_succeeded_only_for_completed() -> None:
    """`Outcome.succeeded` is true only for a clean completion."""
    assert Outcome(result=Result.COMPLETED, source=FinishSource.AGENT_EVENT).succeeded
    assert not Outcome(result=Result.ENDED, source=FinishSource.SESSION_COMPLETE).succeeded


# --------------------------------------------------------------------------- Store


def test_store_dispatch_returns_effects_and_updates_state() -> None:
    """`dispatch` folds the action into the state and returns the step's effects."""
    store = Store()
    assert store.dispatch(started()) == ()
    assert store.dispatch(opened()) == (auth_frame(),)
    assert store.dispatch(received(AUTH_SUCCESS)) == (resume_frame(),)
    assert store.state == fold(GatewayState(), started(), opened(), received(AUTH_SUCCESS))


def test_listeners_see_old_new_and_action() -> None:
    """Every listener is called after each dispatch with (old state, new state, action)."""
    store = Store()
    seen: list[tuple[GatewayState, GatewayState, Action]] = []
    store.subscribe(lambda old, new, action: seen.append((old, new, action)))
    before = store.state
    store.dispatch(started())
    assert seen == [(before, store.state, started())]


def test_raising_listener_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    """A listener that raises is logged; the listeners after it still run (invariant 22)."""
    store = Store()
    calls: list[str] = []

    def broken(old: GatewayState, new: GatewayState, action: Action) -> None:
        calls.append("broken")
        raise RuntimeError("listener bug")

    store.subscribe(broken)
    store.subscribe(lambda old, new, action: calls.append("second"))
    with caplog.at_level(logging.ERROR, logger="gatewayops.store"):
        store.dispatch(started())
    assert calls == ["broken", "second"]
    assert "listener" in caplog.text
    assert store.state.operation(OP) is not None


def test_unsubscribe_stops_notifications() -> None:
    """The function `subscribe` returns removes the listener (calling it twice is harmless)."""
    store = Store()
    calls: list[Action] = []
    unsubscribe = store.subscribe(lambda old, new, action: calls.append(action))
    store.dispatch(started())
    unsubscribe()
    unsubscribe()
    store.dispatch(opened())
    assert calls == [started()]


def test_middleware_sees_every_step() -> None:
    """Middleware gets (state before, action, step) for every dispatch, effects included."""
    seen: list[tuple[GatewayState, Action, Step]] = []
    store = Store(middleware=[lambda old, action, step: seen.append((old, action, step))])
    first = store.state
    store.dispatch(started())
    second = store.state
    store.dispatch(opened())
    assert seen == [
        (first, started(), reduce(first, started())),
        (second, opened(), reduce(second, opened())),
    ]
    assert seen[1][2].effects == (auth_frame(),)


def test_raising_middleware_loses_no_effect(caplog: pytest.LogCaptureFixture) -> None:
    """A middleware that raises (a broken recorder) is logged; the step's effects are still
    returned and the listeners still run."""

    def broken(old: GatewayState, action: Action, step: Step) -> None:
        raise OSError("disk full")

    store = Store(middleware=[broken])
    heard: list[Action] = []
    store.subscribe(lambda old, new, action: heard.append(action))
    store.dispatch(started())
    with caplog.at_level(logging.ERROR, logger="gatewayops.store"):
        effects = store.dispatch(opened())
    assert effects == (auth_frame(),)
    assert heard == [started(), opened()]
    assert "middleware" in caplog.text


def test_store_misuse_leaves_state_and_listeners_untouched() -> None:
    """A refused application action raises; the state is unchanged and nobody is told."""
    store = Store()
    calls: list[Action] = []
    store.subscribe(lambda old, new, action: calls.append(action))
    before = store.state
    with pytest.raises(UnknownOperation):
        store.dispatch(StopRequested(operation_id="nope"))
    assert store.state is before
    assert calls == []


def test_store_starts_from_a_given_state() -> None:
    """A Store can be created over an existing state (e.g. a replay's)."""
    state = connected_store().state
    store = Store(state)
    effects = store.dispatch(received(resume_complete(SessionStatus.COMPLETED)))
    assert effects == (
        NotifyFinished(
            operation_id=OP,
            topic_id=TOPIC,
            outcome=Outcome(
                result=Result.COMPLETED, source=FinishSource.RESUME_STATUS, detail="completed"
            ),
        ),
    )
