"""`gatewayops watch`: follow one operation on any protocol-v1 gateway to its end.

Owns: the ``watch`` subcommand -- checking its arguments (URL scheme, a non-empty
token from ``--token`` or ``GATEWAYOPS_TOKEN``), running the real client for one
operation (attach by default, ``--new`` for a run followed from its first event),
printing each change as one line (socket status; the transcript's entries in order:
streamed text and reasoning deltas, each tool call inline with its arguments folded
and its result or error, an error with its type and body; problems such as a bad
frame; and the outcome), optionally recording the
session (``--record``: each record reaches the file as it happens, ``--fsync`` also
syncs it to disk), and the exit code: 0 when the operation finished, 1 when it could
not be followed (auth failure, gone, rejected) or ``--timeout`` passed first.

There is no token-refresh endpoint here: the `refresh_token` dependency raises a clear
error, so an `auth_expired` ends the operation as an auth failure once the refresh
budget is spent. The token is never printed: states and actions redact it, and every
line goes through `say`, which redacts anything shaped like a token (say, an
`auth_failed` reason that echoes it).

Must not know: the reference gateway (this works against any v1 gateway).
"""

from __future__ import annotations

import argparse
import math
from contextlib import ExitStack
from pathlib import Path

import trio

from gatewayops._chat_text import call_line, error_lines
from gatewayops.cli._commands import TOKEN_ENV, finite_float, token_from
from gatewayops.cli._console import run_command
from gatewayops.cli._endings import EXIT_FAILED, EXIT_OK, CommandError, say
from gatewayops.effects import Client, open_client
from gatewayops.exceptions import InvalidGatewayUrl
from gatewayops.protocol import operation_url
from gatewayops.replay import open_recorder
from gatewayops.store import (
    AssistantMessage,
    ConnectionStatus,
    Entry,
    ErrorEntry,
    Middleware,
    Operation,
    Outcome,
    Reasoning,
    Result,
    StoreConfig,
    ToolCallEntry,
    Transcript,
    UserMessage,
)

__all__ = ["NoRefreshEndpoint", "changes", "register"]

_UNFOLLOWABLE = frozenset({Result.AUTH_FAILED, Result.GONE, Result.REJECTED})


class NoRefreshEndpoint(Exception):
    """`watch` cannot refresh tokens: it was given one token and nowhere to get another."""


def register(parser: argparse.ArgumentParser) -> None:
    """Describe the ``watch`` subcommand and add its arguments to `parser`."""
    parser.description = (
        "Follow one operation on any protocol-v1 gateway, printing streamed text and "
        "state changes, until it finishes. Exit 0 when it finished, 1 when it could not "
        "be followed (auth failure, gone, rejected, or --timeout)."
    )
    parser.add_argument("url", help="gateway base URL (ws://, wss://, http:// or https://)")
    parser.add_argument("--operation", required=True, metavar="ID", help="operation id")
    parser.add_argument(
        "--token", metavar="JWT", help=f"auth token (default: ${TOKEN_ENV}); never printed"
    )
    parser.add_argument("--topic", metavar="ID", help="topic id (default: the operation id)")
    parser.add_argument(
        "--record", metavar="FILE", type=Path, help="record the session as JSON Lines"
    )
    parser.add_argument(
        "--fsync",
        action="store_true",
        help="with --record: fsync the log after every record (survives a power loss)",
    )
    parser.add_argument(
        "--timeout", metavar="SECONDS", type=finite_float, help="give up after SECONDS (exit 1)"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--attach",
        dest="new",
        action="store_false",
        help="reattach to a running operation, replaying what it streamed (default)",
    )
    mode.add_argument(
        "--new", dest="new", action="store_true", help="follow a new run from its first event"
    )
    parser.set_defaults(func=_handle, new=False)


def _token(args: argparse.Namespace) -> str:
    """The checked token; raises `CommandError` for any bad argument."""
    token = token_from(args.token)
    if not args.operation.strip():
        raise CommandError("--operation: must not be empty")
    if args.fsync and args.record is None:
        raise CommandError("--fsync goes with --record")
    if args.timeout is not None and args.timeout <= 0:
        raise CommandError(f"--timeout {args.timeout:g}: expected a positive number")
    try:
        operation_url(args.url, args.operation)
    except InvalidGatewayUrl as error:
        raise CommandError(str(error)) from None
    return token


def _handle(args: argparse.Namespace) -> int:
    return run_command("watch", _watch, args)


