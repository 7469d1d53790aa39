"""The invariant checker over the user's v2 link: silent on real steps, loud on doctored ones.

A shared link outlives the sessions it carries, so v1's link checks apply only to a
link that is the operation's own; the v2 checks (`_invariant_checks_v2`) each catch one
step doctored to break them, and every session a link-wide step ends is checked.
"""

from __future__ import annotations

from typing import Any

import attrs

from gatewayops.protocol._v2_messages import MuxToolResult, Unsubscribe
from gatewayops.store import (
    ConnectionStatus,
    Effect,
    GatewayState,
    InvariantChecker,
    LinkConnectRequested,
    LinkDisconnectRequested,
    NetworkRestored,
    NotifyFinished,
    OperationDetached,
    ReconnectRequested,
    StopRequested,
    TimerKind,
    ToolFinished,
    reduce,
)

from .helpers import OP, URL, fired, fold, op_of, tool_result
from .v2_helpers import (
    LINK,
    OTHER,
    READY,
    closed_v2,
    link_timer,
    mux_chunk,
    mux_end,
    mux_tool_execute,
    opened_v2,
    ready_state,
    rx,
    sent,
    session_complete,
    v2_config,
    v2_started,
    v2_state,
)

_UNAUTHORIZED = 4401


def _violations(
    state: GatewayState,
    action: Any,
    *,
    doctor_state: Any = None,
    doctor_effects: Any = None,
) -> list[str]:
    """The invariants broken by the step of `action` from `state`, after `doctor_*`
    changed what the reducer returned."""
    step = reduce(state, action)
    new_state = step.state if doctor_state is None else doctor_state(step.state)
    effects: tuple[Effect, ...] = (
        step.effects if doctor_effects is None else tuple(doctor_effects(step.effects))
    )
    checker = InvariantChecker(state.config)
    return [v.invariant for v in checker.check((1, None), action, state, new_state, effects)]


def _checked(state: GatewayState, *actions: Any) -> GatewayState:
    """Fold `actions`, asserting that the checker finds nothing at any step."""
    checker = InvariantChecker(state.config)
    for index, action in enumerate(actions):
        step = reduce(state, action)
        found = checker.check((index, None), action, state, step.state, step.effects)
        assert not found, [str(violation) for violation in found]
        state = step.state
    return state


def test_a_v2_run_of_joins_ends_losses_and_refusals_breaks_nothing() -> None:
    """Join, stream, one end (the shared link stays up), loss, ready, tool, 4401 x3."""
    state = v2_state(OP, OTHER)
    state = _checked(
        state,
        opened_v2(),
        rx(READY),
        rx(mux_chunk("a", id="1")),
        rx(mux_end(op=OTHER, id="1")),
        v2_started("op-3", "topic-3"),
        rx(mux_tool_execute(id="2")),
        closed_v2(),
    )
    state = _checked(
        state,
        ToolFinished(operation_id=OP, result=tool_result()),
        fired(link_timer(state, TimerKind.BACKOFF)),
        opened_v2(2),
        rx(READY, 2),
    )
    assert op_of(state, OTHER).is_finished
    assert not op_of(state).tools


def test_three_refusals_ending_every_session_break_nothing() -> None:
    """A link-wide step that ends every session: each notified once, each checked."""
    state = v2_state(OP, OTHER)
    _checked(
        state,
        closed_v2(1, code=_UNAUTHORIZED),
        closed_v2(2, code=_UNAUTHORIZED),
        closed_v2(3, code=_UNAUTHORIZED),
    )


def test_the_dial_budget_with_the_fallback_breaks_nothing() -> None:
    """Three unready dials with the fallback: every session moves to v1, checked."""
    state = v2_state(OP, OTHER, config=v2_config(v2_fallback=True))
    checker = InvariantChecker(state.config)
    for generation in (1, 2, 3):
        actions: list[Any] = [closed_v2(generation)]
        if generation < 3:
            actions.append(None)  # the backoff timer, once it exists
        for action in actions:
            if action is None:
                action = fired(link_timer(state, TimerKind.BACKOFF))
            step = reduce(state, action)
            assert not checker.check((generation, None), action, state, step.state, step.effects)
            state = step.state
    assert {op_of(state).link_id, op_of(state, OTHER).link_id} == {OP, OTHER}


def test_a_session_that_ends_while_the_shared_socket_stays_is_no_leak() -> None:
    """v1's "nothing survives a finished operation" is about its own link: the user's
    link keeps its socket for the others."""
    assert _violations(ready_state(OP, OTHER), rx(session_complete())) == []


def test_a_missing_notification_in_a_link_wide_end_is_caught() -> None:
    """Three 4401s end both sessions; a step that notifies only one breaks notify-once."""
    state = fold(v2_state(OP, OTHER), closed_v2(1, code=4401), closed_v2(2, code=4401))

    def drop_one(effects: tuple[Effect, ...]) -> list[Effect]:
        notes = [e for e in effects if isinstance(e, NotifyFinished)]
        return [e for e in effects if e is not notes[0]]

    assert _violations(state, closed_v2(3, code=4401), doctor_effects=drop_one) == ["notify-once"]


