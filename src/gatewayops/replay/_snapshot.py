"""Where one operation stands at a record: the key state and the transcript (time travel).

Owns: the lines ``gatewayops replay LOG --until N`` shows for each operation after its
``now:`` line (`snapshot_lines`), and the same as JSON (`snapshot_json`): the topic's
input button (``Stop`` while it is loading, ``Send`` once not), whether a stop was
requested, the token refresh, the resume buffer, the tool calls still owed a result,
and the transcript -- its entries in order: prompts, reasoning, text, each tool call
inline (arguments folded, result or error), the inline error with its type and body.
Text is bounded: an entry longer than `MAX_SHOWN` characters shows its end (what
streamed last is what time travel is for), and at most `MAX_ITEMS` entries are
listed, the latest. Redaction is the report's (`_report`), which
renders every line and value of this through `redact_secrets` / `redact_json`.

Must not know: how the log was read or replayed.
"""

from __future__ import annotations

from typing import Any

import attrs

from gatewayops._chat_text import call_line, entry_label, error_lines
from gatewayops.store import (
    AssistantMessage,
    Entry,
    ErrorEntry,
    GatewayState,
    Operation,
    Reasoning,
    ToolCallEntry,
    ToolCallStatus,
    UserMessage,
    is_input_loading,
)

__all__ = ["MAX_ITEMS", "MAX_SHOWN", "snapshot_json", "snapshot_lines"]

MAX_SHOWN = 600
"""Characters of one entry's text shown in the text report."""

MAX_ITEMS = 20
"""Entries listed in the text report (the latest)."""

_LABEL = 10


def _count(number: int, noun: str, nouns: str = "") -> str:
    return f"{number} {noun if number == 1 else nouns or noun + 's'}"


def _quoted(text: str) -> str:
    """`text` quoted on one line; only its last `MAX_SHOWN` characters if longer."""
    if len(text) <= MAX_SHOWN:
        return repr(text)
    return f"(... {len(text) - MAX_SHOWN} characters before) {text[-MAX_SHOWN:]!r}"


def _button(state: GatewayState, op: Operation) -> str:
    return "Stop (loading)" if is_input_loading(state, op.topic_id) else "Send"


def _refresh(op: Operation) -> str:
    return f"{op.refresh.status.value} ({_count(op.refresh.attempts, 'attempt')})"


def _resume(op: Operation) -> str:
    if not op.resume.buffering:
        return op.resume.status.value
    return f"{op.resume.status.value} ({_count(len(op.resume.buffer), 'event')} held)"


def _owed(op: Operation) -> str:
    if not op.tools:
        return "none"
    return ", ".join(f"{tool.id} {tool.status.value}" for tool in op.tools.values())


def _line(label: str, text: str, indent: int = 2) -> str:
    return f"{' ' * indent}{label:<{_LABEL}} {text}"


def _entry_line(entry: Entry) -> list[str]:
    label = entry_label(entry)
    match entry:
        case UserMessage() | AssistantMessage() | Reasoning():
            return [_line(label, _quoted(entry.text), 4)] if entry.text else []
        case ToolCallEntry():
            return [_line(label, call_line(entry), 4)]
        case ErrorEntry():
            return [_line(label, line, 4) for line in error_lines(entry)]


def snapshot_lines(op: Operation, state: GatewayState) -> list[str]:
    """The lines (indented two spaces) for where `op` stands in `state`."""
    transcript = op.transcript
    stop = "stop requested" if op.stop_requested else "no stop requested"
    ended = "ended" if transcript.ended else "not ended"
    entries = list(transcript.entries)
    lines = [
        _line("input", f"{_button(state, op)}; {stop}"),
        _line("refresh", _refresh(op)),
        _line("resume", _resume(op)),
        _line("tools owed", _owed(op)),
        _line(
            "transcript",
            f"{_count(len(entries), 'entry', 'entries')}, "
            f"{_count(transcript.events, 'event')}; {ended}",
        ),
    ]
    if len(entries) > MAX_ITEMS:
        earlier = _count(len(entries) - MAX_ITEMS, "earlier entry", "earlier entries")
        lines.append(f"    ... {earlier}")
    for entry in entries[-MAX_ITEMS:]:
        lines += _entry_line(entry)
    return lines


def _entry_json(entry: Entry) -> dict[str, Any]:
    """An entry as JSON: what it is, then its fields (its text whole, a status by name)."""
    fields: dict[str, Any] = {"entry": entry_label(entry)}
    for field in attrs.fields(type(entry)):
        value = getattr(entry, field.name)
        if field.name == "text_pieces":
            fields["text"] = "".join(value)
        else:
            fields[field.name] = value.value if isinstance(value, ToolCallStatus) else value
    return fields


def snapshot_json(op: Operation, state: GatewayState) -> dict[str, Any]:
    """Where `op` stands in `state`, as JSON (the transcript in full)."""
    transcript = op.transcript
    return {
        "input_loading": is_input_loading(state, op.topic_id),
        "stop_requested": op.stop_requested,
        "refresh": {"status": op.refresh.status.value, "attempts": op.refresh.attempts},
        "resume": {"status": op.resume.status.value, "held": len(op.resume.buffer)},
        "tool_results_owed": {tool.id: tool.status.value for tool in op.tools.values()},
        "transcript": {
            "entries": [_entry_json(entry) for entry in transcript.entries],
            "events": transcript.events,
            "ended": transcript.ended,
        },
    }
