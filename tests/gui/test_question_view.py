"""The question panel's view model: pure functions of the store's state (no display)."""

from __future__ import annotations

import json
from typing import Any

from gatewayops.gui._question_view import question_view, time_left_text
from gatewayops.protocol import AgentEvent, AgentEventMessage, AuthSuccess, InteractionKind
from gatewayops.store import (
    Action,
    GatewayState,
    InterventionAnswered,
    MessageReceived,
    OperationStarted,
    SocketOpened,
    reduce,
)

OP, TOPIC, CALL = "op-1", "topic-1", "ask-1"
ASKED_AT = 1_700_000_000_000


def _received(message: Any) -> MessageReceived:
    return MessageReceived(link_id=OP, generation=1, message=message)


def _asking(questions: Any, *, wait_ms: int = 30_000) -> GatewayState:
    """A connected run whose agent asked `questions` (a question request)."""
    data = {
        "toolCallId": CALL,
        "apiName": "askUserQuestion",
        "arguments": json.dumps({"questions": questions}),
        "deadline": ASKED_AT + wait_ms,
        "interactionKind": "question",
    }
    inner = AgentEvent(
        type="agent_intervention_request", operation_id=OP, timestamp=ASKED_AT, data=data
    )
    actions: list[Action] = [
        OperationStarted(
            operation_id=OP, topic_id=TOPIC, gateway_url="ws://127.0.0.1:1", token="t"
        ),
        SocketOpened(link_id=OP, generation=1),
        _received(AuthSuccess()),
        _received(AgentEventMessage(event=inner)),
    ]
    state = GatewayState()
    for action in actions:
        state = reduce(state, action).state
    return state


COLOUR = [{"question": "Colour?", "options": [{"label": "Red", "id": "red"}]}]


def test_nothing_waits_no_panel() -> None:
    """Without an open request there is no question view."""
    assert question_view(GatewayState(), TOPIC) is None


def test_a_reviewed_request_is_shown_with_its_wait() -> None:
    """An open reviewed request: its questions, the agent's wait, answerable."""
    view = question_view(_asking(COLOUR), TOPIC)
    assert view is not None
    assert view.request is not None
    assert view.request.kind is InteractionKind.QUESTION
    assert (view.tool_call_id, view.wait_ms, view.sending) == (CALL, 30_000, False)
    assert view.heading == "The agent waits for your answer (question)."


def test_a_refused_request_shows_why_and_offers_no_questions() -> None:
    """A request that failed review (five questions) reads "cannot be reviewed here"."""
    view = question_view(_asking(COLOUR * 5), TOPIC)
    assert view is not None
    assert view.request is None
    assert view.heading.startswith("cannot be reviewed here: ")
    assert view.heading.endswith("(it can only be declined)")


def test_an_answer_on_its_way_is_sending() -> None:
    """Once answered, the view is `sending` (the buttons are disabled) until it ends."""
    answered = InterventionAnswered(
        operation_id=OP, tool_call_id=CALL, resolution_request_id="r-1", result="x"
    )
    view = question_view(reduce(_asking(COLOUR), answered).state, TOPIC)
    assert view is not None
    assert view.sending


def test_the_time_left_counts_down_and_stops_at_zero() -> None:
    """Whole seconds left, rounded up, never negative."""
    assert time_left_text(30_000, 0.2) == "Time left: 30 s"
    assert time_left_text(30_000, 29.5) == "Time left: 1 s"
    assert time_left_text(30_000, 45) == "Time left: 0 s"
