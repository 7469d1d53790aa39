"""The `gatewayops` command line: `demo`, `serve`, `watch`, `replay`, `gui`.

Owns: the top-level parser and dispatch. Each subcommand lives in its own module that
exposes ``register(subparsers)``; registering sets ``func(args) -> int`` as the
subcommand's handler. Bad arguments are one clear line on stderr and exit code 2.
Every command, from the moment `main` starts, ends on SIGINT or SIGTERM as
`gatewayops.cli._endings` says (one line, exit 128 + the signal's number).
Must not know: what any subcommand does.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from gatewayops._version import __version__
from gatewayops.cli._endings import (
    end_by_signal,
    ending_signal,
    on_ending_signals,
    raise_signalled,
    say,
)

__all__ = ["main"]

# One module per subcommand, each exposing register(subparsers).
_COMMAND_MODULES: tuple[str, ...] = ("_demo", "_serve", "_watch", "_gui", "_replay")


def _one_line_errors(parser: argparse.ArgumentParser, command: str) -> None:
    """Make `parser` report bad arguments as one line on stderr (exit 2), without usage."""
    prefix = f"gatewayops {command}" if command else "gatewayops"

    def error(message: str) -> NoReturn:
        say(f"{prefix}: error: {message} (see --help)", file=sys.stderr)
        sys.exit(2)

    parser.error = error  # type: ignore[method-assign]


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gatewayops", description="Follow agent gateway operations to exactly one end."
    )
    parser.add_argument("--version", action="version", version=f"gatewayops {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(f"gatewayops.cli.{name}").register(subparsers)
    _one_line_errors(parser, "")
    for command, subparser in subparsers.choices.items():
        _one_line_errors(subparser, command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    command: str | None = None
    try:
        with on_ending_signals(raise_signalled):
            parser = _build_parser()
            args = parser.parse_args(argv)
            command = args.command
            if command is None:
                parser.print_help()
                return 2
            result: int = args.func(args)
            return result
    except BaseException as error:
        signum = ending_signal(error)
        if signum is None:
            raise
    return end_by_signal(command, signum)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