async def _no_refresh(topic_id: str) -> str:
    await trio.lowlevel.checkpoint()
    raise NoRefreshEndpoint(
        "watch has no token refresh endpoint: run it again with a fresh --token"
    )


def _text_delta(label: str, old: str, new: str) -> list[str]:
    if new == old:
        return []
    if new.startswith(old):
        return [f"{label:<10} {new[len(old) :]!r}"]
    return [f"{label:<10} (replaced) {new!r}"]


def _entry_lines(old: Entry | None, new: Entry) -> list[str]:
    """What changed in one entry (`old` is what stood at its place before, if anything)."""
    same = old is not None and type(old) is type(new) and old.id == new.id
    match new:
        case AssistantMessage() | Reasoning():
            label = "text" if isinstance(new, AssistantMessage) else "reasoning"
            before = old.text if same and isinstance(old, AssistantMessage | Reasoning) else ""
            return _text_delta(label, before, new.text)
        case ToolCallEntry():
            if same and isinstance(old, ToolCallEntry) and old.status is new.status:
                return []  # the model still writing its arguments: shown when it runs
            return [f"{'tool':<10} {call_line(new)}"]
        case UserMessage() | ErrorEntry() if new == old:
            return []
        case UserMessage():
            return [f"{'you':<10} {new.text!r}"]
        case ErrorEntry():
            return [f"{'error':<10} {line}" for line in error_lines(new)]


def _transcript_lines(old: Transcript, new: Transcript) -> list[str]:
    """The entries that appeared or changed, in the transcript's order."""
    lines: list[str] = []
    before = old.entries
    for index, entry in enumerate(new.entries):
        previous = before[index] if index < len(before) else None
        if previous is not entry:
            lines += _entry_lines(previous, entry)
    return lines


def changes(
    old: Operation | None,
    new: Operation,
    old_socket: ConnectionStatus | None,
    new_socket: ConnectionStatus,
) -> list[str]:
    """The lines `watch` prints for one change of the followed operation (and the status
    of its socket before and after)."""
    lines = _transcript_lines(old.transcript if old else Transcript(), new.transcript)
    if old is None or old_socket is not new_socket:
        socket = f"{'socket':<10} {new_socket}"
        # a finishing snapshot shows what streamed first; otherwise the socket comes first
        lines = [*lines, socket] if new.is_finished else [socket, *lines]
    if new.last_problem and (old is None or old.last_problem != new.last_problem):
        lines.append(f"{'problem':<10} {new.last_problem}")
    if new.bad_frames and (old is None or old.bad_frames != new.bad_frames):
        lines.append(f"{'problem':<10} bad frames so far: {new.bad_frames}")
    if old is not None and not old.stop_requested and new.stop_requested:
        lines.append(f"{'stop':<10} requested")
    return lines


async def _follow(client: Client, operation_id: str, timeout: float | None) -> Outcome | None:
    """Print every change of the operation until it finishes; None if `timeout` passed."""
    previous: Operation | None = None
    previous_socket: ConnectionStatus | None = None
    with trio.move_on_after(math.inf if timeout is None else timeout):
        async for op in client.changes(operation_id):
            socket = client.state.link_of(op).status
            for line in changes(previous, op, previous_socket, socket):
                say(line)
            previous, previous_socket = op, socket
        return await client.wait_finished(operation_id)
    return None


async def _watch(args: argparse.Namespace) -> int:
    token = _token(args)
    op_id, topic = args.operation, args.topic or args.operation
    mode = "new run" if args.new else "attach"
    config = StoreConfig()
    with ExitStack() as stack:
        middleware: list[Middleware] = []
        if args.record is not None:
            recorder = open_recorder(
                args.record, operation_id=op_id, config=config, fsync=args.fsync
            )
            middleware.append(stack.enter_context(recorder))
        say(f"watching {op_id} at {operation_url(args.url, op_id)} ({mode})")
        async with open_client(
            refresh_token=_no_refresh, config=config, middleware=middleware
        ) as client:
            follow = client.start if args.new else client.attach
            follow(op_id, topic, args.url, token)
            outcome = await _follow(client, op_id, args.timeout)
    if outcome is None:
        raise CommandError(
            f"{op_id} did not finish within {args.timeout:g} s", exit_code=EXIT_FAILED
        )
    detail = f": {outcome.detail}" if outcome.detail else ""
    say(f"{'outcome':<10} {outcome.result} ({outcome.source}){detail}")
    if args.record is not None:
        say(f"recorded to {args.record}")
    return EXIT_FAILED if outcome.result in _UNFOLLOWABLE else EXIT_OK
