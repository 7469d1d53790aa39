"""What the chat window shows, as plain data computed from the store's state.

Owns: the view model of the example app -- the composer (button label "Send" or
"Stop" from `is_input_loading`, disabled while a stop waits for the gateway), the
connection indicator (a plain sentence: "Connecting…", "Reconnecting (retry 2):
<why>", "Finished: completed"), what the message line says when a stop is
confirmed or fails ("Stop failed: <reason>"), the topic list labels and the transcript
lines (user prompts, then each run's entries in order -- reasoning, text, tool calls
inline, the error with its type and body -- and how it ended) -- as
pure functions of `GatewayState`, the store's actions and the turns a topic had.
Keeping them here, away from Tk, makes every rule a plain function a test can call.

Must not know: Tk, Trio, the client or the gateway.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from gatewayops._chat_text import call_line, error_lines
from gatewayops.store import (
    Action,
    AssistantMessage,
    ConnectionStatus,
    Entry,
    ErrorEntry,
    GatewayState,
    InterruptFailed,
    OperationStatus,
    Reasoning,
    Result,
    ToolCallEntry,
    UserMessage,
    concerned,
    is_input_loading,
    is_quiet,
    is_stopping,
    outcome,
    running_operation,
)

__all__ = [
    "PANE_LINE_CHARS",
    "ComposerView",
    "Indicator",
    "TranscriptEdit",
    "TranscriptLine",
    "Turn",
    "composer_view",
    "indicator",
    "stop_news",
    "topic_label",
    "trailing_run",
    "transcript_edit",
    "transcript_lines",
    "with_pane_breaks",
]

SEND = "Send"
STOP = "Stop"

_GOOD = "#2e7d32"
_BUSY = "#ef6c00"
_BAD = "#c62828"
_IDLE = "#757575"

_CONNECTIONS = {  # how the indicator says each socket status, and its colour
    ConnectionStatus.CONNECTED: ("Connected", _GOOD),
    ConnectionStatus.CONNECTING: ("Connecting…", _BUSY),
    ConnectionStatus.AUTHENTICATING: ("Authenticating…", _BUSY),
    ConnectionStatus.EXPIRED: ("Token expired: refreshing it…", _BUSY),
    ConnectionStatus.RECONNECTING: ("Reconnecting…", _BUSY),
    ConnectionStatus.DISCONNECTED: ("Disconnected", _IDLE),
}


@attrs.frozen(kw_only=True)
class Turn:
    """One operation the app followed on a topic, and the prompt that started it.

    Attributes:
        prompt: what the user sent; None for a run the app follows but did not start
            (``--url``), so no prompt is shown for it.
        operation_id: the operation.
    """

    prompt: str | None
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
    """The connection indicator of the topic's latest operation: a sentence and a colour."""

    text: str
    colour: str


@attrs.frozen(kw_only=True)
class TranscriptLine:
    """One line of the transcript pane, with the Text-widget tag that styles it."""

    text: str
    tag: str


@attrs.frozen(kw_only=True)
class TranscriptEdit:
    """The least change that turns the shown lines into new ones: a streamed chunk is
    appended where it belongs, never a redraw of the text before it.

    Attributes:
        grown: the line that only grew at its end (`suffix` is what it gained), if one did.
        suffix: the text to add at the end of line `grown`.
        rewrite_from: lines from this one on are deleted and the new ones written again
            (``len(new)`` when none is).
    """

    grown: int | None
    suffix: str
    rewrite_from: int


PANE_LINE_CHARS = 2_000
"""The longest line the transcript pane holds: Tk lays out a whole line again whenever
it changes, so a chunk appended to a 100k-character line without a newline would cost
hundreds of milliseconds; the pane breaks such a line every this many characters."""


def trailing_run(text: str) -> int:
    """How many characters `text` ends with after its last newline."""
    return len(text) - text.rfind("\n") - 1


def with_pane_breaks(text: str, run: int = 0) -> str:
    """`text` as the pane holds it: a newline added wherever a run of characters without
    one would exceed `PANE_LINE_CHARS`; `run` is the length of the run before `text`, in
    the text itself (so text appended later breaks where the whole text written at once
    would)."""
    run = (run - 1) % PANE_LINE_CHARS + 1 if run else 0  # the pane's line broke already
    pieces: list[str] = []
    for index, part in enumerate(text.split("\n")):
        if index:
            pieces.append("\n")
            run = 0
        while run + len(part) > PANE_LINE_CHARS:
            cut = PANE_LINE_CHARS - run
            pieces += (part[:cut], "\n")
            part, run = part[cut:], 0
        pieces.append(part)
        run += len(part)
    return "".join(pieces)


