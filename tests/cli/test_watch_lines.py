"""What `watch` prints for a transcript: entries in order, tool calls inline, errors whole.

A tool call is one line (its name, its arguments folded, the status, its result or
error), printed when its status changes; an error shows its type and message, then one
line per field of its body. Nothing shaped like a token is printed.
"""

from __future__ import annotations

import attrs

from gatewayops._chat_text import call_line, error_lines, folded
from gatewayops._persistent import Vector
from gatewayops.cli._watch_lines import changes
from gatewayops.store import (
    AssistantMessage,
    ConnectionStatus,
    Entry,
    ErrorEntry,
    Link,
    Operation,
    StoreConfig,
    ToolCallEntry,
    ToolCallStatus,
    Transcript,
)

LINK = Link(id="op-1", url="ws://x/ws", operation_id="op-1", status=ConnectionStatus.CONNECTED)
CALL = ToolCallEntry(
    id="c1", identifier="web", api_name="search", arguments='{"query": "trio"}', result=None
)


def _op(*entries: Entry) -> Operation:
    transcript = Transcript(entries=Vector(entries))
    return Operation(id="op-1", topic_id="t", link_id="op-1", token="t", transcript=transcript)


def test_entries_are_printed_in_transcript_order() -> None:
    """Text, the call that ran after it, then the answer: printed in that order."""
    first = AssistantMessage(id="m1", text_pieces=("Let me look.",))
    answer = AssistantMessage(id="m2", text_pieces=("Found it.",))
    lines = changes(_op(), _op(first, CALL, answer), LINK, LINK, StoreConfig())
    assert lines == [
        "text       'Let me look.'",
        'tool       web/search({"query": "trio"}) … running',
        "text       'Found it.'",
    ]


def test_a_tool_call_is_printed_when_its_status_changes() -> None:
    """A call writing its arguments prints once; it prints again when it ends, with its
    result."""
    calling = attrs.evolve(CALL, status=ToolCallStatus.CALLING, arguments='{"q')
    done = attrs.evolve(CALL, status=ToolCallStatus.SUCCEEDED, result={"hits": 3})
    assert (
        changes(
            _op(calling), _op(attrs.evolve(calling, arguments='{"qu')), LINK, LINK, StoreConfig()
        )
        == []
    )
    assert changes(_op(calling), _op(done), LINK, LINK, StoreConfig()) == [
        'tool       web/search({"query": "trio"}) ✓ succeeded → {"hits":3}'
    ]


def test_a_failed_call_shows_its_error() -> None:
    """A failed call's line ends with its error, folded to one line."""
    failed = attrs.evolve(CALL, status=ToolCallStatus.FAILED, error="timed out\nafter 5 s")
    assert call_line(failed) == 'web/search({"query": "trio"}) ✗ failed → timed out after 5 s'


def test_an_error_shows_its_type_and_each_field_of_its_body() -> None:
    """An error's type and message, then its body one field a line (the install command)."""
    error = ErrorEntry(
        id="e",
        message="claude not found",
        kind="AgentRuntimeError",
        body={"installCommand": "npm i -g @anthropic-ai/claude-code", "code": 127},
    )
    assert changes(_op(), _op(error), LINK, LINK, StoreConfig()) == [
        "error      AgentRuntimeError: claude not found",
        "error      installCommand: npm i -g @anthropic-ai/claude-code",
        "error      code: 127",
    ]
    assert error_lines(attrs.evolve(error, kind=None, body=None)) == ["claude not found"]


def test_folding_redacts_and_cuts() -> None:
    """Folded values are one line, cut with an ellipsis, with token-shaped text redacted."""
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl"
    assert jwt not in folded({"token": jwt})
    assert jwt not in folded(f"Bearer {jwt}")
    assert folded("x" * 100, 10) == "x" * 9 + "\u2026"
