"""`gatewayops watch`: follow one operation on any protocol-v1 gateway to its end.

Owns: the ``watch`` subcommand -- checking its arguments (a gateway URL with a host
and a port in 1-65535, a non-empty token from ``--token`` or ``GATEWAYOPS_TOKEN``),
running the real client for one operation (attach by default, ``--new`` for a run
followed from its first event), printing each change as one line (socket status, each
retry with its delay and its reason; the transcript's entries in order: streamed text
and reasoning deltas, each tool call inline with its arguments folded and its result or
error, an error with its type and body; problems such as a bad frame; and the outcome),
optionally recording the session (``--record``: each record reaches the file as it
happens, ``--fsync`` also syncs it to disk), and the exit code: 0 when the operation
finished, 1 when it could not be followed (auth failure, gone, rejected, a gateway never
reached) or ``--timeout`` passed first (the message names the last problem, if the
socket is not connected).

A gateway that cannot be reached is given up on by the store's dial budget
(`StoreConfig.dial_budget`, ``--dial-attempts``, 3 by default): until a socket first
opens, the third refused (DNS, TLS) dial in a row ends the operation as
``unreachable``, which `watch` reports as one line, exit 1. After a first connection
it reconnects for ever, printing each retry.

Token refresh: with ``--token-url`` (``gatewayops serve`` prints one), an
`auth_expired` trades the current token for a fresh one at that endpoint
(`_token_client`); without it the `refresh_token` dependency raises `TokenUnavailable`
saying how to get one, so the operation ends as an auth failure once the refresh budget
is spent. The token is never printed: states and actions redact it, and every line goes
through `say`, which redacts anything shaped like a token (say, an `auth_failed` reason
that echoes it).

The agent's requests for the user (PROTOCOL.md 6.2) are shown as they are asked and
answered as `_watch_answers` says: at the terminal when stdin is one, with ``--answer``
or ``--decline`` for scripts, posted to ``--answer-url`` (`_answer_client`, with the
run's latest token).

Must not know: the reference gateway (this works against any v1 gateway).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from pathlib import Path

import trio

from gatewayops._chat_text import call_line, error_lines
from gatewayops.cli import _watch_answers
from gatewayops.cli._answer_client import answer_poster
from gatewayops.cli._commands import TOKEN_ENV, finite_float, gateway_url, token_from
from gatewayops.cli._console import run_command
from gatewayops.cli._endings import EXIT_FAILED, EXIT_OK, CommandError, say
from gatewayops.cli._token_client import check_token_url, fetch_token
from gatewayops.cli._watch_answers import Answering, Asker, human_lines
from gatewayops.effects import Client, open_client
from gatewayops.exceptions import TokenUnavailable
from gatewayops.protocol import operation_url
from gatewayops.replay import open_recorder
from gatewayops.store import (
    AssistantMessage,
    ConnectionStatus,
    Entry,
    ErrorEntry,
    Link,
    Middleware,
    Operation,
    Outcome,
    Reasoning,
    Result,
    StoreConfig,
    ToolCallEntry,
    Transcript,
    UserMessage,
    backoff_delay_ms,
)

__all__ = ["DEFAULT_DIAL_ATTEMPTS", "NO_TOKEN_URL", "changes", "register"]

DEFAULT_DIAL_ATTEMPTS = 3
"""Failed dials in a row after which `watch` gives up on a gateway it never reached."""

_UNFOLLOWABLE = frozenset({Result.AUTH_FAILED, Result.GONE, Result.REJECTED})


NO_TOKEN_URL = (
    "the token expired and watch cannot get a fresh one: pass --token-url (gatewayops "
    "serve prints it), or run watch again with a fresh --token"
)
"""The problem an expired token is, without ``--token-url``."""


def register(parser: argparse.ArgumentParser) -> None:
    """Describe the ``watch`` subcommand and add its arguments to `parser`."""
    parser.description = (
        "Follow one operation on any protocol-v1 gateway, printing streamed text and "
        "state changes, until it finishes. Exit 0 when it finished, 1 when it could not "
        "be followed (auth failure, gone, rejected, or --timeout)."
    )
    parser.add_argument(
        "url",
        type=gateway_url,
        help="gateway base URL (ws://HOST:PORT, wss://, http:// or https://)",
    )
    parser.add_argument("--operation", required=True, metavar="ID", help="operation id")
    parser.add_argument(
        "--token", metavar="JWT", help=f"auth token (default: ${TOKEN_ENV}); never printed"
    )
    parser.add_argument("--topic", metavar="ID", help="topic id (default: the operation id)")
    parser.add_argument(
        "--token-url",
        metavar="URL",
        help="token endpoint (http://HOST:PORT/token) that renews an expired token",
    )
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
    parser.add_argument(
        "--dial-attempts",
        metavar="N",
        type=int,
        default=DEFAULT_DIAL_ATTEMPTS,
        help="until the first connection, give up after N failed dials in a row (exit 1; "
        f"default {DEFAULT_DIAL_ATTEMPTS}; 0: never give up)",
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
    _watch_answers.register(parser)
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
    if args.dial_attempts < 0:
        raise CommandError(f"--dial-attempts {args.dial_attempts}: expected 0 or more")
    if args.token_url is not None:
        try:
            check_token_url(args.token_url)
        except ValueError as error:
            raise CommandError(f"--token-url: {error}") from None
    return token


def _handle(args: argparse.Namespace) -> int:
    return run_command("watch", _watch, args)


def _refresher(
    token_url: str | None, token: str
) -> tuple[Callable[[str], Awaitable[str]], Callable[[], str]]:
    """The `refresh_token` dependency (trade the latest token at `token_url`, if any),
    and what gives the latest token."""
    latest = [token]

    async def refresh(topic_id: str) -> str:
        if token_url is None:
            await trio.lowlevel.checkpoint()
            raise TokenUnavailable(NO_TOKEN_URL)
        latest[0] = await fetch_token(token_url, latest[0])
        return latest[0]

    return refresh, lambda: latest[0]


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


def _socket_line(op: Operation, link: Link, config: StoreConfig) -> str:
    """The link's new status; while reconnecting, which retry comes, when, and why."""
    if link.status is not ConnectionStatus.RECONNECTING:
        return f"{'socket':<10} {link.status}"
    delay = backoff_delay_ms(config, link.attempt) / 1000  # jitter shortens it, never more
    why = f": {op.last_problem}" if op.last_problem else ""
    return f"{'socket':<10} retry {link.attempt} within {delay:g} s{why}"


