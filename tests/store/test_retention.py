"""Finished operations are kept for a bounded retention (`StoreConfig.retain_finished`)
and may be forgotten by the application (`OperationForgotten`); forgotten ones never
come back, and only finished ones ever leave (pure reducer, no Trio)."""

from __future__ import annotations

import pytest

from gatewayops.exceptions import OperationNotFinished, UnknownOperation
from gatewayops.store import (
    Action,
    GatewayState,
    InvariantChecker,
    NotifyFinished,
    OperationDetached,
    OperationForgotten,
    Retention,
    StoreConfig,
    is_input_loading,
    outcome,
    reduce,
)

from .helpers import AUTH_SUCCESS, chunk, fold, opened, received, runtime_end, started


def _finished(state: GatewayState, op: str, topic: str | None = None) -> GatewayState:
    """`state` after `op` ran on its own topic and ended cleanly."""
    return fold(
        state,
        started(op, topic or f"topic-{op}"),
        opened(link=op),
        received(AUTH_SUCCESS, link=op),
        received(runtime_end(operation_id=op), link=op),
    )


def _kept(state: GatewayState) -> list[str]:
    """The retained operations' ids, oldest first (walking the list)."""
    order, current = [], state.retained.oldest
    while current is not None:
        order.append(current)
        current = state.retained.neighbours[current][1]
    return order


def test_the_default_retention_keeps_a_thousand_finished_operations() -> None:
    """`StoreConfig().retain_finished` is 1,000."""
    assert StoreConfig().retain_finished == 1_000


@pytest.mark.parametrize("value", [0, -1, 2.5, True])
def test_a_retention_that_is_not_a_positive_int_is_refused(value: object) -> None:
    """A retention of 0, negative, or not an int is refused naming the setting."""
    with pytest.raises(ValueError, match=r"StoreConfig\.retain_finished: expected a positive int"):
        StoreConfig(retain_finished=value)  # type: ignore[arg-type]


def test_past_the_retention_the_oldest_finished_operation_is_forgotten() -> None:
    """With `retain_finished=2`, a third finish forgets the first to finish: its
    operation, link and marker-less topic go; the two newest are kept in order."""
    state = GatewayState(config=StoreConfig(retain_finished=2))
    for op in ("a", "b", "c"):
        state = _finished(state, op)
    assert sorted(state.operations) == ["b", "c"]
    assert sorted(state.links) == ["b", "c"]
    assert sorted(state.topics) == ["topic-b", "topic-c"]
    assert _kept(state) == ["b", "c"]


def test_live_operations_are_never_forgotten_by_the_retention() -> None:
    """Running operations stay however many others finish past the retention."""
    state = GatewayState(config=StoreConfig(retain_finished=1))
    state = fold(state, started("live", "topic-live"))
    for op in ("a", "b", "c"):
        state = _finished(state, op)
    assert sorted(state.operations) == ["c", "live"]


def test_forgetting_a_finished_operation_removes_it_and_its_link() -> None:
    """`OperationForgotten` for a finished operation drops it, its link and its topic,
    with no effects; its outcome is no longer known."""
    state = _finished(GatewayState(), "a")
    step = reduce(state, OperationForgotten(operation_id="a"))
    assert step.effects == ()
    assert "a" not in step.state.operations
    assert "a" not in step.state.links
    assert "topic-a" not in step.state.topics
    assert outcome(step.state, "a") is None
    assert len(step.state.retained) == 0


def test_forgetting_one_in_the_middle_keeps_the_order_of_the_others() -> None:
    """Forgetting the middle of three kept operations leaves the other two, in order,
    and the next eviction takes the oldest of those."""
    state = GatewayState(config=StoreConfig(retain_finished=3))
    for op in ("a", "b", "c"):
        state = _finished(state, op)
    state = fold(state, OperationForgotten(operation_id="b"))
    assert _kept(state) == ["a", "c"]
    state = _finished(_finished(state, "d"), "e")
    assert _kept(state) == ["c", "d", "e"]


