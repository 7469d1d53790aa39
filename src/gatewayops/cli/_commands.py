"""The command table, the parser built from it, and the argument types commands share.

Owns: `COMMANDS` (each subcommand's name, the module that implements it and the one
line ``gatewayops --help`` lists for it, in that order); `command_of` (which subcommand
an argument list names, read without importing anything); `build_parser`, which
imports and registers in full only the subcommand named -- the others are listed by
their summary alone, so ``--help`` and ``--version`` import no subcommand module, no
Trio and no gateway; the one-line form of every argument error (``gatewayops COMMAND:
error: ... (see --help)``, exit 2, no usage block); the argument types that refuse
what no command can use: `finite_float` (NaN and infinities are usage errors),
`record_number` (1 or more) and `gateway_url` (a gateway base URL with a scheme, a
host and a port in 1-65535; for every command that takes one); and `token_from`, the one
rule for where a command's token comes from (``--token``, else ``GATEWAYOPS_TOKEN``).

A subcommand module exposes ``register(parser)``: it describes the command, adds its
arguments to `parser` and sets ``func(args) -> int`` as its handler.

Must not know: what any subcommand does, or how a command ends (`_endings`).
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
from collections.abc import Sequence
from typing import NamedTuple, NoReturn

from gatewayops._version import __version__
from gatewayops.cli._endings import EXIT_USAGE, CommandError, say

__all__ = [
    "COMMANDS",
    "TOKEN_ENV",
    "Command",
    "build_parser",
    "command_of",
    "finite_float",
    "gateway_url",
    "record_number",
    "token_from",
]

TOKEN_ENV = "GATEWAYOPS_TOKEN"
"""Environment variable read when ``--token`` is not given (keeps it out of ``ps``)."""


class Command(NamedTuple):
    """One subcommand: its name, the module that registers it, its line in ``--help``."""

    name: str
    module: str
    summary: str


COMMANDS: tuple[Command, ...] = (
    Command("demo", "_demo", "run every failure scenario against the embedded gateway"),
    Command("serve", "_serve", "run the reference gateway on loopback"),
    Command("watch", "_watch", "follow one operation on a gateway and print what happens"),
    Command("gui", "_gui", "open the Tk chat composer (embedded reference gateway by default)"),
    Command("replay", "_replay", "replay a recorded log (or a browser HAR) and check it"),
)
"""Every subcommand, in the order ``gatewayops --help`` lists them."""

_BY_NAME = {command.name: command for command in COMMANDS}


def command_of(argv: Sequence[str]) -> str | None:
    """The known subcommand `argv` names (its first positional argument), or None.

    The top-level parser has no option that takes a value (only ``--help`` and
    ``--version``), so the first argument that is not an option is the command.
    """
    arguments = iter(argv)
    for argument in arguments:
        if argument == "--":
            argument = next(arguments, "")
        elif argument.startswith("-"):
            continue
        return argument if argument in _BY_NAME else None
    return None


def _one_line_errors(parser: argparse.ArgumentParser, command: str | None) -> None:
    """Make `parser` report bad arguments as one line on stderr (exit 2), without usage."""
    prefix = "gatewayops" if command is None else f"gatewayops {command}"

    def error(message: str) -> NoReturn:
        say(f"{prefix}: error: {message} (see --help)", file=sys.stderr)
        sys.exit(EXIT_USAGE)

    parser.error = error  # type: ignore[method-assign]


def build_parser(command: str | None) -> argparse.ArgumentParser:
    """The ``gatewayops`` parser, with `command` (if any) registered in full.

    Only `command`'s module is imported; every other subcommand is listed by its summary
    and has no arguments of its own (it is never what `argv` names, see `command_of`).
    """
    parser = argparse.ArgumentParser(
        prog="gatewayops", description="Follow agent gateway operations to exactly one end."
    )
    parser.add_argument("--version", action="version", version=f"gatewayops {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    _one_line_errors(parser, None)
    for entry in COMMANDS:
        subparser = subparsers.add_parser(entry.name, help=entry.summary)
        _one_line_errors(subparser, entry.name)
        if entry.name == command:
            module = importlib.import_module(f"gatewayops.cli.{entry.module}")
            module.register(subparser)
    return parser


def finite_float(text: str) -> float:
    """An argparse type: a finite number (``nan``, ``inf`` and ``1e999`` are refused).

    Raises:
        argparse.ArgumentTypeError: `text` is not a number, or not a finite one; argparse
            reports it as ``argument --OPTION: ...``.
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def record_number(text: str) -> int:
    """An argparse type: a record number of a log, 1 or more (records count from 1).

    Raises:
        argparse.ArgumentTypeError: `text` is not a whole number of at least 1.
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a record number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a record number (records count from 1), got {value}"
        )
    return value


def token_from(given: str | None) -> str:
    """The token a command uses: `given` (``--token``), else ``$GATEWAYOPS_TOKEN``.

    Raises:
        CommandError: neither gives a token that is not blank (exit 2).
    """
    token = given if given is not None else os.environ.get(TOKEN_ENV, "")
    if not token.strip():
        raise CommandError(f"no token: pass --token or set {TOKEN_ENV}")
    return token


def gateway_url(text: str) -> str:
    """An argparse type: a gateway base URL (``ws://HOST:PORT``, ``wss://``, ``http(s)://``).

    The check is `gatewayops.protocol.check_gateway_url`'s (imported when a URL is
    parsed, so ``--help`` stays fast).

    Raises:
        argparse.ArgumentTypeError: no or another scheme, no host, a port outside
            1-65535, or an operation's socket URL; argparse reports it as
            ``argument url: ...``.
    """
    from gatewayops.exceptions import InvalidGatewayUrl
    from gatewayops.protocol import check_gateway_url

    try:
        return check_gateway_url(text)
    except InvalidGatewayUrl as error:
        raise argparse.ArgumentTypeError(str(error)) from None
