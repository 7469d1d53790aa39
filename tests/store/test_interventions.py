"""Interventions in the pure store: each request reaches exactly one end (PROTOCOL.md 6.2).

Pending -> resolving (an answer submitted, or echoed without `producerAck`) -> resolved
(`producerAck`, or a legacy response) or cancelled (timeout, user_cancelled,
session_ended). No Trio: every test folds actions through `reduce`.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest

from gatewayops.exceptions import InterventionClosed, UnknownIntervention, UnknownOperation
from gatewayops.protocol import CancelReason, Refusal, ReviewedRequest
from gatewayops.store import (
    MAX_INTERVENTION_WAIT_MS,
    GatewayState,
    HumanLoop,
    Intervention,
    InterventionAnswered,
    InterventionDeclined,
    InterventionStatus,
    InterventionSubmitFailed,
    InterventionSubmitted,
    SubmitIntervention,
    TimerKind,
    is_input_loading,
    is_waiting_for_human,
    pending_interventions,
    reduce,
)
from gatewayops.store._invariant_checks import nothing_pending_when_finished

from .helpers import (
    OP,
    TOPIC,
    connected_store,
    event,
    fired,
    fold,
    op_of,
    received,
    runtime_end,
    timer,
    timers,
)

CALL = "ask-1"
ASKED_AT = 1_700_000_000_000
WAIT_MS = 30_000
ANSWER = {"answers": [{"question": "Colour?", "selected": ["red"]}]}


def request(call: str = CALL, *, deadline: Any = ASKED_AT + WAIT_MS, **changes: Any) -> Any:
    """An `agent_intervention_request` frame asking one question, sent at `ASKED_AT`."""
    questions = [{"question": "Colour?", "options": [{"label": "Red", "id": "red"}]}]
    data = {
        "toolCallId": call,
        "apiName": "askUserQuestion",
        "identifier": "claude-code",
        "arguments": json.dumps({"questions": questions}),
        "deadline": deadline,
        "interactionKind": "question",
        "provider": "claude-code",
        **changes,
    }
    return received(event("agent_intervention_request", data, timestamp=ASKED_AT))


def response(call: str = CALL, **fields: Any) -> Any:
    """An `agent_intervention_response` frame with these data fields."""
    return received(event("agent_intervention_response", {"toolCallId": call, **fields}))


def answered(resolution: str = "r1", call: str = CALL) -> InterventionAnswered:
    """The app answers `call` with `ANSWER`."""
    return InterventionAnswered(
        operation_id=OP, tool_call_id=call, resolution_request_id=resolution, result=ANSWER
    )


def asked() -> GatewayState:
    """A connected operation whose agent asked `CALL`."""
    return fold(connected_store().state, request())


def item(state: GatewayState, call: str = CALL) -> Intervention:
    """The intervention `call` of the operation (open or settled)."""
    found = op_of(state).human.get(call)
    assert found is not None
    return found


def test_a_request_is_pending_and_the_topic_waits_for_the_user() -> None:
    """A reviewed request is pending, listed for the topic, and the run waits for a human."""
    state = asked()
    pending = pending_interventions(state, TOPIC)
    assert [p.tool_call_id for p in pending] == [CALL]
    assert pending[0].status is InterventionStatus.PENDING
    assert isinstance(pending[0].review, ReviewedRequest)
    assert is_waiting_for_human(state, TOPIC)
    assert is_input_loading(state, TOPIC)


def test_a_request_that_fails_review_is_kept_with_its_reason() -> None:
    """A request the review refuses is still pending, showing why it cannot be reviewed."""
    state = fold(connected_store().state, request(apiName="deleteEverything"))
    refused = item(state).review
    assert isinstance(refused, Refusal)
    assert refused.text.startswith("cannot be reviewed here: apiName")
    assert is_waiting_for_human(state, TOPIC)


def test_the_deadline_timer_counts_from_the_request_timestamp() -> None:
    """The deadline (epoch ms, producer clock) minus the event's timestamp is the delay."""
    assert timer(asked(), TimerKind.INTERVENTION_DEADLINE).delay_ms == WAIT_MS