def test_forgetting_a_running_operation_is_refused() -> None:
    """`OperationForgotten` for a running operation raises `OperationNotFinished`,
    naming it, and changes nothing."""
    state = fold(GatewayState(), started("a", "topic-a"))
    with pytest.raises(OperationNotFinished, match="'a' is running, not finished"):
        reduce(state, OperationForgotten(operation_id="a"))


def test_forgetting_a_detached_operation_is_refused() -> None:
    """A detached operation has not finished either: it cannot be forgotten."""
    state = fold(GatewayState(), started("a", "topic-a"), OperationDetached(operation_id="a"))
    with pytest.raises(OperationNotFinished, match="'a' is detached"):
        reduce(state, OperationForgotten(operation_id="a"))


def test_forgetting_an_unknown_or_forgotten_operation_is_refused() -> None:
    """Forgetting an id never known, or already forgotten, raises `UnknownOperation`."""
    state = fold(_finished(GatewayState(), "a"), OperationForgotten(operation_id="a"))
    with pytest.raises(UnknownOperation, match="'a'"):
        reduce(state, OperationForgotten(operation_id="a"))


def test_late_frames_for_a_forgotten_operation_are_dropped_without_reviving_it() -> None:
    """A frame for a forgotten operation's link changes nothing and produces nothing."""
    state = fold(_finished(GatewayState(), "a"), OperationForgotten(operation_id="a"))
    step = reduce(state, received(chunk("late"), link="a"))
    assert step.state is state
    assert step.effects == ()


def test_a_forgotten_operation_id_may_start_again() -> None:
    """Once forgotten, the id is unknown: starting it again follows a new operation."""
    state = fold(_finished(GatewayState(), "a"), OperationForgotten(operation_id="a"))
    state = fold(state, started("a", "topic-a"))
    assert not state.operations["a"].is_finished
    assert is_input_loading(state, "topic-a")


def test_a_topic_marker_of_a_live_operation_survives_forgetting_another() -> None:
    """Forgetting a finished run on a topic that a newer run now holds keeps that topic
    and its marker."""
    state = _finished(GatewayState(), "a", topic="shared")
    state = fold(state, started("b", "shared"), OperationForgotten(operation_id="a"))
    assert state.topics["shared"].running_operation == "b"
    assert is_input_loading(state, "shared")


def test_each_finished_operation_was_notified_once_before_it_was_evicted() -> None:
    """Over a run of many finishes past the retention, every operation gets exactly one
    `NotifyFinished` and the checker finds nothing (``forgets-only-finished`` included)."""
    config = StoreConfig(retain_finished=3)
    state, checker, notified = GatewayState(config=config), InvariantChecker(config), []
    for number in range(20):
        op = f"op-{number}"
        actions: tuple[Action, ...] = (
            started(op, f"topic-{op}"),
            opened(link=op),
            received(AUTH_SUCCESS, link=op),
            received(runtime_end(operation_id=op), link=op),
        )
        for seq, action in enumerate(actions):
            step = reduce(state, action)
            assert checker.check((seq, None), action, state, step.state, step.effects) == []
            notified += [e.operation_id for e in step.effects if isinstance(e, NotifyFinished)]
            state = step.state
    assert notified == [f"op-{number}" for number in range(20)]
    assert len(state.operations) == 3


def test_retention_is_bookkeeping_left_out_of_equality() -> None:
    """Two states that differ only in their retention list compare equal."""
    state = _finished(GatewayState(), "a")
    assert state == GatewayState(
        config=state.config,
        operations=state.operations,
        links=state.links,
        topics=state.topics,
        retained=Retention(),
    )


def test_the_checker_reports_a_live_operation_that_left_the_state() -> None:
    """A step after which a running operation is gone breaks ``forgets-only-finished``."""
    state = fold(GatewayState(), started("a", "topic-a"))
    action = OperationForgotten(operation_id="a")
    gone = GatewayState(config=state.config)
    found = InvariantChecker(state.config).check((1, None), action, state, gone)
    assert [violation.invariant for violation in found] == ["forgets-only-finished"]
    assert "a left the state running" in found[0].message
