"""Where one operation stands at a record: the key state and the transcript (time travel).

Owns: the lines ``gatewayops replay LOG --until N`` shows for each operation after its
``now:`` line (`snapshot_lines`), and the same as JSON (`snapshot_json`): the topic's
input button (``Stop`` while it is loading, ``Send`` once not), whether a stop was
requested, the token refresh, the resume buffer, the tool calls still owed a result,
and the transcript -- each message's reasoning and text, the tool calls shown, the
inline error. Text is bounded: a message longer than `MAX_SHOWN` characters shows its
end (what streamed last is what time travel is for), and at most `MAX_ITEMS` messages
and tool calls are listed, the latest. Redaction is the report's (`_report`), which
renders every line and value of this through `redact_secrets` / `redact_json`.

Must not know: how the log was read or replayed.
"""

from __future__ import annotations

from typing import Any

from gatewayops.store import GatewayState, Operation, is_input_loading

__all__ = ["MAX_ITEMS", "MAX_SHOWN", "snapshot_json", "snapshot_lines"]

MAX_SHOWN = 600
"""Characters of one message's text (or reasoning) shown in the text report."""

MAX_ITEMS = 20
"""Messages, and tool calls, listed in the text report (the latest)."""

_LABEL = 10


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


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


def snapshot_lines(op: Operation, state: GatewayState) -> list[str]:
    """The lines (indented two spaces) for where `op` stands in `state`."""
    transcript = op.transcript
    stop = "stop requested" if op.stop_requested else "no stop requested"
    ended = "ended" if transcript.ended else "not ended"
    lines = [
        _line("input", f"{_button(state, op)}; {stop}"),
        _line("refresh", _refresh(op)),
        _line("resume", _resume(op)),
        _line("tools owed", _owed(op)),
        _line(
            "transcript",
            f"{_count(len(transcript.messages), 'message')}, "
            f"{_count(len(transcript.tool_calls), 'tool call')}, "
            f"{_count(transcript.events, 'event')}; {ended}",
        ),
    ]
    messages = list(transcript.messages)
    if len(messages) > MAX_ITEMS:
        lines.append(f"    ... {_count(len(messages) - MAX_ITEMS, 'earlier message')}")
    for message in messages[-MAX_ITEMS:]:
        if message.reasoning:
            lines.append(_line("reasoning", _quoted(message.reasoning), 4))
        if message.text:
            lines.append(_line("text", _quoted(message.text), 4))
    calls = list(transcript.tool_calls)
    if len(calls) > MAX_ITEMS:
        lines.append(f"    ... {_count(len(calls) - MAX_ITEMS, 'earlier tool call')}")
    for call in calls[-MAX_ITEMS:]:
        where = " (run here)" if call.client_executed else ""
        lines.append(
            _line("tool", f"{call.identifier}/{call.api_name} {call.status.value}{where}", 4)
        )
    if transcript.error is not None:
        lines.append(_line("error", _quoted(transcript.error), 4))
    return lines


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
            "messages": [
                {"id": message.id, "reasoning": message.reasoning, "text": message.text}
                for message in transcript.messages
            ],
            "tool_calls": [
                {
                    "id": call.id,
                    "identifier": call.identifier,
                    "api_name": call.api_name,
                    "status": call.status.value,
                    "client_executed": call.client_executed,
                }
                for call in transcript.tool_calls
            ],
            "error": transcript.error,
            "events": transcript.events,
            "ended": transcript.ended,
        },
    }
