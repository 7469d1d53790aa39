"""`gatewayops gui`: the Tk chat composer example, in Trio guest mode.

Owns: the ``gui`` subcommand's arguments and its handler: check them, open the window
(`gatewayops.gui.ChatApp`) and run Tk's loop until the window is closed and the Trio
run has finished. By default the app starts the reference gateway on 127.0.0.1 in the
same Trio run; ``--url`` follows one running operation on another gateway instead (it
then needs ``--operation`` and a token, from ``--token`` or ``GATEWAYOPS_TOKEN`` by the
same rule as ``watch``, and the fault buttons are off). A Trio error is printed with its
traceback (exit 1); SIGINT or SIGTERM does what the close button does -- cancel the
run, so its sockets close, and let Tk's loop end once it has finished -- then ends the
command as `_endings` says (exit 130 or 143, one line); a missing Tk or display is one
line (exit 1); bad arguments are one line (exit 2).

Must not know: what the window shows or how the session works. Imports Tk lazily, so
the rest of the command line works on a Python built without it.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import traceback
from typing import TYPE_CHECKING

from gatewayops.cli._commands import TOKEN_ENV, finite_float, gateway_url, token_from
from gatewayops.cli._endings import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    CommandSignalled,
    on_ending_signals,
    say,
)

if TYPE_CHECKING:
    from gatewayops.gui import ChatApp

__all__ = ["handler", "register"]


def register(parser: argparse.ArgumentParser) -> None:
    """Describe the ``gui`` subcommand and add its arguments to `parser`."""
    parser.description = (
        "Open a Tk window with a topic list, a streamed transcript, a connection "
        "indicator and a Send/Stop composer. Without --url it starts the reference "
        "gateway on 127.0.0.1 and Send starts a scripted run; the fault buttons expire "
        "the token, make the gateway forget the run, or drop the network."
    )
    parser.add_argument(
        "--url",
        type=gateway_url,
        help="follow a run on this gateway (ws://HOST:PORT) instead of the embedded one",
    )
    parser.add_argument(
        "--token",
        metavar="JWT",
        help=f"with --url: the operation's token (default: ${TOKEN_ENV}; not refreshable)",
    )
    parser.add_argument("--operation", help="with --url: the running operation to follow")
    parser.add_argument(
        "--topic",
        action="append",
        dest="topics",
        metavar="TOPIC",
        help="a topic to list (repeatable; default: topic-1, topic-2, topic-3)",
    )
    parser.add_argument(
        "--delay",
        type=finite_float,
        default=0.25,
        metavar="SECONDS",
        help="seconds between a scripted run's events (embedded gateway; default: 0.25)",
    )
    parser.add_argument(
        "--ask",
        metavar="KIND",
        help="embedded gateway: Send starts a run whose agent asks the user (question, "
        "permission, plan, tool_confirmation or text_input) and waits for the answer",
    )
    parser.set_defaults(func=handler)


def _usage_error(message: str) -> int:
    say(f"gatewayops gui: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def handler(args: argparse.Namespace) -> int:
    """Open the window and run it until it is closed; the process exit code."""
    token = None
    if args.url:
        if not args.operation:
            return _usage_error("--url needs --operation")
        try:
            token = token_from(args.token)
        except CommandError as error:
            return _usage_error(str(error))
    elif args.token or args.operation:
        return _usage_error("--token and --operation go with --url")
    if args.delay < 0:
        return _usage_error("--delay must not be negative")
    if args.ask is not None and args.url:
        return _usage_error("--ask goes with the embedded gateway, not --url")
    try:
        import tkinter

        from gatewayops.gui import DEFAULT_TOPICS, AppOptions, ChatApp
    except ImportError as error:
        say(
            f"gatewayops gui: this Python has no Tk ({error}); install one built with Tk "
            "(Debian's python3-tk for the system Python)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    try:
        options = AppOptions(
            url=args.url,
            token=token,
            operation=args.operation,
            chunk_delay=args.delay,
            ask=args.ask,
            topics=tuple(args.topics) if args.topics else DEFAULT_TOPICS,
        )
    except ValueError as error:  # --ask names no kind of request
        return _usage_error(f"--{error}")
    noted: list[int] = []
    app: ChatApp | None = None

    def on_signal(signum: int) -> None:
        # Never cancel from inside the handler: it may have interrupted a Trio step.
        # Tk's loop runs the close (the same as the close button) once this returns.
        noted.append(signum)
        if app is not None:
            with contextlib.suppress(tkinter.TclError):  # the window is already gone
                app.root.after(0, app.close)

    with on_ending_signals(on_signal):
        try:
            app = ChatApp.open(options)
        except tkinter.TclError as error:
            say(f"gatewayops gui: cannot open a window: {error}", file=sys.stderr)
            return EXIT_FAILED
        if noted:  # a signal before the window was there
            app.close()
        try:
            app.run()
        except (Exception, BaseExceptionGroup) as error:
            text = "".join(traceback.format_exception(error)).rstrip("\n")
            say(f"gatewayops gui: the Trio run failed:\n{text}", file=sys.stderr)
            return EXIT_FAILED
    if noted:
        raise CommandSignalled(noted[0])
    return EXIT_OK
