"""What the `demo`, `serve` and `watch` commands show, and how their Trio runs end.

Owns: `run_command`, which runs a command's Trio main under the signal rule of
`_endings` (SIGINT or SIGTERM cancels the main, so its sockets close and its
recordings are finished, then `CommandSignalled` ends the command: exit 130 or 143,
one line) and reports an expected failure as one line; the one-line description of an
operation's state (`describe`: socket status, the composer's button -- "Answer" while
the run waits for the user, else "Stop" or "Send" -- tail of the streamed text,
outcome); the demo's `Board` (redrawn in place with ANSI escapes on a terminal,
fitted to its width; otherwise a header line, then one line per change, fitted to 80
columns); and plain tables.

Must not know: what a scenario is or how the gateway misbehaves. Prints through
`say`, which redacts anything shaped like a token; statuses, text and outcomes are
all it reads.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from typing import Any, TextIO

import attrs
import trio

from gatewayops._secrets import redact_secrets
from gatewayops.cli._endings import (
    ENDING_SIGNALS,
    CommandSignalled,
    on_ending_signals,
    report_failure,
    say,
)
from gatewayops.store import (
    Action,
    GatewayState,
    Operation,
    concerned,
    is_input_loading,
    is_quiet,
    is_waiting_for_human,
)

__all__ = [
    "PLAIN_COLUMNS",
    "Board",
    "describe",
    "run_command",
    "table",
    "text_tail",
]

_TAIL_CHARS = 36
_BUTTON_CHARS = len("Answer")
_REDRAW_SECONDS = 0.1
PLAIN_COLUMNS = 80
"""Off a terminal, the board's lines fit this many columns."""

CommandMain = Callable[..., Coroutine[Any, Any, int]]


async def _cancel_on_signal(
    signals: AsyncIterator[int], noted: list[int], scope: trio.CancelScope
) -> None:
    """Cancel `scope` at the first ending signal (or at once if one came already)."""
    if not noted:
        async for signum in signals:
            noted.append(signum)
            break
    scope.cancel()


async def _until_signalled(noted: list[int], main: CommandMain, *args: object) -> int | None:
    """``main(*args)``'s exit code, or None if an ending signal cancelled it first.

    The signals are received explicitly (`trio.open_signal_receiver`) for the whole of
    `main`, so one always ends the command, however idle, and never interrupts Trio
    mid-step. Before and after that, `run_command`'s handler notes them in `noted`.
    """
    code = None
    with trio.open_signal_receiver(*ENDING_SIGNALS) as signals:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_cancel_on_signal, signals, noted, nursery.cancel_scope)
            code = await main(*args)
            nursery.cancel_scope.cancel()
    return code


def run_command(command: str, main: CommandMain, *args: object) -> int:
    """Run ``main(*args)`` under Trio and return its exit code, ending cleanly.

    An ending signal (SIGINT, SIGTERM) cancels the command (its sockets close, its
    recordings are finished), then raises `CommandSignalled` for `cli.main` to report; an
    expected failure prints ``gatewayops COMMAND: error: ...`` on stderr. Anything else
    is a bug and propagates with its traceback.
    """
    noted: list[int] = []
    try:
        with on_ending_signals(noted.append):
            code = trio.run(_until_signalled, noted, main, *args)
    except BaseException as error:
        reported = report_failure(command, error)
        if reported is None:
            raise
        return reported
    if noted or code is None:  # only an ending signal (always noted) cancels `main`
        raise CommandSignalled(noted[0])
    return code


def text_tail(text: str, chars: int = _TAIL_CHARS) -> str:
    """The end of `text` on one line, quoted, with ``...`` when it was cut.

    Secrets are redacted before the cut: a token cut in half would no longer look like one.
    """
    flat = " ".join(redact_secrets(text).split())
    return repr(flat) if len(flat) <= chars else repr("..." + flat[-(chars - 3) :])


def _button(op: Operation, state: GatewayState) -> str:
    """The topic's composer button: the question's Answer while the run waits for the
    user, Stop while it loads otherwise, else Send."""
    if is_waiting_for_human(state, op.topic_id):
        return "Answer"
    return "Stop" if is_input_loading(state, op.topic_id) else "Send"


def _status(op: Operation, state: GatewayState) -> tuple[str, str, str]:
    """What a change line is printed for: socket status, button, outcome."""
    socket = "finished" if op.is_finished else str(state.link_of(op).status)
    if is_quiet(state, op.id):
        socket = "quiet"  # connected, but no news from the server for quiet_after_ms
    button = _button(op, state)
    ending = "" if op.outcome is None else f"{op.outcome.result}/{op.outcome.source}"
    return socket, button, ending