def changes(
    old: Operation | None,
    new: Operation,
    old_link: Link | None,
    new_link: Link,
    config: StoreConfig,
) -> list[str]:
    """The lines `watch` prints for one change of the followed operation (and its link
    before and after; `config` gives the backoff delays)."""
    lines = _transcript_lines(old.transcript if old else Transcript(), new.transcript)
    moved = old_link is None or old_link.status is not new_link.status
    if moved:
        socket = _socket_line(new, new_link, config)
        # a finishing snapshot shows what streamed first; otherwise the socket comes first
        lines = [*lines, socket] if new.is_finished else [socket, *lines]
    named = moved and new_link.status is ConnectionStatus.RECONNECTING  # by the retry line
    fresh = old is None or old.last_problem != new.last_problem
    if new.last_problem and fresh and not named:
        lines.append(f"{'problem':<10} {new.last_problem}")
    if new.bad_frames and (old is None or old.bad_frames != new.bad_frames):
        lines.append(f"{'problem':<10} bad frames so far: {new.bad_frames}")
    if old is not None and not old.stop_requested and new.stop_requested:
        lines.append(f"{'stop':<10} requested")
    return lines


async def _follow(
    client: Client,
    operation_id: str,
    timeout: float | None,
    answering: Answering,
) -> Outcome | None:
    """Print every change of the operation until it finishes, answering the agent's
    requests meanwhile; None if `timeout` passed."""
    previous: Operation | None = None
    previous_link: Link | None = None
    config = client.state.config
    asker = Asker(client, operation_id, answering)
    outcome: Outcome | None = None
    async with trio.open_nursery() as nursery:
        with trio.move_on_after(math.inf if timeout is None else timeout):
            async for op in client.changes(operation_id):
                link = client.state.link_of(op)
                lines = changes(previous, op, previous_link, link, config)
                for line in lines + human_lines(previous, op, answering):
                    say(line)
                asker.update(nursery, op)
                previous, previous_link = op, link
            outcome = await client.wait_finished(operation_id)
        nursery.cancel_scope.cancel()  # a prompt still open has nothing left to answer
    return outcome


def _unfinished(client: Client, operation_id: str, timeout: float) -> CommandError:
    """The error of a run that did not finish in time, naming the last problem unless
    the socket is connected (an old problem would then mislead)."""
    op = client.state.operations[operation_id]
    text = f"{operation_id} did not finish within {timeout:g} s"
    if op.last_problem and client.state.link_of(op).status is not ConnectionStatus.CONNECTED:
        text += f": {op.last_problem}"
    return CommandError(text, exit_code=EXIT_FAILED)


async def _watch(args: argparse.Namespace) -> int:
    token = _token(args)
    answering = _watch_answers.answering_from(args, stdin_is_tty=sys.stdin.isatty())
    op_id, topic = args.operation, args.topic or args.operation
    mode = "new run" if args.new else "attach"
    config = StoreConfig(dial_budget=args.dial_attempts or None)
    with ExitStack() as stack:
        middleware: list[Middleware] = []
        if args.record is not None:
            recorder = open_recorder(
                args.record, operation_id=op_id, config=config, fsync=args.fsync
            )
            middleware.append(stack.enter_context(recorder))
        say(f"watching {op_id} at {operation_url(args.url, op_id)} ({mode})")
        refresh, latest = _refresher(args.token_url, token)
        submit = None if answering.url is None else answer_poster(answering.url, latest)
        async with open_client(
            refresh_token=refresh, submit_intervention=submit, config=config, middleware=middleware
        ) as client:
            follow = client.start if args.new else client.attach
            follow(operation_id=op_id, topic_id=topic, gateway_url=args.url, token=token)
            outcome = await _follow(client, op_id, args.timeout, answering)
            if outcome is None:
                raise _unfinished(client, op_id, args.timeout)
    unreachable = outcome.result is Result.UNREACHABLE  # one line on stderr instead
    if not unreachable:
        detail = f": {outcome.detail}" if outcome.detail else ""
        say(f"{'outcome':<10} {outcome.result} ({outcome.source}){detail}")
    if args.record is not None:
        say(f"recorded to {args.record}")
    if unreachable:  # the detail is the last problem and the count of attempts
        raise CommandError(outcome.detail, exit_code=EXIT_FAILED)
    return EXIT_FAILED if outcome.result in _UNFOLLOWABLE else EXIT_OK
