"""Ready-made runs whose agent stops and asks the user (PROTOCOL.md 6.2).

Owns: `ASK_KINDS` and `asking_run(kind)`: a short streamed lead-in, one `AskHuman` step
of that kind (a 1-4 question form, a permission, a plan, a tool confirmation, a text
input), the reply that quotes the answer, and a clean end. Must not know: sockets,
tokens, faults, or how the answer arrives.
"""

from __future__ import annotations

from typing import Any

from gatewayops.gateway._asking import AskHuman
from gatewayops.gateway._scripts import Emit, Finish, Script, ScriptStep, _next_id, _paced, _stream
from gatewayops.protocol import EventType

__all__ = ["ASK_KINDS", "asking_run"]


def _options(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"id": option_id, "label": label} for option_id, label in pairs]


_FORM: tuple[dict[str, Any], ...] = (
    {
        "question": "Which region should the service run in?",
        "header": "Region",
        "options": _options(("eu", "Europe"), ("us", "United States"), ("ap", "Asia Pacific")),
    },
    {
        "question": "Which checks should run before the release?",
        "header": "Checks",
        "multiSelect": True,
        "options": _options(("unit", "Unit tests"), ("lint", "Lint"), ("e2e", "End to end")),
    },
)

_KINDS: dict[str, tuple[str, tuple[dict[str, Any], ...], str, str]] = {
    "question": (
        "question",
        _FORM,
        "I need two choices from you before I set this up.",
        "Thanks. Your choices: {answer}.",
    ),
    "permission": (
        "permission",
        (
            {
                "question": "May I delete the build cache (1.2 GB)?",
                "options": _options(("allow", "Allow"), ("deny", "Deny")),
            },
        ),
        "Cleaning up needs your permission.",
        "Permission answer received: {answer}.",
    ),
    "plan": (
        "plan",
        (
            {
                "question": "Plan: 1. migrate the schema, 2. backfill, 3. switch reads. Approve?",
                "header": "Plan",
                "options": _options(("approve", "Approve the plan"), ("revise", "Revise it")),
            },
        ),
        "Here is my plan; I will wait for your approval.",
        "Plan decision: {answer}.",
    ),
    "tool_confirmation": (
        "permission",
        (
            {
                "question": "Run the tool shell.exec with `make deploy`?",
                "header": "Tool",
                "options": _options(("approve", "Run it"), ("reject", "Do not run it")),
            },
        ),
        "I want to run a tool; please confirm.",
        "Tool confirmation: {answer}.",
    ),
    "text_input": (
        "question",
        (
            {
                "question": "What should the release be called?",
                "header": "Name",
                "options": _options(("free_text", "Type a name")),
            },
        ),
        "One thing only you can tell me.",
        "You wrote: {answer}.",
    ),
}

ASK_KINDS = tuple(_KINDS)
"""The kinds `asking_run` builds: question, permission, plan, tool_confirmation, text_input."""


def asking_run(kind: str = "question", *, wait_ms: int = 30_000, delay: float = 0.0) -> Script:
    """A run whose agent asks the user (`kind`), waits up to `wait_ms`, then quotes the
    answer (or says it was declined or came too late) and ends cleanly.

    Raises:
        ValueError: `kind` is not one of `ASK_KINDS`, or `wait_ms` is not positive.
    """
    if kind not in _KINDS:
        raise ValueError(f"kind: expected one of {', '.join(ASK_KINDS)}, got {kind!r}")
    if wait_ms <= 0:
        raise ValueError(f"wait_ms: expected a positive number of ms, got {wait_ms}")
    interaction, questions, lead, reply = _KINDS[kind]
    body: list[ScriptStep] = [Emit(type=EventType.AGENT_RUNTIME_INIT, data={}, step=0)]
    body += _stream(0, _next_id("msg"), lead, 2, None, False)
    body.append(
        AskHuman(
            tool_call_id=_next_id("ask"),
            interaction_kind=interaction,
            questions=questions,
            wait_ms=wait_ms,
            reply=reply,
            step=0,
        )
    )
    body.append(Finish(step=1))
    return Script(name=f"asking_run:{kind}", steps=tuple(_paced(body, delay)))
