"""The views of intervention events and the review that guards a request (PROTOCOL.md 6.2).

Each rule of the review table has a test that breaks only that rule and checks that the
refusal names it; a Hypothesis test mutates a valid request field by field at the wire
level and checks that the review never raises and refuses or accepts, never drops.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatewayops.protocol import (
    AgentEvent,
    HumanApprovalStep,
    InteractionKind,
    InterventionRequestData,
    InterventionResponseData,
    Option,
    Question,
    Refusal,
    ReviewedRequest,
    UnreadableData,
    decode,
    parse_human_event,
    review,
)
from gatewayops.protocol import AgentEventMessage as Envelope

DEADLINE = 1_700_000_060_000


def question(**changes: Any) -> dict[str, Any]:
    """A valid question with two options that have ids."""
    base: dict[str, Any] = {
        "question": "Which colour?",
        "header": "Colour",
        "options": [{"label": "Red", "id": "red"}, {"label": "Blue", "id": "blue"}],
    }
    base.update(changes)
    return base


def request_data(*questions: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The data of a valid `askUserQuestion` request (one question unless given)."""
    base: dict[str, Any] = {
        "toolCallId": "call-1",
        "apiName": "askUserQuestion",
        "identifier": "claude-code",
        "arguments": json.dumps({"questions": list(questions) or [question()]}),
        "deadline": DEADLINE,
        "interactionKind": "question",
        "provider": "claude-code",
    }
    base.update(changes)
    return base


def parse(event_type: str, data: Any) -> object:
    """The human-event view of an event of `event_type` carrying `data`."""
    return parse_human_event(AgentEvent(type=event_type, operation_id="op-1", data=data))


def reviewed(data: dict[str, Any]) -> ReviewedRequest | Refusal:
    """The review of a request with this data (which must parse to a request)."""
    view = parse("agent_intervention_request", data)
    assert isinstance(view, InterventionRequestData)
    return review(view)


def reason(data: dict[str, Any]) -> str:
    """The refusal's reason for this request data (the review must refuse it)."""
    result = reviewed(data)
    assert isinstance(result, Refusal), result
    return result.reason


# --------------------------------------------------------------------------- views


def test_a_request_parses_to_its_view() -> None:
    """Every field of a well-formed request reaches its view, with no problems."""
    view = parse("agent_intervention_request", request_data())
    assert view == InterventionRequestData(
        tool_call_id="call-1",
        api_name="askUserQuestion",
        identifier="claude-code",
        arguments=request_data()["arguments"],
        deadline_ms=DEADLINE,
        interaction_kind="question",
        provider="claude-code",
    )


def test_a_request_without_a_tool_call_id_is_unreadable() -> None:
    """A request with nothing to answer it by is unreadable, and says why."""
    data = request_data()
    del data["toolCallId"]
    view = parse("agent_intervention_request", data)
    assert isinstance(view, UnreadableData)
    assert "toolCallId" in view.problems[0]


def test_a_mistyped_deadline_is_a_problem_of_the_view() -> None:
    """A deadline that is not a number is None in the view and named as a problem."""
    view = parse("agent_intervention_request", request_data(deadline="soon"))
    assert isinstance(view, InterventionRequestData)
    assert view.deadline_ms is None
    assert view.problems == ("event.data.deadline: expected number, got str",)


def test_a_response_parses_answer_ids_and_ack() -> None:
    """A response keeps its answer, its resolution id and the producer's ack."""
    data = {"toolCallId": "c", "result": {"a": 1}, "resolutionRequestId": "r", "producerAck": True}
    assert parse("agent_intervention_response", data) == InterventionResponseData(
        tool_call_id="c", result={"a": 1}, resolution_request_id="r", producer_ack=True
    )


def test_a_cancelled_response_keeps_its_reason() -> None:
    """A cancellation keeps `cancelled` and its `cancelReason`."""
    view = parse(
        "agent_intervention_response",
        {"toolCallId": "c", "cancelled": True, "cancelReason": "timeout"},
    )
    assert isinstance(view, InterventionResponseData)
    assert (view.cancelled, view.cancel_reason) == (True, "timeout")


def test_a_human_approval_step_lists_the_pending_calls() -> None:
    """A `step_start` of phase human_approval names the tool calls waiting for approval."""
    data = {
        "phase": "human_approval",
        "requiresApproval": True,
        "pendingToolsCalling": [{"id": "t1"}, {"id": 5}, "x"],
    }
    assert parse("step_start", data) == HumanApprovalStep(pending_tool_call_ids=("t1",))


def test_a_step_start_of_another_phase_has_no_human_view() -> None:
    """Only the human_approval phase is a human event; other steps and events are None."""
    assert parse("step_start", {"phase": "execution"}) is None
    assert parse("stream_chunk", {"chunkType": "text"}) is None


def test_a_response_whose_data_is_not_an_object_is_unreadable() -> None:
    """Data of the wrong JSON type gives UnreadableData naming the type."""
    view = parse("agent_intervention_response", [1])
    assert view == UnreadableData(problems=("event.data: expected object, got array",))


# --------------------------------------------------------------------------- review


def test_a_valid_question_is_reviewed_to_its_canonical_fields() -> None:
    """A valid request becomes a ReviewedRequest holding only the canonical fields."""
    extra = question(options=[{"label": "Red", "id": "red", "colour": "#f00"}], noise=1)
    assert reviewed(request_data(extra)) == ReviewedRequest(
        tool_call_id="call-1",
        kind=InteractionKind.QUESTION,
        provider="claude-code",
        deadline_ms=DEADLINE,
        questions=(
            Question(
                question="Which colour?", header="Colour", options=(Option(label="Red", id="red"),)
            ),
        ),
    )


