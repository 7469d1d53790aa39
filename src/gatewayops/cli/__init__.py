"""The `gatewayops` command line: `demo`, `serve`, `watch`, `replay`, `gui`.

Owns: `main` -- reading which subcommand is asked for, building the parser with only
that subcommand's module imported (`_commands`), freezing what start-up made out of
later garbage collections when it runs as the program (`argv` from ``sys.argv``; a
host calling ``main(argv)`` keeps its own GC untouched; see
`gatewayops.freeze_startup_objects`), and running its handler. Bad
arguments are one clear line on stderr and exit code 2. Every command, from the
moment `main` starts, ends on SIGINT or SIGTERM as `gatewayops.cli._endings` says
(one line, exit 128 + the signal's number), and so does a Ctrl-C that comes before
that: while this package itself is still being imported (``gatewayops: interrupted``,
exit 130, never a traceback). ``python -m gatewayops`` runs the same `main`.

Must not know: what any subcommand does. Imports nothing of Trio, the store or the
gateway itself, so ``gatewayops --help`` and ``--version`` start fast.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

_INTERRUPTED_WHILE_STARTING = 130  # 128 + SIGINT, as every command ends on Ctrl-C

try:  # Python's own SIGINT handler is still in place: Ctrl-C here is a KeyboardInterrupt
    from gatewayops._gc import freeze_startup_objects
    from gatewayops.cli._commands import build_parser, command_of
    from gatewayops.cli._endings import (
        end_by_signal,
        ending_signal,
        on_ending_signals,
        raise_signalled,
    )
except KeyboardInterrupt:
    sys.stderr.write("gatewayops: interrupted\n")
    raise SystemExit(_INTERRUPTED_WHILE_STARTING) from None

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line (`argv`, by default ``sys.argv[1:]``); the exit code."""
    command: str | None = None
    try:
        with on_ending_signals(raise_signalled):
            arguments = sys.argv[1:] if argv is None else list(argv)
            command = command_of(arguments)
            parser = build_parser(command)  # imports the command's module, and only it
            args = parser.parse_args(arguments)
            if args.command is None:
                parser.print_help()
                return 2
            if argv is None:  # the process's own command line: its GC is ours to tune
                freeze_startup_objects()  # what start-up made is not traversed again
            result: int = args.func(args)
            return result
    except BaseException as error:
        signum = ending_signal(error)
        if signum is None:
            raise
    return end_by_signal(command, signum)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
