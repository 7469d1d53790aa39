"""How the agent's request for the user reads, and how the user's reply becomes an answer.

Owns, for `watch`, the GUI and any other frontend: what a reviewed request allows (one
choice or several per question; free text for a ``question`` request, never for a
``permission`` or a ``plan``, whose answer must be one of their options' ids), its
lines as a terminal shows them (each question with its options numbered, what may be
chosen, the time the agent waits), `parse_reply` (a line typed for one question:
option numbers, else free text where allowed, with an error naming what is wrong) and
`answer_result` (the replies to every question as the one JSON answer the agent gets,
``{"answers": [{"question": ..., "selected": [ids]} | {"question": ..., "text": ...}]}``).
Must not know: terminals, widgets, the store's rules, or how an answer travels.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any, TypeAlias

from gatewayops.protocol import InteractionKind, Question, Refusal, Review, ReviewedRequest

__all__ = [
    "Reply",
    "answer_result",
    "choice_hint",
    "free_text_allowed",
    "option_value",
    "parse_reply",
    "request_lines",
]

Reply: TypeAlias = tuple[int, ...] | str
"""The user's reply to one question: the chosen options' indexes (from 0), or free text."""

_NUMBERS = re.compile(r"\s*\d+(\s*[,\s]\s*\d+)*\s*")


def free_text_allowed(request: ReviewedRequest) -> bool:
    """Whether the user may type an answer instead of choosing (``question`` requests)."""
    return request.kind is InteractionKind.QUESTION


def option_value(question: Question, index: int) -> str:
    """What choosing option `index` answers: its id, else its label."""
    option = question.options[index]
    return option.id or option.label


def choice_hint(request: ReviewedRequest, question: Question) -> str:
    """What may be chosen, in words: ``choose one``, ``choose any``, ``or type``."""
    count = len(question.options)
    hint = f"choose any of 1-{count}, e.g. 1,2" if question.multi_select else f"choose 1-{count}"
    return f"{hint}, or type your own answer" if free_text_allowed(request) else hint


def request_lines(review: Review, wait_ms: int) -> list[str]:
    """The request as lines of text: why it cannot be reviewed, or each question (its
    header, its text, what may be chosen) with its options numbered from 1."""
    if isinstance(review, Refusal):
        return [f"{review.text} (it can only be declined)"]
    wait = math.ceil(wait_ms / 1000)  # whole seconds: the clocks differ by a few ms
    lines = [f"the agent asks ({review.kind}), and waits {wait} s:"]
    for question in review.questions:
        header = f"{question.header}: " if question.header else ""
        lines.append(f"  {header}{question.question}  [{choice_hint(review, question)}]")
        for number, option in enumerate(question.options, start=1):
            about = f" - {option.description}" if option.description else ""
            lines.append(f"    {number}. {option.label}{about}")
    return lines


def parse_reply(request: ReviewedRequest, question: Question, text: str) -> Reply:
    """The reply `text` gives to `question`: option numbers (from 1; several only for a
    multi-select question), else free text where the request allows it.

    Raises:
        ValueError: `text` is empty, names an option that does not exist, several for a
            one-choice question, or is not numbers where only options may be chosen.
    """
    if not text.strip():
        raise ValueError("expected an answer (an empty reply declines the request)")
    if _NUMBERS.fullmatch(text) is None:
        if free_text_allowed(request):
            return text.strip()
        raise ValueError(f"expected an option number from 1 to {len(question.options)}")
    numbers = [int(part) for part in re.split(r"[,\s]+", text.strip())]
    wrong = [n for n in numbers if not 1 <= n <= len(question.options)]
    if wrong:
        raise ValueError(f"no option {wrong[0]}: expected 1 to {len(question.options)}")
    if len(numbers) > 1 and not question.multi_select:
        raise ValueError("this question takes one option only")
    return tuple(dict.fromkeys(n - 1 for n in numbers))


def answer_result(request: ReviewedRequest, replies: Sequence[Reply]) -> dict[str, Any]:
    """The answer the agent gets for one reply per question of `request`, in order.

    Raises:
        ValueError: not one reply per question, or free text where it is not allowed.
    """
    if len(replies) != len(request.questions):
        raise ValueError(f"expected {len(request.questions)} replies, got {len(replies)}")
    answers: list[dict[str, Any]] = []
    for question, reply in zip(request.questions, replies, strict=True):
        if isinstance(reply, str):
            if not free_text_allowed(request):
                raise ValueError(f"a {request.kind} request takes one of its options only")
            answers.append({"question": question.question, "text": reply})
        else:
            selected = [option_value(question, index) for index in reply]
            answers.append({"question": question.question, "selected": selected})
    return {"answers": answers}
