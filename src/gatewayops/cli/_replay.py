"""`gatewayops replay`: replay a recorded log, check it, or import a browser HAR.

Owns: the ``replay`` subcommand. ``gatewayops replay LOG`` replays a log through
today's reducer and prints a timeline per operation, the first divergence (record,
action, expected vs actual effects, field-level diff), any invariant violations and a
verdict; ``--until N`` shows the state after record N (for each operation its input
button, refresh, resume, owed tool results and transcript), ``--json`` prints the
report as JSON, ``--check`` prints only problems and the verdict. ``--from-har FILE
-o LOG`` converts a HAR capture to a log (without ``-o`` it replays the import
directly); the report names the log's protocol (v1, or v2 for a v2 recording or a
HAR with a ``/v2/ws`` socket).

It never says OK about nothing: a log without a record, a HAR without a WebSocket
entry and an ``--until`` past the end of the log are errors, and so is a HAR given as
LOG or a recording given to ``--from-har`` (the line says which flag was meant).

Exit codes: 0 when the log replays without divergence and no invariant is broken, 1
on a divergence or violation (the output names the record), 2 when the input cannot
be read or holds nothing to replay, or ``--until`` names no record of it (one line on
stderr, no traceback: a malformed, too deeply nested or too long line, a malformed
HAR), and 130 or 143 on SIGINT or SIGTERM (`_endings`). Nothing it prints holds a
token: the imported HAR, the report and every line are redacted. Must not know: how
replay works (that is `gatewayops.replay`); it never imports Trio.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import stat
import sys
from collections.abc import Iterable, Iterator

import attrs

from gatewayops._words import plural
from gatewayops.cli._commands import record_number
from gatewayops.cli._endings import EXIT_USAGE, say
from gatewayops.replay import (
    FORMAT,
    LogItem,
    LogWarning,
    Record,
    ReplayFormatError,
    ReplayReport,
    from_har,
    read_log,
    replay,
    write_log,
)

__all__ = ["register"]

EXIT_OK = 0
EXIT_DIVERGED = 1
EXIT_UNREADABLE = EXIT_USAGE

_SNIFF_BYTES = 4096
_HAR_START = re.compile(rb'\A\s*\{\s*"log"\s*:')
_LOG_START = re.compile(rb'\A\s*\{\s*"format"\s*:\s*"' + re.escape(FORMAT.encode()) + rb'"')
_NO_SOCKETS = (
    "no WebSocket entry to import, nothing to replay (an entry needs _webSocketMessages "
    "and a request URL with an operationId= query, or one of protocol v2's /v2/ws)"
)


class _Unusable(Exception):
    """The input holds nothing replay can check; the message says why (exit 2)."""


def register(parser: argparse.ArgumentParser) -> None:
    """Describe the ``replay`` subcommand and add its arguments to `parser`."""
    parser.description = (
        "Replay a gatewayops recording through today's reducer: report the first "
        "divergence from the recorded effects and any broken invariant (PROTOCOL.md "
        "section 11). Exit 0 if clean, 1 on divergence or violation, 2 if the input "
        "cannot be read or holds no record to replay, or --until names a record past "
        "its end."
    )
    parser.add_argument("log", nargs="?", metavar="LOG", help="a recording (.jsonl)")
    parser.add_argument(
        "--until",
        type=record_number,
        metavar="N",
        help="stop after record N (1 or more) and show the state there: each operation's "
        "input, refresh, tools and transcript; past the log's end it is an error (exit 2)",
    )
    parser.add_argument(
        "--keep-transcripts",
        action="store_true",
        help="keep every finished operation's transcript and timeline, not only those of "
        "the last retain_finished (as the live client did); memory grows with the log",
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


def _sniff(path: str) -> str | None:
    """``"har"`` or ``"log"`` if the regular file at `path` starts like one, else None.

    Only asked once reading failed, so a FIFO or a device is never opened twice.
    """
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with open(path, "rb") as file:
            start = file.read(_SNIFF_BYTES)
    except OSError:
        return None
    if _HAR_START.match(start):
        return "har"
    if _LOG_START.match(start):
        return "log"
    return None


def _handle(args: argparse.Namespace) -> int:
    if (args.log is None) == (args.from_har is None):
        return _fail("give either a LOG or --from-har FILE")
    if args.output is not None and args.from_har is None:
        return _fail("-o/--output goes with --from-har")
    try:
        if args.from_har is not None:
            return _import(args)
        return _report(read_log(args.log), args)
    except _Unusable as error:
        return _fail(str(error))
    except ReplayFormatError as error:
        return _fail(_misplaced(args) or str(error))
    except OSError as error:
        stdout = "standard output" if isinstance(error, BrokenPipeError) else None
        name = error.filename or stdout or args.log or args.from_har
        return _fail(f"{name}: {error.strerror or error}")


def _misplaced(args: argparse.Namespace) -> str | None:
    """Which flag was meant, when a HAR was given as LOG or a recording to --from-har."""
    if args.log is not None and _sniff(args.log) == "har":
        return f"{args.log} is a HAR capture, not a recording: use --from-har {args.log}"
    if args.from_har is not None and _sniff(args.from_har) == "log":
        return (
            f"{args.from_har} is a gatewayops recording, not a HAR: give it as LOG "
            f"(gatewayops replay {args.from_har})"
        )
    return None


def _import(args: argparse.Namespace) -> int:
    imported = from_har(args.from_har)
    if not any(isinstance(item, Record) for item in imported):
        raise _Unusable(f"{args.from_har}: {_NO_SOCKETS}")
    if args.output is None:
        return _report(imported, args)
    _warn(imported)
    count = write_log(args.output, imported)
    say(f"wrote {plural(count, 'record')} to {args.output}")
    return EXIT_OK


@attrs.define
class _Seen:
    """The record numbers that went past on the way into `replay`."""

    first: int | None = None
    last: int | None = None

    def watch(self, log: Iterable[LogItem]) -> Iterator[LogItem]:
        """`log`, noting each record's number as `replay` takes it; closing this closes
        `log` (a `read_log` stream closes its file)."""
        items = iter(log)
        last = None
        try:
            for item in items:
                if type(item) is Record:
                    last = item.seq
                    if self.first is None:
                        self.first = last
                yield item
        finally:
            self.last = last
            close = getattr(items, "close", None)
            if close is not None:
                close()


def _check_until(report: ReplayReport, seen: _Seen, name: str) -> None:
    """Raise `_Unusable` if the report has nothing to show, or not the record asked for."""
    until = report.until
    if seen.last is None:
        raise _Unusable(f"{name}: no records after the header, nothing to replay")
    if until is None:
        return
    assert seen.first is not None
    if seen.first > until:
        raise _Unusable(f"--until {until}: {name} starts at record {seen.first}")
    if seen.last < until:  # replay saw no record past `until`: the log ended first
        raise _Unusable(
            f"--until {until}: {name} ends at record {seen.last} "
            "(leave --until out for the state at its end)"
        )


def _report(log: Iterable[LogItem], args: argparse.Namespace) -> int:
    seen = _Seen()
    report = replay(seen.watch(log), until=args.until, keep_transcripts=args.keep_transcripts)
    _check_until(report, seen, args.log or args.from_har)
    for warning in report.warnings:
        say(f"warning: {warning}", file=sys.stderr)
    if args.json:  # redacted value by value by `to_json` (redacting the text could break it)
        json.dump(report.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        say(report.to_text(timelines=not args.check))
    return EXIT_OK if report.ok else EXIT_DIVERGED
