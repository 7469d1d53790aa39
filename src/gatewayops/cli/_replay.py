"""`gatewayops replay`: replay a recorded log, check it, or import a browser HAR.

Owns: the ``replay`` subcommand. ``gatewayops replay LOG`` replays a log through
today's reducer and prints a timeline per operation, the first divergence (record,
action, expected vs actual effects, field-level diff), any invariant violations and a
verdict; ``--until N`` shows the state after record N, ``--json`` prints the report
as JSON, ``--check`` prints only problems and the verdict. ``--from-har FILE -o LOG``
converts a HAR capture to a log (without ``-o`` it replays the import directly).

Exit codes: 0 when the log replays without divergence and no invariant is broken, 1
on a divergence or violation (the output names the record), 2 when the input cannot
be read (one line on stderr, no traceback: a malformed, too deeply nested or too long
line, a malformed HAR), and 130 or 143 on SIGINT or SIGTERM (`_endings`). Nothing it
prints holds a token: the imported HAR, the report and every line are redacted. Must
not know: how replay works (that is `gatewayops.replay`); it never imports Trio.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from typing import Any

from gatewayops.cli._endings import say
from gatewayops.replay import (
    LogItem,
    LogWarning,
    ReplayFormatError,
    from_har,
    read_log,
    replay,
    write_log,
)

__all__ = ["register"]

EXIT_OK = 0
EXIT_DIVERGED = 1
EXIT_UNREADABLE = 2


def register(subparsers: Any) -> None:
    """Add the ``replay`` subcommand."""
    parser = subparsers.add_parser(
        "replay",
        help="replay a recorded log (or a browser HAR) and check it",
        description="Replay a gatewayops recording through today's reducer: report the "
        "first divergence from the recorded effects and any broken invariant "
        "(PROTOCOL.md section 11). Exit 0 if clean, 1 on divergence or violation, "
        "2 if the input cannot be read.",
    )
    parser.add_argument("log", nargs="?", metavar="LOG", help="a recording (.jsonl)")
    parser.add_argument(
        "--until", type=int, metavar="N", help="stop after record N and show the state there"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--check", action="store_true", help="print only problems and the verdict")
    parser.add_argument(
        "--from-har", metavar="FILE", help="import a browser HAR capture instead of a log"
    )
    parser.add_argument(
        "-o", "--output", metavar="LOG", help="with --from-har: write the imported log here"
    )
    parser.set_defaults(func=_handle)


def _fail(message: str) -> int:
    say(f"gatewayops replay: {message}", file=sys.stderr)
    return EXIT_UNREADABLE


def _warn(items: list[LogItem]) -> None:
    for item in items:
        if isinstance(item, LogWarning):
            say(f"warning: {item.message}", file=sys.stderr)


def _handle(args: argparse.Namespace) -> int:
    if (args.log is None) == (args.from_har is None):
        return _fail("give either a LOG or --from-har FILE")
    if args.output is not None and args.from_har is None:
        return _fail("-o/--output goes with --from-har")
    try:
        if args.from_har is not None:
            imported = from_har(args.from_har)
            if args.output is not None:
                _warn(imported)
                count = write_log(args.output, imported)
                say(f"wrote {count} records to {args.output}")
                return EXIT_OK
            return _report(imported, args)
        return _report(read_log(args.log), args)
    except ReplayFormatError as error:
        return _fail(str(error))
    except OSError as error:
        name = error.filename or args.log or args.from_har
        return _fail(f"{name}: {error.strerror or error}")


def _report(log: Iterable[LogItem], args: argparse.Namespace) -> int:
    report = replay(log, until=args.until)
    for warning in report.warnings:
        say(f"warning: {warning}", file=sys.stderr)
    if args.json:  # redacted value by value by `to_json` (redacting the text could break it)
        json.dump(report.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        say(report.to_text(timelines=not args.check))
    return EXIT_OK if report.ok else EXIT_DIVERGED
