"""How a transcript entry reads as text, for `watch`, the GUI and the replay snapshot.

Owns: the label of each kind of entry, a tool call's line (its name, its arguments
folded to one short line, the status mark, and the result or error), an error's lines
(its type and message, then each field of its structured body), and folding any
value to one line with secrets redacted. Must not know: terminals, widgets, or how an
entry was built.
"""

from __future__ import annotations

from gatewayops._secrets import redact_secrets
from gatewayops.protocol import value_text
from gatewayops.store import (
    AssistantMessage,
    Entry,
    ErrorEntry,
    Reasoning,
    ToolCallEntry,
    ToolCallStatus,
    UserMessage,
)

__all__ = ["ARGUMENT_CHARS", "call_line", "entry_label", "error_lines", "folded"]

ARGUMENT_CHARS = 60
"""How much of a call's arguments, result or error one line shows."""

_ERROR_CHARS = 200
"""How much of an error's message or of one field of its body one line shows."""
_MARKS = {
    ToolCallStatus.CALLING: "…",
    ToolCallStatus.RUNNING: "…",
    ToolCallStatus.SUCCEEDED: "✓",
    ToolCallStatus.FAILED: "✗",
}


def folded(value: object, chars: int = ARGUMENT_CHARS) -> str:
    """`value` on one line of at most `chars` characters, secrets redacted (a string is
    shown as it is, any other value as compact JSON)."""
    if not isinstance(value, str):
        return value_text(value, chars)
    text = " ".join(redact_secrets(value).split())
    return text if len(text) <= chars else text[: chars - 1] + "\u2026"


def entry_label(entry: Entry) -> str:
    """What kind of entry this is, as a chat names it."""
    match entry:
        case UserMessage():
            return "you"
        case AssistantMessage():
            return "assistant"
        case Reasoning():
            return "thinking"
        case ToolCallEntry():
            return "tool"
        case ErrorEntry():
            return "error"


def call_line(call: ToolCallEntry) -> str:
    """``web/search({"q":"trio"}) ✓ succeeded → {"hits":3}``: the call on one line."""
    name = "/".join(part for part in (call.identifier, call.api_name) if part) or call.id
    arguments = folded(call.arguments) if call.arguments else ""
    line = f"{name}({arguments}) {_MARKS[call.status]} {call.status.value}"
    if call.client_executed:
        line += " (run here)"
    if call.status is ToolCallStatus.FAILED and call.error is not None:
        return f"{line} → {folded(call.error)}"
    if call.result is not None:
        return f"{line} → {folded(call.result)}"
    return line


def error_lines(error: ErrorEntry) -> list[str]:
    """The error's type and message, then one ``key: value`` line per field of its body
    (a body that is not an object is one line)."""
    head = folded(error.message, _ERROR_CHARS)
    lines = [f"{error.kind}: {head}" if error.kind else head]
    body = error.body
    if isinstance(body, dict):
        lines += (f"{key}: {folded(value, _ERROR_CHARS)}" for key, value in body.items())
    elif body is not None:
        lines.append(folded(body, _ERROR_CHARS))
    return lines