def test_an_absent_kind_is_a_question_and_an_absent_provider_is_accepted() -> None:
    """The optional interactionKind counts as `question`; no provider is no refusal."""
    data = request_data()
    del data["interactionKind"], data["provider"]
    result = reviewed(data)
    assert isinstance(result, ReviewedRequest)
    assert (result.kind, result.provider) == (InteractionKind.QUESTION, None)


def test_a_refusal_reads_cannot_be_reviewed_here() -> None:
    """What is shown for a refused request starts with "cannot be reviewed here:"."""
    refusal = reviewed(request_data(apiName="deleteFiles"))
    assert isinstance(refusal, Refusal)
    assert refusal.text == "cannot be reviewed here: apiName 'deleteFiles' is not 'askUserQuestion'"


def _options(count: int) -> list[dict[str, Any]]:
    return [{"label": f"o{index}", "id": f"id{index}"} for index in range(count)]


REFUSALS: list[tuple[str, dict[str, Any], str]] = [
    ("apiName", request_data(apiName="other"), "apiName 'other'"),
    ("interactionKind", request_data(interactionKind="vote"), "interactionKind 'vote'"),
    ("provider", request_data(provider="hal"), "provider 'hal'"),
    ("deadline absent", {**request_data(), "deadline": None}, "deadline is not a finite"),
    ("arguments", request_data(arguments="{no"), "arguments are not JSON"),
    ("no questions", request_data(arguments='{"questions": []}'), "0 questions"),
    (
        "five questions",
        request_data(*(question(question=f"q{index}") for index in range(5))),
        "5 questions (a question allows 1-4)",
    ),
    (
        "two for a plan",
        request_data(question(), question(question="Other?"), interactionKind="plan"),
        "2 questions (a plan allows 1-1)",
    ),
    ("empty text", request_data(question(question="")), "question has 0 characters"),
    ("long text", request_data(question(question="x" * 4001)), "4001 characters"),
    ("same text", request_data(question(), question()), "same text"),
    ("long header", request_data(question(header="h" * 201)), "header has 201"),
    ("multiSelect type", request_data(question(multiSelect="yes")), "not a boolean"),
    (
        "multiSelect permission",
        request_data(question(multiSelect=True), interactionKind="permission"),
        "multiSelect is true for a permission",
    ),
    ("no options", request_data(question(options=[])), "0 (expected 1-16"),
    ("17 options", request_data(question(options=_options(17))), "17 (expected 1-16"),
    (
        "long label",
        request_data(question(options=[{"label": "l" * 201}])),
        "label has 201",
    ),
    (
        "long description",
        request_data(question(options=[{"label": "l", "description": "d" * 1001}])),
        "description has 1001",
    ),
    (
        "long id",
        request_data(question(options=[{"label": "l", "id": "i" * 201}])),
        "id has 201",
    ),
    (
        "id missing for a plan",
        request_data(question(options=[{"label": "l"}]), interactionKind="plan"),
        "has no id",
    ),
    (
        "ids alike for a permission",
        request_data(
            question(options=[{"label": "a", "id": "x"}, {"label": "b", "id": "x"}]),
            interactionKind="permission",
        ),
        "ids are not unique",
    ),
]


@pytest.mark.parametrize(("rule", "data", "expected"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_each_review_rule_refuses_and_names_itself(
    rule: str, data: dict[str, Any], expected: str
) -> None:
    """Breaking one rule of the review table refuses the request, naming that rule."""
    assert expected in reason(data), rule


def test_a_plain_question_may_have_options_without_ids_and_alike() -> None:
    """Ids are required and unique only for permission and plan."""
    options = [{"label": "a"}, {"label": "b"}]
    assert isinstance(reviewed(request_data(question(options=options))), ReviewedRequest)


def test_four_questions_and_sixteen_options_pass() -> None:
    """The upper limits themselves are allowed."""
    questions = [question(question=f"q{index}", options=_options(16)) for index in range(4)]
    assert isinstance(reviewed(request_data(*questions)), ReviewedRequest)


# --------------------------------------------------------------------------- wire mutations

_JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),  # JSON has no Infinity
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@st.composite
def mutated_requests(draw: st.DrawFn) -> dict[str, Any]:
    """A valid request frame with one field of the data, a question or an option
    deleted or replaced by a value of any JSON type."""
    q = question(multiSelect=False, options=_options(draw(st.integers(1, 3))))
    data = request_data(q, interactionKind=draw(st.sampled_from(["question", "plan"])))
    target_name = draw(st.sampled_from(["data", "question", "option"]))
    targets: dict[str, dict[str, Any]] = {"data": data, "question": q, "option": q["options"][0]}
    target = targets[target_name]
    key = draw(st.sampled_from(sorted(target)))
    if draw(st.booleans()):
        del target[key]
    else:
        target[key] = draw(_JUNK)
    if target_name != "data":
        data["arguments"] = json.dumps({"questions": [q]})
    return {
        "type": "agent_event",
        "id": "1",
        "event": {"type": "agent_intervention_request", "data": data},
    }


@given(mutated_requests())
def test_a_mutated_request_is_reviewed_or_refused_never_lost(frame: dict[str, Any]) -> None:
    """Through the real decoder, a request with any one field broken gives a view (or
    names why it is unreadable); its review never raises and accepts only what fits."""
    message = decode(json.dumps(frame))
    assert isinstance(message, Envelope)
    view = parse_human_event(message.event)
    if isinstance(view, UnreadableData):
        assert view.problems
        return
    assert isinstance(view, InterventionRequestData)
    result = review(view)
    if isinstance(result, Refusal):
        assert result.reason
        assert result.tool_call_id == view.tool_call_id
    else:
        assert 1 <= len(result.questions) <= 4
        assert all(1 <= len(q.options) <= 16 for q in result.questions)
