"""What the `demo`, `serve` and `watch` commands write, and how they end.

Owns: running a command's Trio main with clean endings (`run_command`: Ctrl-C is exit
130 without a traceback; an expected failure -- `CommandError`, a `LocalUsageError`,
an `OSError` -- is one line on stderr), the one-line description of an operation's
state (`describe`: socket status, "Stop" or "Send", tail of the streamed text,
outcome), the demo's `Board` (redrawn in place with ANSI escapes on a terminal, one
line per change otherwise), and plain tables.

Must not know: what a scenario is or how the gateway misbehaves. Never prints a token:
it only reads statuses, text and outcomes.
"""

from __future__ import annotations

import shutil
import signal
import sys
from collections.abc import Callable, Coroutine, Iterator, Sequence
from typing import Any, TextIO

import attrs
import trio

from gatewayops.exceptions import LocalUsageError
from gatewayops.store import Action, GatewayState, Operation, is_input_loading

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "Board",
    "CommandError",
    "describe",
    "leaves",
    "run_command",
    "table",
    "text_tail",
]

EXIT_OK = 0
EXIT_FAILED = 1
"""The command ran but what it checked or followed did not end well."""
EXIT_USAGE = 2
"""Bad arguments (argparse uses 2 too)."""
EXIT_INTERRUPTED = 130
"""Ctrl-C, as shells report SIGINT."""

_TAIL_CHARS = 36
_REDRAW_SECONDS = 0.1


class CommandError(Exception):
    """A failure the user can act on, shown as one line on stderr (exit 2 by default).

    Args:
        message: the line to show (no trailing period needed).
        exit_code: the process exit code.
    """

    def __init__(self, message: str, *, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def leaves(error: BaseException) -> Iterator[BaseException]:
    """The exceptions inside `error`, however deeply grouped (`error` itself if not a group)."""
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from leaves(inner)
    else:
        yield error


def _explain(error: BaseException) -> tuple[str, int] | None:
    """The one line and exit code for an expected failure, or None for a bug."""
    match error:
        case CommandError(exit_code=code):
            return str(error), code
        case LocalUsageError():
            return str(error), EXIT_USAGE
        case OSError(strerror=reason, filename=name) if reason:
            where = "" if name is None else f"{name}: "
            return where + reason[0].lower() + reason[1:], EXIT_FAILED
        case OSError():
            return str(error) or type(error).__name__, EXIT_FAILED
    return None


def _report(command: str, error: BaseException) -> int | None:
    """Print the ending of a failed run; its exit code, or None if `error` is a bug."""
    found = list(leaves(error))
    if found and all(isinstance(leaf, KeyboardInterrupt) for leaf in found):
        print(f"gatewayops {command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    explained = [_explain(leaf) for leaf in found]
    if not explained or None in explained:
        return None
    message, code = explained[0] or ("", EXIT_FAILED)
    print(f"gatewayops {command}: error: {message}", file=sys.stderr)
    return code


async def _until_interrupted(main: Callable[..., Coroutine[Any, Any, int]], *args: object) -> int:
    """Run ``main(*args)``; on SIGINT cancel it (so it closes cleanly), then raise
    KeyboardInterrupt.

    SIGINT is received explicitly (`trio.open_signal_receiver`) rather than left to Trio's
    KeyboardInterrupt injection, which was seen to lose a Ctrl-C now and then while a
    client sat idle; a received signal always ends the command.
    """
    interrupted = False
    async with trio.open_nursery() as nursery:

        async def on_sigint(*, task_status: trio.TaskStatus[None]) -> None:
            nonlocal interrupted
            with trio.open_signal_receiver(signal.SIGINT) as signals:
                task_status.started()
                async for _ in signals:
                    interrupted = True
                    nursery.cancel_scope.cancel()
                    return

        await nursery.start(on_sigint)
        code = await main(*args)
        nursery.cancel_scope.cancel()
    if interrupted:
        raise KeyboardInterrupt
    return code


def run_command(command: str, main: Callable[..., Coroutine[Any, Any, int]], *args: object) -> int:
    """Run ``main(*args)`` under Trio and return its exit code, ending cleanly.

    Ctrl-C cancels the command (its sockets close) and gives `EXIT_INTERRUPTED` (a second
    Ctrl-C while reporting it too); an expected failure (see `CommandError`) prints
    ``gatewayops COMMAND: error: ...`` on stderr. Anything else is a bug and propagates
    with its traceback.
    """
    try:
        return trio.run(_until_interrupted, main, *args)
    except BaseException as error:
        try:
            code = _report(command, error)
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED
        if code is None:
            raise
        return code


def text_tail(text: str, chars: int = _TAIL_CHARS) -> str:
    """The end of `text` on one line, quoted, with ``...`` when it was cut."""
    flat = " ".join(text.split())
    return repr(flat) if len(flat) <= chars else repr("..." + flat[-(chars - 3) :])


def _status(op: Operation, state: GatewayState) -> tuple[str, str, str]:
    """What a change line is printed for: socket status, button, outcome."""
    socket = "finished" if op.is_finished else str(op.connection.status)
    button = "Stop" if is_input_loading(state, op.topic_id) else "Send"
    ending = "" if op.outcome is None else f"{op.outcome.result}/{op.outcome.source}"
    return socket, button, ending


def describe(op: Operation, state: GatewayState, *, tail: int = _TAIL_CHARS) -> str:
    """One line: socket status, the topic's button ("Stop" while loading), text, outcome.

    Args:
        op: the operation.
        state: the state it is in (for the topic's loading flag).
        tail: how many characters of streamed text to show; below the default the
            outcome is shortened to its result (no source).
    """
    socket, button, ending = _status(op, state)
    if tail < _TAIL_CHARS:
        ending = ending.split("/")[0]
    line = f"{socket:<14} {button}  {text_tail(op.transcript.text, tail):<{tail + 2}}  {ending}"
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


class Board:
    """The demo's live view: one row per operation.

    On a terminal (`live`) the rows are redrawn in place by `animate`, fitted to the
    terminal's width; otherwise each row is printed as a timestamped line whenever its
    socket status, button or outcome changes (streamed text alone prints nothing).

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

    def listener(self, old: GatewayState, new: GatewayState, action: Action) -> None:
        """A `Client.subscribe` listener that keeps the rows current."""
        row = self._by_operation.get(action.operation_id)
        op = new.operations.get(action.operation_id)
        if row is None or op is None:
            return
        row.latest = (op, new)
        status = _status(op, new)
        if not self._live and status != row.status:
            elapsed = trio.current_time() - self._started
            line = f"{elapsed:6.2f}s  {row.label:<{self._width}}  {describe(op, new)}"
            print(line, file=self._out)
        row.status = status

    def _lines(self) -> list[str]:
        columns = shutil.get_terminal_size().columns
        # label, socket and button columns, two quotes, a short outcome, and the gaps
        fixed = 2 + self._width + 2 + 15 + 4 + 2 + 2 + 2 + len("interrupted") + 1
        tail = max(12, min(_TAIL_CHARS, columns - fixed))
        header = f"  {'scenario':<{self._width}}  {'socket':<14} input {'streamed':<{tail + 2}}"
        lines = [f"{header}  outcome"]
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
        self._out.write(up + "".join(f"\x1b[2K{line}\n" for line in lines))
        self._out.flush()
        self._drawn = len(lines)

    async def animate(self) -> None:
        """Redraw ten times a second until cancelled (live mode; returns at once otherwise)."""
        while self._live:
            self.draw()
            await trio.sleep(_REDRAW_SECONDS)
