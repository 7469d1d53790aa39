"""What `gatewayops watch` prints for one change of a followed operation.

Owns: `changes`, the lines of one change -- the link's new status (while reconnecting,
which retry comes, within what delay, and why), the transcript's entries that appeared
or changed, in order (streamed text and reasoning as deltas, each tool call inline, a
user message, an error with its type and body), a new problem, the bad-frame count, a
stop requested.

Must not know: arguments, the client, or how the lines reach the terminal.
"""

from __future__ import annotations

from gatewayops._chat_text import call_line, error_lines
from gatewayops.store import (
    AssistantMessage,
    ConnectionStatus,
    Entry,
    ErrorEntry,
    Link,
    Operation,
    Reasoning,
    StoreConfig,
    ToolCallEntry,
    Transcript,
    UserMessage,
    backoff_delay_ms,
)

__all__ = ["changes"]


def _text_delta(label: str, old: str, new: str) -> list[str]:
    if new == old:
        return []
    if new.startswith(old):
        return [f"{label:<10} {new[len(old) :]!r}"]
    return [f"{label:<10} (replaced) {new!r}"]


def _entry_lines(old: Entry | None, new: Entry) -> list[str]:
    """What changed in one entry (`old` is what stood at its place before, if anything)."""
    same = old is not None and type(old) is type(new) and old.id == new.id
    match new:
        case AssistantMessage() | Reasoning():
            label = "text" if isinstance(new, AssistantMessage) else "reasoning"
            before = old.text if same and isinstance(old, AssistantMessage | Reasoning) else ""
            return _text_delta(label, before, new.text)
        case ToolCallEntry():
            if same and isinstance(old, ToolCallEntry) and old.status is new.status:
                return []  # the model still writing its arguments: shown when it runs
            return [f"{'tool':<10} {call_line(new)}"]
        case UserMessage() | ErrorEntry() if new == old:
            return []
        case UserMessage():
            return [f"{'you':<10} {new.text!r}"]
        case ErrorEntry():
            return [f"{'error':<10} {line}" for line in error_lines(new)]


def _transcript_lines(old: Transcript, new: Transcript) -> list[str]:
    """The entries that appeared or changed, in the transcript's order."""
    lines: list[str] = []
    before = old.entries
    for index, entry in enumerate(new.entries):
        previous = before[index] if index < len(before) else None
        if previous is not entry:
            lines += _entry_lines(previous, entry)
    return lines


def _socket_line(op: Operation, link: Link, config: StoreConfig) -> str:
    """The link's new status; while reconnecting, which retry comes, when, and why."""
    if link.status is not ConnectionStatus.RECONNECTING:
        return f"{'socket':<10} {link.status}"
    delay = backoff_delay_ms(config, link.attempt) / 1000  # jitter shortens it, never more
    why = f": {op.last_problem}" if op.last_problem else ""
    return f"{'socket':<10} retry {link.attempt} within {delay:g} s{why}"


def changes(
    old: Operation | None,
    new: Operation,
    old_link: Link | None,
    new_link: Link,
    config: StoreConfig,
) -> list[str]:
    """The lines `watch` prints for one change of the followed operation (and its link
    before and after; `config` gives the backoff delays)."""
    lines = _transcript_lines(old.transcript if old else Transcript(), new.transcript)
    moved = old_link is None or old_link.status is not new_link.status
    if moved:
        socket = _socket_line(new, new_link, config)
        # a finishing snapshot shows what streamed first; otherwise the socket comes first
        lines = [*lines, socket] if new.is_finished else [socket, *lines]
    named = moved and new_link.status is ConnectionStatus.RECONNECTING  # by the retry line
    fresh = old is None or old.last_problem != new.last_problem
    if new.last_problem and fresh and not named:
        lines.append(f"{'problem':<10} {new.last_problem}")
    if new.bad_frames and (old is None or old.bad_frames != new.bad_frames):
        lines.append(f"{'problem':<10} bad frames so far: {new.bad_frames}")
    if old is not None and not old.stop_requested and new.stop_requested:
        lines.append(f"{'stop':<10} requested")
    return lines