def transcript_edit(
    shown: Sequence[TranscriptLine], new: Sequence[TranscriptLine]
) -> TranscriptEdit:
    """How to turn the lines `shown` into `new`: the first line that differs grows (when
    it only gained text at its end, in the same style) or is rewritten, with the rest."""
    first = 0
    for old, line in zip(shown, new, strict=False):
        if old != line:
            break
        first += 1
    if first == len(shown) == len(new):
        return TranscriptEdit(grown=None, suffix="", rewrite_from=first)
    if first < min(len(shown), len(new)):
        old, line = shown[first], new[first]
        if old.tag == line.tag and line.text.startswith(old.text):
            suffix = line.text[len(old.text) :]
            return TranscriptEdit(grown=first, suffix=suffix, rewrite_from=first + 1)
    return TranscriptEdit(grown=None, suffix="", rewrite_from=first)


def composer_view(state: GatewayState, topic_id: str) -> ComposerView:
    """The composer of `topic_id`: "Stop" exactly while `is_input_loading` is true."""
    loading = is_input_loading(state, topic_id)
    running = running_operation(state, topic_id)
    stopping = running is not None and is_stopping(state, running.id)
    return ComposerView(button_text=STOP if loading else SEND, loading=loading, stopping=stopping)


def _words(result: Result) -> str:
    """A result as words: ``auth_failed`` reads "auth failed"."""
    return result.value.replace("_", " ")


def indicator(state: GatewayState, operation_id: str | None) -> Indicator:
    """How the latest operation of a topic stands, in a sentence: its socket while it
    runs ("Connected", "Reconnecting (retry 2): <the last problem>"), else its end
    ("Finished: completed")."""
    op = None if operation_id is None else state.operations.get(operation_id)
    if op is None:
        return Indicator(text="Idle: nothing sent on this topic yet", colour=_IDLE)
    if op.outcome is not None:
        colour = _GOOD if op.outcome.succeeded else _BAD
        if op.outcome.result is Result.INTERRUPTED:
            colour = _IDLE
        return Indicator(text=f"Finished: {_words(op.outcome.result)}", colour=colour)
    if op.status is OperationStatus.DETACHED:
        return Indicator(text="Detached: no longer following the run", colour=_IDLE)
    link = state.link_of(op)
    if is_quiet(state, op.id):  # connected, but nothing but heartbeat acks for a while
        minutes = state.config.quiet_after_ms / 60_000
        return Indicator(text=f"Connected, no news for {minutes:g} min", colour=_IDLE)
    if link.status is ConnectionStatus.RECONNECTING and op.last_problem:  # why, in one line
        text = f"Reconnecting (retry {link.attempt}): {op.last_problem}"
        return Indicator(text=text, colour=_BUSY)
    text, colour = _CONNECTIONS[link.status]
    return Indicator(text=text, colour=colour)


def stop_news(old: GatewayState, new: GatewayState, action: Action) -> str | None:
    """What the message line says when `action` (taking `old` to `new`) settled a stop.

    A stopping run that ended interrupted: "Stopped: the run was interrupted." An
    interrupt the gateway refused, or that could not be asked, leaves the run going and
    the Stop button enabled again: "Stop failed: <reason>". Anything else: None.
    """
    if isinstance(action, InterruptFailed):
        return f"Stop failed: {action.error}"
    operation_id = concerned(new, action)[1]
    if operation_id is None or not is_stopping(old, operation_id):
        return None
    ended = outcome(new, operation_id)
    if ended is None or ended.result is not Result.INTERRUPTED:
        return None
    return "Stopped: the run was interrupted."


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


def _entry_lines(entry: Entry, prompt: str | None) -> list[TranscriptLine]:
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
    """The transcript pane of a topic: each turn's prompt (or, for a run the app did not
    start, a note naming it), then what its run streamed.

    The entries of each run's transcript follow in order (reasoning, text, each tool
    call inline where it ran, the inline error with its type and body), then how the
    run ended.
    """
    lines: list[TranscriptLine] = []
    for turn in turns:
        if turn.prompt is None:
            note = f"Following {turn.operation_id}, a run started elsewhere"
            lines.append(TranscriptLine(text=note, tag="note"))
        else:
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