def test_a_request_without_a_deadline_waits_at_most_a_day() -> None:
    """No usable deadline: the timer still exists, capped at MAX_INTERVENTION_WAIT_MS."""
    state = fold(connected_store().state, request(deadline="later"))
    assert timer(state, TimerKind.INTERVENTION_DEADLINE).delay_ms == MAX_INTERVENTION_WAIT_MS


def test_a_repeated_request_asks_nothing_new() -> None:
    """The same toolCallId again (a replay) leaves the intervention as it was."""
    state = fold(asked(), answered())
    assert op_of(fold(state, request())).human == op_of(state).human


def test_an_answer_is_resolving_and_submitted_once() -> None:
    """Answering emits one SubmitIntervention and makes the intervention resolving."""
    step = reduce(asked(), answered())
    assert step.effects == (
        SubmitIntervention(
            operation_id=OP,
            topic_id=TOPIC,
            tool_call_id=CALL,
            resolution_request_id="r1",
            result=ANSWER,
        ),
    )
    assert item(step.state).status is InterventionStatus.RESOLVING


def test_the_same_answer_twice_is_submitted_once() -> None:
    """A repeat with the same resolution id changes nothing and submits nothing."""
    state = fold(asked(), answered())
    step = reduce(state, answered())
    assert step.effects == ()
    assert step.state == state


def test_another_answer_while_resolving_is_refused() -> None:
    """A different resolution id while one resolves raises, naming the one resolving."""
    state = fold(asked(), answered("r1"))
    with pytest.raises(InterventionClosed, match="resolving answer 'r1'"):
        reduce(state, answered("r2"))


def test_a_decline_is_submitted_as_cancelled() -> None:
    """Declining submits a cancellation (no result) and is resolving until acknowledged."""
    decline = InterventionDeclined(operation_id=OP, tool_call_id=CALL, resolution_request_id="d")
    step = reduce(asked(), decline)
    assert step.effects == (
        SubmitIntervention(
            operation_id=OP,
            topic_id=TOPIC,
            tool_call_id=CALL,
            resolution_request_id="d",
            cancelled=True,
        ),
    )
    assert item(step.state).declined


def test_an_echo_without_producer_ack_keeps_it_resolving() -> None:
    """A response with a resolutionRequestId and no producerAck is not the end."""
    state = fold(asked(), answered(), response(resolutionRequestId="r1", result=ANSWER))
    assert item(state).status is InterventionStatus.RESOLVING
    assert is_waiting_for_human(state, TOPIC)


def test_an_echo_from_elsewhere_makes_a_pending_one_resolving() -> None:
    """An answer given on another device, echoed without ack, shows as resolving here."""
    state = fold(asked(), response(resolutionRequestId="other", result="yes"))
    assert (item(state).status, item(state).resolution_request_id) == (
        InterventionStatus.RESOLVING,
        "other",
    )


def test_producer_ack_resolves_it_and_the_run_stops_waiting() -> None:
    """`producerAck` resolves the intervention with the producer's result."""
    state = fold(
        asked(), answered(), response(resolutionRequestId="r1", producerAck=True, result=ANSWER)
    )
    assert (item(state).status, item(state).result) == (InterventionStatus.RESOLVED, ANSWER)
    assert not is_waiting_for_human(state, TOPIC)
    assert pending_interventions(state, TOPIC) == ()
    assert TimerKind.INTERVENTION_DEADLINE not in timers(state)


def test_a_legacy_response_without_resolution_id_resolves_it() -> None:
    """A response with neither resolutionRequestId nor producerAck resolves at once."""
    state = fold(asked(), response(result="blue"))
    assert item(state).status is InterventionStatus.RESOLVED


def test_an_acknowledged_cancellation_cancels_with_its_reason() -> None:
    """A cancelled response with producerAck cancels the intervention, keeping why."""
    state = fold(asked(), response(cancelled=True, cancelReason="timeout", producerAck=True))
    assert (item(state).status, item(state).cancel_reason) == (
        InterventionStatus.CANCELLED,
        CancelReason.TIMEOUT,
    )


def test_a_response_after_the_end_is_ignored() -> None:
    """Once resolved, a duplicate or contrary response changes nothing."""
    state = fold(asked(), response(result="blue"))
    later = fold(state, response(cancelled=True, cancelReason="timeout"))
    assert op_of(later).human == op_of(state).human


