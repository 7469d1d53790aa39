"""The transcript pane is edited, not redrawn: a chunk is inserted at the end of its line.

`transcript_edit` (pure) says what changed; `with_pane_breaks` keeps every line of the
pane under `PANE_LINE_CHARS` (Tk lays a changed line out whole); `ChatWindow.show_transcript`
applies the edit, and what the pane holds is what writing all the lines at once would
give, whatever the order of growth, insertions and removals. The entries appear in
transcript order, with tool calls inline.
"""

from __future__ import annotations

import tkinter
from collections.abc import Iterator

import pytest

from gatewayops.gui import ChatWindow
from gatewayops.gui._view import (
    PANE_LINE_CHARS,
    TranscriptEdit,
    TranscriptLine,
    Turn,
    trailing_run,
    transcript_edit,
    transcript_lines,
    with_pane_breaks,
)
from gatewayops.protocol import AgentEvent, AgentEventMessage, AuthSuccess
from gatewayops.store import (
    Action,
    GatewayState,
    MessageReceived,
    OperationStarted,
    SocketOpened,
    reduce,
)

OP = "op-1"


def _line(text: str, tag: str = "assistant") -> TranscriptLine:
    return TranscriptLine(text=text, tag=tag)


def test_a_line_that_only_grew_is_appended_to() -> None:
    """A last line that gained text at its end grows by that suffix; nothing is rewritten."""
    shown = (_line("You: hi", "user"), _line("Assistant: Hel"))
    new = (shown[0], _line("Assistant: Hello"))
    assert transcript_edit(shown, new) == TranscriptEdit(grown=1, suffix="lo", rewrite_from=2)


def test_a_changed_line_and_the_rest_are_rewritten() -> None:
    """A line replaced (a snapshot, another style) is rewritten with every line after it."""
    shown = (_line("a"), _line("Assistant: draft"), _line("— completed", "outcome"))
    new = (_line("a"), _line("Assistant: final"), _line("— completed", "outcome"))
    assert transcript_edit(shown, new) == TranscriptEdit(grown=None, suffix="", rewrite_from=1)
    restyled = (_line("a"), _line("Assistant: draft!", "error"))
    assert transcript_edit(shown, restyled).rewrite_from == 1


def test_nothing_changed_is_no_edit() -> None:
    """The same lines give an edit that changes nothing."""
    lines = (_line("a"), _line("b"))
    assert transcript_edit(lines, lines) == TranscriptEdit(grown=None, suffix="", rewrite_from=2)


def test_long_lines_are_broken_where_writing_them_whole_would_break_them() -> None:
    """A run without a newline is broken every PANE_LINE_CHARS characters, and appending
    in pieces breaks at the same places as writing the text at once."""
    text = "x" * (2 * PANE_LINE_CHARS + 5) + "\nshort\n" + "y" * PANE_LINE_CHARS
    whole = with_pane_breaks(text)
    assert max(len(part) for part in whole.split("\n")) == PANE_LINE_CHARS
    assert whole.replace("\n", "") == text.replace("\n", "")
    pieces, shown = "", ""
    for start in range(0, len(text), 333):
        piece = text[start : start + 333]
        pieces += with_pane_breaks(piece, trailing_run(shown))
        shown += piece
    assert pieces == whole


@pytest.fixture
def window(x_display: str) -> Iterator[ChatWindow]:
    """A bare chat window (no session) on the virtual screen."""
    root = tkinter.Tk()
    try:
        yield ChatWindow(root)
    finally:
        root.destroy()


def _pane(window: ChatWindow) -> str:
    return window.transcript.get("1.0", "end - 1c")


def _written(lines: tuple[TranscriptLine, ...]) -> str:
    return "".join(with_pane_breaks(line.text) + "\n" for line in lines)


def test_the_pane_holds_what_writing_every_line_would(window: ChatWindow) -> None:
    """Growing the last line, growing a middle one, adding, replacing and removing lines:
    after each, the pane holds exactly the lines, each in its style."""
    steps = [
        (_line("You: hi", "user"),),
        (_line("You: hi", "user"), _line("Assistant: Let")),
        (_line("You: hi", "user"), _line("Assistant: Let me" + "e" * PANE_LINE_CHARS)),
        (
            _line("You: hi", "user"),
            _line("Assistant: Let me" + "e" * PANE_LINE_CHARS + " look"),
            _line("  tool web/search() … running", "tool"),
        ),
        (
            _line("You: hi", "user"),
            _line("Assistant: Let me" + "e" * PANE_LINE_CHARS + " look."),
            _line("  tool web/search() ✓ succeeded", "tool"),
        ),
        (_line("You: hi", "user"), _line("Assistant: replaced")),
    ]
    for lines in steps:
        window.show_transcript(lines)
        assert _pane(window) == _written(lines)
        for index, line in enumerate(lines):  # each line starts in its own style
            assert line.tag in window.transcript.tag_names(f"transcript_line_{index}")
    assert window.transcript.tag_ranges("tool") == ()  # the tool line went with the last step


def _event(type_: str, data: object) -> MessageReceived:
    event = AgentEvent(type=type_, operation_id=OP, data=data)
    return MessageReceived(link_id=OP, generation=1, message=AgentEventMessage(event=event))


def test_a_tool_call_is_shown_where_it_ran(window: ChatWindow) -> None:
    """The pane shows the text, then the tool call inline, then the answer."""
    call = {"id": "c1", "identifier": "web", "apiName": "search", "arguments": '{"q":"t"}'}
    actions: list[Action] = [
        OperationStarted(operation_id=OP, topic_id="t", gateway_url="ws://x", token="x"),
        SocketOpened(link_id=OP, generation=1),
        MessageReceived(link_id=OP, generation=1, message=AuthSuccess()),
        _event("stream_start", {"assistantMessage": {"id": "m1"}}),
        _event("stream_chunk", {"chunkType": "text", "content": "Let me look that up."}),
        _event("tool_start", {"parentMessageId": "m1", "toolCalling": call}),
        _event("tool_end", {"isSuccess": True, "payload": call, "result": "3 hits"}),
        _event("stream_start", {"assistantMessage": {"id": "m2"}}),
        _event("stream_chunk", {"chunkType": "text", "content": "Found it."}),
    ]
    state = GatewayState()
    for action in actions:
        state = reduce(state, action).state
        window.show_transcript(transcript_lines(state, (Turn(prompt="hi", operation_id=OP),)))
    assert _pane(window).splitlines() == [
        "You: hi",
        "Assistant: Let me look that up.",
        '  tool web/search({"q":"t"}) ✓ succeeded → 3 hits',
        "Assistant: Found it.",
    ]