def test_an_early_unsubscribe_is_caught() -> None:
    """An `unsubscribe` for a session that goes on breaks unsubscribe-after-last."""
    state = ready_state(OP, OTHER)

    def early(effects: tuple[Effect, ...]) -> list[Effect]:
        return [*effects, sent(Unsubscribe(operation_id=OTHER))]

    found = _violations(state, rx(session_complete()), doctor_effects=early)
    assert found == ["unsubscribe-after-last"]


def test_a_resubscribe_may_unsubscribe_a_session_that_goes_on() -> None:
    """`unsubscribe` then `subscribe` of the same session in one step is a resubscribe."""
    assert _violations(ready_state(OP), ReconnectRequested(operation_id=OP)) == []


def test_an_ended_session_left_on_the_link_is_caught() -> None:
    """A link that still carries a finished operation breaks sessions-live."""
    state = ready_state(OP, OTHER)

    def kept(new: GatewayState) -> GatewayState:
        link = new.links[op_of(new).link_id]
        link = attrs.evolve(link, sessions=link.sessions.set(OP, True))
        return attrs.evolve(new, links=new.links.set(link.id, link))

    found = _violations(state, rx(session_complete()), doctor_state=kept)
    assert "sessions-live" in found


def test_an_effect_for_an_operation_already_ended_is_caught() -> None:
    """A tool result written for an operation that had finished breaks nothing-for-ended."""
    state = fold(ready_state(OP, OTHER), rx(mux_end(id="1")))

    def late(effects: tuple[Effect, ...]) -> list[Effect]:
        return [*effects, sent(MuxToolResult(operation_id=OP, result=tool_result()))]

    found = _violations(state, rx(mux_chunk("b", op=OTHER, id="1")), doctor_effects=late)
    assert "nothing-for-ended" in found


def test_a_queued_result_dropped_before_its_deadline_is_caught() -> None:
    """A queued result that vanishes unsent breaks queued-until-deadline."""
    state = fold(ready_state(OP), rx(mux_tool_execute(id="1")), closed_v2())
    state = fold(state, ToolFinished(operation_id=OP, result=tool_result()))

    def dropped(new: GatewayState) -> GatewayState:
        op = op_of(new)
        op = attrs.evolve(op, tools=op.tools.delete("call-1"))
        return attrs.evolve(new, operations=new.operations.set(OP, op))

    found = _violations(state, StopRequested(operation_id=OP), doctor_state=dropped)
    assert found == ["queued-until-deadline"]


def test_a_second_v2_tool_result_for_a_call_is_caught_and_other_operations_are_apart() -> None:
    """Two `tool_result`s for OP's call-1 break one-tool-result; OTHER's call-1 is its own."""
    state = fold(
        ready_state(OP, OTHER), rx(mux_tool_execute(id="1")), rx(mux_tool_execute(op=OTHER, id="1"))
    )
    checker = InvariantChecker(state.config)
    for op in (OP, OTHER):
        action = ToolFinished(operation_id=op, result=tool_result())
        step = reduce(state, action)
        assert checker.check((1, None), action, state, step.state, step.effects) == []
        state = step.state
    again = (sent(MuxToolResult(operation_id=OP, result=tool_result())),)
    detach = OperationDetached(operation_id=OTHER)
    step = reduce(state, detach)
    found = checker.check((2, None), detach, state, step.state, (*step.effects, *again))
    assert [v.invariant for v in found] == ["one-tool-result"]


def test_disconnect_and_connect_with_a_tool_result_between_break_nothing() -> None:
    """Held mid-run, a tool result queued while held, released, `ready`: all clean."""
    state = fold(ready_state(OP, OTHER), rx(mux_tool_execute(id="1")))
    _checked(
        state,
        LinkDisconnectRequested(gateway_url=URL),
        closed_v2(),
        ToolFinished(operation_id=OP, result=tool_result()),
        NetworkRestored(),
        LinkConnectRequested(gateway_url=URL),
        opened_v2(2),
        rx(READY, 2),
    )


def test_a_held_link_that_writes_breaks_held_stays_down() -> None:
    """A frame out on a held link (the result written instead of queued) is caught."""
    state = fold(ready_state(OP), rx(mux_tool_execute(id="1")))
    state = fold(state, LinkDisconnectRequested(gateway_url=URL))
    result = sent(MuxToolResult(operation_id=OP, result=tool_result()))
    found = _violations(
        state,
        ToolFinished(operation_id=OP, result=tool_result()),
        doctor_effects=lambda effects: (*effects, result),
    )
    assert "held-stays-down" in found


def test_a_held_link_released_by_anything_but_connect_breaks_held_stays_down() -> None:
    """A held link that dials for one run's reconnect is caught."""
    state = fold(ready_state(OP), LinkDisconnectRequested(gateway_url=URL))

    def dialled(new: GatewayState) -> GatewayState:
        link = attrs.evolve(new.links[LINK], held=False, status=ConnectionStatus.CONNECTING)
        return attrs.evolve(new, links=new.links.set(LINK, link))

    reconnect = ReconnectRequested(operation_id=OP)
    assert _violations(state, reconnect, doctor_state=dialled) == ["held-stays-down"]
