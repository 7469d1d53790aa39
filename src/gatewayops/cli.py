"""The `gatewayops` command line: `demo`, `serve`, `watch`, `replay`.

Owns: argument parsing and turning bad arguments into one clear line and exit code 2.
Must not know: protocol or store internals beyond their public API.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from gatewayops._version import __version__

__all__ = ["main"]


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gatewayops", description="Follow agent gateway operations to exactly one end."
    )
    parser.add_argument("--version", action="version", version=f"gatewayops {__version__}")
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return 0  # pragma: no cover - every subcommand returns before this


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
