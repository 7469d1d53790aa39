"""The action strategies of `gatewayops.testing.strategies` draw actions about the ids
they are given, which the reducer takes from any state without raising."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gatewayops.store import (
    Action,
    GatewayState,
    OperationStatus,
    StoreConfig,
    SubmitIntervention,
    Timer,
    TimerKind,
    reduce,
    subject,
)
from gatewayops.testing import strategies as gs

from .helpers import AUTH_SUCCESS, OP, TOPIC, event, fold, opened, received, started

CONNECTED = fold(GatewayState(config=StoreConfig()), started(), opened(), received(AUTH_SUCCESS))
ASK = event("agent_intervention_request", {"toolCallId": "ask-1", "apiName": "askUserQuestion"})


@given(
    st.one_of(
        gs.operations_started(operation_id=OP, topic_id=TOPIC),
        gs.operations_attached(operation_id=OP, topic_id=TOPIC),
    )
)
def test_app_starts_follow_the_operation_they_name(action: Action) -> None:
    """A drawn start or attach, reduced from an empty state, follows exactly that operation."""
    state = reduce(GatewayState(config=StoreConfig()), action).state
    assert list(state.operations) == [OP]
    assert state.operations[OP].topic_id == TOPIC


@settings(max_examples=200)
@given(
    st.one_of(
        gs.socket_events(link_id=OP, generation=1),
        gs.tokens_replaced(operation_id=OP),
        gs.refresh_results(operation_id=OP),
        gs.interrupt_results(operation_id=OP),
        gs.tool_finishes(operation_id=OP, tool_call_id="call-1"),
        gs.timers_fired(owner=OP),
        gs.submission_results(operation_id=OP, tool_call_id="ask-1", resolution_request_id="r"),
    )
)
def test_every_drawn_action_is_about_its_subject_and_reduces(action: Action) -> None:
    """Each action drawn for `OP` names `OP`, and reducing it on a connected operation
    never raises (the operation may end, but it is still there, open or ended once)."""
    assert subject(action) == OP
    step = reduce(CONNECTED, action)
    assert OP in step.state.operations
    assert step.state.operations[OP].status in set(OperationStatus)


@given(st.data())
def test_timers_fired_draws_live_timers_as_well_as_gone_ones(data: st.DataObject) -> None:
    """With live timers given, a fired timer is one of them or a long-gone one of the owner."""
    live = [Timer(owner=OP, kind=TimerKind.HEARTBEAT, generation=1, seq=1, delay_ms=30_000)]
    fired = data.draw(gs.timers_fired(owner=OP, live=live))
    assert fired.timer.owner == OP
    assert fired.timer in live or fired.timer.seq == 99


@given(gs.intervention_answers(operation_id=OP, tool_call_id="ask-1", resolution_request_id="r"))
def test_a_drawn_answer_to_an_open_question_is_submitted_once(action: Action) -> None:
    """Any drawn answer or decline to a pending intervention yields one submission of it."""
    state = fold(CONNECTED, received(ASK))
    step = reduce(state, action)
    assert [type(effect) for effect in step.effects] == [SubmitIntervention]
