"""What the chat window shows, as plain data computed from the store's state.

Owns: the view model of the example app -- the composer (button label "Send" or
"Stop" from `is_input_loading`), the connection indicator, the topic list labels and
the transcript lines (user prompts, then each run's entries in order -- reasoning,
text, tool calls inline, the error with its type and body -- and how it ended) --
as pure functions of `GatewayState` and the turns a topic had. Keeping them here,
away from Tk, makes every rule a plain function a test can call.

Must not know: Tk, Trio, the client or the gateway.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from gatewayops._chat_text import call_line, error_lines
from gatewayops.store import (
    AssistantMessage,
    ConnectionStatus,
    Entry,
    ErrorEntry,
    GatewayState,
    OperationStatus,
    Reasoning,
    Result,
    ToolCallEntry,
    UserMessage,
    is_input_loading,
    is_quiet,
    is_stopping,
    running_operation,
)

__all__ = [
    "ComposerView",
    "Indicator",
    "TranscriptLine",
    "Turn",
    "composer_view",
    "indicator",
    "topic_label",
    "transcript_lines",
]

SEND = "Send"
STOP = "Stop"

_GOOD = "#2e7d32"
_BUSY = "#ef6c00"
_BAD = "#c62828"
_IDLE = "#757575"

_CONNECTION_COLOURS = {
    ConnectionStatus.CONNECTED: _GOOD,
    ConnectionStatus.CONNECTING: _BUSY,
    ConnectionStatus.AUTHENTICATING: _BUSY,
    ConnectionStatus.EXPIRED: _BUSY,
    ConnectionStatus.RECONNECTING: _BUSY,
    ConnectionStatus.DISCONNECTED: _IDLE,
}


@attrs.frozen(kw_only=True)
class Turn:
    """One message the user sent on a topic and the operation that answered it."""

    prompt: str
    operation_id: str


@attrs.frozen(kw_only=True)
class ComposerView:
    """The composer's button.

    Attributes:
        button_text: ``"Send"`` while the topic's input is not loading, else ``"Stop"``.
        loading: `is_input_loading` for the topic.
        stopping: a stop was requested and not yet confirmed (the button is disabled).
    """

    button_text: str
    loading: bool
    stopping: bool


@attrs.frozen(kw_only=True)
class Indicator:
    """The connection indicator of the topic's latest operation: a text and a colour."""

    text: str
    colour: str


@attrs.frozen(kw_only=True)
class TranscriptLine:
    """One line of the transcript pane, with the Text-widget tag that styles it."""

    text: str
    tag: str


def composer_view(state: GatewayState, topic_id: str) -> ComposerView:
    """The composer of `topic_id`: "Stop" exactly while `is_input_loading` is true."""
    loading = is_input_loading(state, topic_id)
    running = running_operation(state, topic_id)
    stopping = running is not None and is_stopping(state, running.id)
    return ComposerView(button_text=STOP if loading else SEND, loading=loading, stopping=stopping)


def indicator(state: GatewayState, operation_id: str | None) -> Indicator:
    """How the latest operation of a topic stands: its socket while it runs, else its end."""
    op = None if operation_id is None else state.operations.get(operation_id)
    if op is None:
        return Indicator(text="● idle", colour=_IDLE)
    if op.outcome is not None:
        colour = _GOOD if op.outcome.succeeded else _BAD
        if op.outcome.result is Result.INTERRUPTED:
            colour = _IDLE
        return Indicator(text=f"● finished: {op.outcome.result.value}", colour=colour)
    if op.status is not OperationStatus.RUNNING:
        return Indicator(text=f"● {op.status.value}", colour=_IDLE)
    status = state.link_of(op).status
    if is_quiet(state, op.id):  # connected, but nothing but heartbeat acks for a while
        minutes = state.config.quiet_after_ms / 60_000
        return Indicator(text=f"● connected, no news for {minutes:g} min", colour=_IDLE)
    if status is ConnectionStatus.RECONNECTING and op.last_problem:  # why, in one line
        text = f"● reconnecting (retry {state.link_of(op).attempt}): {op.last_problem}"
        return Indicator(text=text, colour=_BUSY)
    return Indicator(text=f"● {status.value}", colour=_CONNECTION_COLOURS[status])


def topic_label(state: GatewayState, topic_id: str) -> str:
    """A topic's entry in the list: a running marker while its input is loading."""
    return f"▶ {topic_id}" if is_input_loading(state, topic_id) else f"   {topic_id}"


def _outcome_line(state: GatewayState, operation_id: str) -> TranscriptLine | None:
    op = state.operations.get(operation_id)
    if op is None or op.outcome is None:
        return None
    detail = f" ({op.outcome.detail})" if op.outcome.detail else ""
    text = f"— {op.outcome.result.value} via {op.outcome.source.value}{detail}"
    return TranscriptLine(text=text, tag="outcome")


def _entry_lines(entry: Entry, prompt: str) -> list[TranscriptLine]:
    match entry:
        case UserMessage(text=text):
            shown = text and text != prompt  # the turn's own prompt is already shown
            return [TranscriptLine(text=f"You: {text}", tag="user")] if shown else []
        case AssistantMessage():
            text = entry.text
            return [TranscriptLine(text=f"Assistant: {text}", tag="assistant")] if text else []
        case Reasoning():
            text = entry.text
            return [TranscriptLine(text=f"  thinking: {text}", tag="reasoning")] if text else []
        case ToolCallEntry():
            return [TranscriptLine(text=f"  tool {call_line(entry)}", tag="tool")]
        case ErrorEntry():
            first, *more = error_lines(entry)
            return [
                TranscriptLine(text=f"Error: {first}", tag="error"),
                *(TranscriptLine(text=f"  {line}", tag="error") for line in more),
            ]


def transcript_lines(state: GatewayState, turns: Sequence[Turn]) -> tuple[TranscriptLine, ...]:
    """The transcript pane of a topic: each turn's prompt, then what its run showed.

    The entries of each run's transcript in order (reasoning, text, each tool call
    inline where it ran, the inline error with its type and body), then how the run
    ended.
    """
    lines: list[TranscriptLine] = []
    for turn in turns:
        lines.append(TranscriptLine(text=f"You: {turn.prompt}", tag="user"))
        op = state.operations.get(turn.operation_id)
        if op is None:
            continue
        for entry in op.transcript.entries:
            lines += _entry_lines(entry, turn.prompt)
        ending = _outcome_line(state, turn.operation_id)
        if ending is not None:
            lines.append(ending)
    return tuple(lines)
