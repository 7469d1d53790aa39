"""How every command ends, and what it prints on the way.

Owns: the exit codes the commands share; `CommandError` and `report_failure` (an
expected failure -- a `CommandError`, a `LocalUsageError`, an `OSError` -- is one line
on stderr, never a traceback); the one rule for signals; and `say`, through which
every line a command prints goes, so that anything shaped like a token (a JWT, a
``Bearer`` credential, a ``token=`` URL value) is redacted first.

The signal rule: SIGINT and SIGTERM end any command the same way. The command is
cancelled or unwound, so its sockets close and its recordings are finished; then it
prints one line, ``gatewayops COMMAND: interrupted`` (SIGINT) or ``... terminated``
(SIGTERM), and exits with 128 + the signal's number (130, 143). A further signal while
it ends changes nothing. `main` runs every command's handler inside
`on_ending_signals(raise_signalled)` and turns a `CommandSignalled` into that ending
(`end_by_signal`); code that must not be interrupted mid-step (a Trio run, Tk's loop)
takes the signal as a plain call instead (`on_ending_signals(note)`), cancels itself,
and raises `CommandSignalled` once it has finished cleaning up.

Must not know: Trio or Tk (the replay command imports this and never imports Trio), or
what any command does.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn, TextIO

from gatewayops._secrets import redact_secrets
from gatewayops.exceptions import LocalUsageError

__all__ = [
    "ENDING_SIGNALS",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CommandError",
    "CommandSignalled",
    "end_by_signal",
    "ending_signal",
    "leaves",
    "on_ending_signals",
    "raise_signalled",
    "report_failure",
    "say",
]

EXIT_OK = 0
EXIT_FAILED = 1
"""The command ran but what it checked or followed did not end well."""
EXIT_USAGE = 2
"""Bad arguments (argparse uses 2 too)."""

ENDING_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""The signals that end a command cleanly (exit 128 + the signal's number)."""

_ENDINGS: dict[int, str] = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}


class CommandError(Exception):
    """A failure the user can act on, shown as one line on stderr (exit 2 by default).

    Args:
        message: the line to show (no trailing period needed).
        exit_code: the process exit code.
    """

    def __init__(self, message: str, *, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class CommandSignalled(BaseException):
    """The command was ended by an ending signal (a `BaseException`, like Ctrl-C's).

    Args:
        signum: the signal's number.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def say(text: str, *, file: TextIO | None = None) -> None:
    """Print `text` and a newline (to stdout by default), secrets redacted, and flush."""
    out = sys.stdout if file is None else file
    out.write(redact_secrets(text) + "\n")
    out.flush()


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


def report_failure(command: str, error: BaseException) -> int | None:
    """Print the one line for an expected failure; its exit code, or None if `error` is
    anything else (a bug, or an ending signal, which `end_by_signal` reports)."""
    explained = [_explain(leaf) for leaf in leaves(error)]
    if not explained or None in explained:
        return None
    message, code = explained[0] or ("", EXIT_FAILED)
    say(f"gatewayops {command}: error: {message}", file=sys.stderr)
    return code


@contextmanager
def on_ending_signals(handler: Callable[[int], object]) -> Iterator[None]:
    """For the block, call ``handler(signum)`` on SIGINT or SIGTERM (main thread only).

    The handlers in place before are restored on leaving the block.
    """
    previous = {signum: signal.getsignal(signum) for signum in ENDING_SIGNALS}
    for signum in ENDING_SIGNALS:
        signal.signal(signum, lambda number, _frame: handler(number))
    try:
        yield
    finally:
        for signum, restored in previous.items():
            signal.signal(signum, restored)


def raise_signalled(signum: int) -> NoReturn:
    """The handler that unwinds a synchronous command: raise `CommandSignalled`."""
    raise CommandSignalled(signum)


def _signal_of(error: BaseException) -> int | None:
    if isinstance(error, CommandSignalled):
        return error.signum
    if isinstance(error, KeyboardInterrupt):  # Python's own handler, before ours was set
        return signal.SIGINT
    return None


def ending_signal(error: BaseException) -> int | None:
    """The signal that ended a command with `error`, or None if something else did.

    A `KeyboardInterrupt` counts as SIGINT: it is what a Ctrl-C raises before
    `on_ending_signals` is in place.
    """
    found = [_signal_of(leaf) for leaf in leaves(error)]
    return found[0] if found and None not in found else None


def end_by_signal(command: str | None, signum: int) -> int:
    """Print the one line for a command ended by `signum`; the exit code, 128 + `signum`."""
    name = "gatewayops" if command is None else f"gatewayops {command}"
    with on_ending_signals(lambda _signum: None):  # a second signal changes nothing
        say(f"{name}: {_ENDINGS[signum]}", file=sys.stderr)
    return 128 + signum
