"""How a reviewed request reads and how typed replies become the agent's answer
(`gatewayops._question_text`): pure, no Trio."""

from __future__ import annotations

import pytest

from gatewayops._question_text import answer_result, parse_reply, request_lines
from gatewayops.protocol import InteractionKind, Option, Question, Refusal, ReviewedRequest

REGION = Question(
    question="Which region?",
    header="Region",
    options=(Option(label="Europe", id="eu"), Option(label="Asia", id="ap")),
)
CHECKS = Question(
    question="Which checks?",
    multi_select=True,
    options=(Option(label="Unit"), Option(label="Lint", description="ruff"), Option(label="E2E")),
)


def _request(
    kind: InteractionKind = InteractionKind.QUESTION, *questions: Question
) -> ReviewedRequest:
    return ReviewedRequest(
        tool_call_id="ask-1",
        kind=kind,
        provider=None,
        deadline_ms=0,
        questions=questions or (REGION, CHECKS),
    )


def test_the_lines_number_the_options_and_say_what_may_be_chosen() -> None:
    """Each question shows its header, what may be chosen and its options from 1."""
    lines = request_lines(_request(), 30_000)
    assert lines == [
        "the agent asks (question), and waits 30 s:",
        "  Region: Which region?  [choose 1-2, or type your own answer]",
        "    1. Europe",
        "    2. Asia",
        "  Which checks?  [choose any of 1-3, e.g. 1,2, or type your own answer]",
        "    1. Unit",
        "    2. Lint - ruff",
        "    3. E2E",
    ]


def test_a_permission_offers_no_free_text() -> None:
    """A permission's hint says choose, never type."""
    lines = request_lines(_request(InteractionKind.PERMISSION, REGION), 1_000)
    assert lines[1] == "  Region: Which region?  [choose 1-2]"


def test_a_refused_request_reads_as_its_refusal() -> None:
    """A request that failed review shows "cannot be reviewed here: <reason>"."""
    (line,) = request_lines(Refusal(tool_call_id="ask-1", reason="too many questions"), 1)
    assert line == "cannot be reviewed here: too many questions (it can only be declined)"


@pytest.mark.parametrize(
    ("question", "text", "reply"),
    [
        (REGION, "2", (1,)),
        (CHECKS, "1, 3", (0, 2)),
        (CHECKS, "3 1 3", (2, 0)),
        (REGION, " Mars ", "Mars"),
    ],
)
def test_numbers_choose_options_and_other_text_is_free_text(
    question: Question, text: str, reply: tuple[int, ...] | str
) -> None:
    """Option numbers (several for a multi-select) choose; anything else is typed text."""
    assert parse_reply(_request(), question, text) == reply


@pytest.mark.parametrize(
    ("kind", "question", "text", "error"),
    [
        (InteractionKind.QUESTION, REGION, "  ", "an empty reply declines"),
        (InteractionKind.QUESTION, REGION, "3", "no option 3: expected 1 to 2"),
        (InteractionKind.QUESTION, REGION, "1,2", "one option only"),
        (InteractionKind.PLAN, REGION, "yes", "expected an option number from 1 to 2"),
    ],
)
def test_a_reply_that_fits_no_rule_names_what_is_wrong(
    kind: InteractionKind, question: Question, text: str, error: str
) -> None:
    """Empty, out of range, several for one choice, or text where only options go."""
    with pytest.raises(ValueError, match=error):
        parse_reply(_request(kind, question), question, text)


def test_the_answer_holds_each_questions_ids_or_labels_or_text() -> None:
    """Chosen options answer with their id (else label); typed text as "text"."""
    result = answer_result(_request(), [(1,), (0, 2)])
    assert result == {
        "answers": [
            {"question": "Which region?", "selected": ["ap"]},
            {"question": "Which checks?", "selected": ["Unit", "E2E"]},
        ]
    }
    typed = answer_result(_request(), ["Mars", (1,)])
    assert typed["answers"][0] == {"question": "Which region?", "text": "Mars"}


def test_the_answer_needs_one_reply_per_question_and_options_for_a_plan() -> None:
    """Too few replies, or typed text for a plan, are refused."""
    with pytest.raises(ValueError, match="expected 2 replies, got 1"):
        answer_result(_request(), [(0,)])
    with pytest.raises(ValueError, match="takes one of its options only"):
        answer_result(_request(InteractionKind.PLAN, REGION), ["sure"])


def test_the_wait_is_shown_in_whole_seconds_rounded_up() -> None:
    """A deadline a few ms short of 30 s (two clock readings) still reads "waits 30 s"."""
    assert request_lines(_request(), 29_998)[0] == "the agent asks (question), and waits 30 s:"