def test_the_deadline_passing_cancels_with_timeout() -> None:
    """The deadline timer firing cancels an open intervention with `timeout`."""
    state = asked()
    state = fold(state, fired(timer(state, TimerKind.INTERVENTION_DEADLINE)))
    assert item(state).cancel_reason is CancelReason.TIMEOUT
    assert not is_waiting_for_human(state, TOPIC)


def test_an_answer_after_the_deadline_is_refused_by_name() -> None:
    """Answering a timed-out intervention raises, saying it was cancelled by timeout."""
    state = asked()
    state = fold(state, fired(timer(state, TimerKind.INTERVENTION_DEADLINE)))
    with pytest.raises(InterventionClosed, match=r"already cancelled \(timeout\)"):
        reduce(state, answered())


def test_a_failed_submission_is_reported_and_answerable_again() -> None:
    """A failed submission makes it pending with the error; a new answer submits again."""
    state = fold(
        asked(),
        answered("r1"),
        InterventionSubmitFailed(
            operation_id=OP, tool_call_id=CALL, resolution_request_id="r1", error="offline"
        ),
    )
    assert (item(state).status, item(state).submit_error) == (
        InterventionStatus.PENDING,
        "offline",
    )
    assert "offline" in (op_of(state).last_problem or "")
    assert len(reduce(state, answered("r2")).effects) == 1


def test_a_stale_submission_failure_is_ignored() -> None:
    """The failure of an answer no longer being resolved changes nothing."""
    state = fold(asked(), response(result="blue"))
    stale = InterventionSubmitFailed(
        operation_id=OP, tool_call_id=CALL, resolution_request_id="r1", error="late"
    )
    assert fold(state, stale) == state


def test_a_delivered_submission_is_noted() -> None:
    """A submission that returned marks the answer delivered, still resolving."""
    done = InterventionSubmitted(operation_id=OP, tool_call_id=CALL, resolution_request_id="r1")
    state = fold(asked(), answered(), done)
    assert item(state).delivered
    assert item(state).status is InterventionStatus.RESOLVING


def test_the_session_ending_cancels_every_open_intervention() -> None:
    """A terminal cancels all open interventions with `session_ended`: none pending."""
    state = fold(asked(), request("ask-2"), answered(), received(runtime_end(id="9")))
    ends = {call: item(state, call).cancel_reason for call in (CALL, "ask-2")}
    assert ends == {CALL: CancelReason.SESSION_ENDED, "ask-2": CancelReason.SESSION_ENDED}
    assert not op_of(state).human.open


def test_an_answer_for_an_unknown_call_or_operation_is_refused() -> None:
    """An answer naming nothing the store knows raises a clear error before any change."""
    with pytest.raises(UnknownIntervention, match="no intervention 'nope'"):
        reduce(asked(), answered(call="nope"))
    with pytest.raises(UnknownOperation):
        reduce(GatewayState(), answered())


def test_a_human_approval_step_waits_until_the_next_step() -> None:
    """`step_start` of phase human_approval waits; a step of another phase ends that."""
    approval = received(event("step_start", {"phase": "human_approval", "requiresApproval": True}))
    state = fold(connected_store().state, approval)
    assert is_waiting_for_human(state, TOPIC)
    state = fold(state, received(event("step_start", {"phase": "execution"})))
    assert not is_waiting_for_human(state, TOPIC)


def test_answering_a_resolved_intervention_is_refused_by_name() -> None:
    """After the producer resolved it, another answer raises, saying it is resolved."""
    state = fold(asked(), response(result="blue"))
    with pytest.raises(InterventionClosed, match="already resolved"):
        reduce(state, answered("r9"))


def test_the_invariant_names_what_is_still_pending_after_a_terminal() -> None:
    """`nothing_pending_when_finished` reports open interventions and a waiting approval."""
    op = op_of(asked())
    assert nothing_pending_when_finished(op) == "finished with interventions still open: ['ask-1']"
    waiting = attrs.evolve(op, human=HumanLoop(approval_step=True))
    assert nothing_pending_when_finished(waiting) == (
        "finished while still waiting for the user's approval"
    )
    assert nothing_pending_when_finished(attrs.evolve(op, human=HumanLoop())) is None