def describe(op: Operation, state: GatewayState, *, tail: int = _TAIL_CHARS) -> str:
    """One line: socket status, the topic's button ("Answer" while the run waits for the
    user, "Stop" while it loads otherwise), text, outcome.

    Args:
        op: the operation.
        state: the state it is in (for the topic's loading flag).
        tail: how many characters of streamed text to show; below the default the
            outcome is shortened to its result (no source).
    """
    socket, button, ending = _status(op, state)
    if tail < _TAIL_CHARS:
        ending = ending.split("/")[0]
    streamed = text_tail(op.transcript.text, tail)
    line = f"{socket:<14} {button:<{_BUTTON_CHARS}}  {streamed:<{tail + 2}}  {ending}"
    return line.rstrip()


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A left-aligned plain-text table (no trailing spaces)."""
    widths = [len(header) for header in headers]
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    lines = [headers, ["-" * width for width in widths], *rows]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


@attrs.define
class _Row:
    label: str
    operation_id: str
    latest: tuple[Operation, GatewayState] | None = None
    status: tuple[str, str, str] | None = None


def _tail_chars(columns: int, lead: int) -> int:
    """How much streamed text fits a row of `columns` whose label ends at `lead`."""
    # socket and button columns, two quotes, a short outcome, the gaps, one spare column
    fixed = lead + 15 + _BUTTON_CHARS + 2 + 2 + 2 + len("interrupted") + 1
    return max(12, min(_TAIL_CHARS, columns - fixed))


def _columns(label_width: int, tail: int) -> str:
    """The header of the columns from the label on."""
    socket, button = f"{'socket':<14}", f"{'input':<{_BUTTON_CHARS}}"
    return f"{'scenario':<{label_width}}  {socket} {button}  {'streamed':<{tail + 2}}  outcome"


class Board:
    """The demo's live view: one row per operation.

    On a terminal (`live`) the rows are redrawn in place by `animate`, fitted to the
    terminal's width; otherwise a header line names the columns, then each row is
    printed as a timestamped line, fitted to `PLAIN_COLUMNS`, whenever its socket
    status, button or outcome changes (streamed text alone prints nothing).

    Args:
        rows: ``(label, operation_id)`` pairs, in display order.
        out: where to write.
        live: redraw in place with ANSI escapes.
    """

    def __init__(self, rows: Sequence[tuple[str, str]], out: TextIO, *, live: bool) -> None:
        self._rows = [_Row(label, operation_id) for label, operation_id in rows]
        self._by_operation = {row.operation_id: row for row in self._rows}
        self._width = max((len(label) for label, _ in rows), default=0)
        self._out = out
        self._live = live
        self._drawn = 0
        self._started = trio.current_time()
        self._plain_tail = _tail_chars(PLAIN_COLUMNS, 7 + 2 + self._width + 2)
        self._headed = False

    def listener(self, old: GatewayState, new: GatewayState, action: Action) -> None:
        """A `Client.subscribe` listener that keeps the rows current."""
        operation_id = concerned(new, action)[1]
        row = None if operation_id is None else self._by_operation.get(operation_id)
        op = None if operation_id is None else new.operations.get(operation_id)
        if row is None or op is None:
            return
        row.latest = (op, new)
        status = _status(op, new)
        if not self._live and status != row.status:
            if not self._headed:
                say(f"{'time':>7}  {_columns(self._width, self._plain_tail)}", file=self._out)
                self._headed = True
            elapsed = trio.current_time() - self._started
            shown = describe(op, new, tail=self._plain_tail)
            say(f"{elapsed:6.2f}s  {row.label:<{self._width}}  {shown}", file=self._out)
        row.status = status

    def _lines(self) -> list[str]:
        columns = shutil.get_terminal_size().columns
        tail = _tail_chars(columns, 2 + self._width + 2)
        lines = [f"  {_columns(self._width, tail)}"]
        for row in self._rows:
            shown = "waiting" if row.latest is None else describe(*row.latest, tail=tail)
            lines.append(f"  {row.label:<{self._width}}  {shown}")
        return [line[: max(20, columns - 1)] for line in lines]

    def draw(self) -> None:
        """Redraw every row in place (live mode only)."""
        if not self._live:
            return
        lines = self._lines()
        up = f"\x1b[{self._drawn}F" if self._drawn else ""
        say(up + "\n".join(f"\x1b[2K{line}" for line in lines), file=self._out)
        self._drawn = len(lines)

    async def animate(self) -> None:
        """Redraw ten times a second until cancelled (live mode; returns at once otherwise)."""
        while self._live:
            self.draw()
            await trio.sleep(_REDRAW_SECONDS)
