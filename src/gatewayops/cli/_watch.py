"""`gatewayops watch`: follow operations on any gateway to their end, over v1 or v2.

Owns: the ``watch`` subcommand -- checking its arguments (a gateway URL with a host
and a port in 1-65535, a non-empty token from ``--token`` or ``GATEWAYOPS_TOKEN``, one
operation over v1 -- ``--operation`` or an ``OPERATION_ID`` -- and one or more over
``--protocol v2``), running the real client for them (attach by default, ``--new`` for
runs followed from their first event), printing each change as one line (the lines of
`_watch_lines`; with several operations each line starts with its operation's id; and
the outcome),
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
is spent. Over v2 the token is the user's, and ``--token-url`` is the user token
service (the reference gateway's ``/user-token``, which speaks the same protocol):
before every dial of the user's one socket the latest user token is traded there for
a fresh one; without it every dial uses the token given, so a 4401 close ends the
operations as auth failures once its retries are spent. v2 has no run token, so
``--answer-url`` and ``--record`` (a recording of one operation) are v1's. The token
is never printed: states and actions redact it, and every line goes
through `say`, which redacts anything shaped like a token (say, an `auth_failed` reason
that echoes it).

The agent's requests for the user (PROTOCOL.md 6.2) are shown as they are asked and
answered as `_watch_answers` says: at the terminal when stdin is one, with ``--answer``
or ``--decline`` for scripts, posted to ``--answer-url`` (`_answer_client`, with the
run's latest token).

Must not know: the reference gateway (this works against any gateway of either
protocol).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from pathlib import Path

import trio

from gatewayops.cli import _watch_answers
from gatewayops.cli._answer_client import answer_poster
from gatewayops.cli._commands import TOKEN_ENV, finite_float, gateway_url, token_from
from gatewayops.cli._console import run_command
from gatewayops.cli._endings import EXIT_FAILED, EXIT_OK, CommandError, say
from gatewayops.cli._token_client import check_token_url, fetch_token
from gatewayops.cli._watch_answers import Answering, Asker, human_lines
from gatewayops.cli._watch_lines import changes
from gatewayops.effects import Client, open_client
from gatewayops.exceptions import TokenUnavailable
from gatewayops.protocol import mux_url, operation_url, redact_secrets
from gatewayops.replay import open_recorder
from gatewayops.store import (
    ConnectionStatus,
    Link,
    Middleware,
    Operation,
    Outcome,
    Protocol,
    Result,
    StoreConfig,
)

__all__ = ["DEFAULT_DIAL_ATTEMPTS", "NO_RUN_TOKEN", "NO_TOKEN_URL", "register"]

DEFAULT_DIAL_ATTEMPTS = 3
"""Failed dials in a row after which `watch` gives up on a gateway it never reached."""

_UNFOLLOWABLE = frozenset({Result.AUTH_FAILED, Result.GONE, Result.REJECTED})


NO_TOKEN_URL = (
    "the token expired and watch cannot get a fresh one: pass --token-url (gatewayops "
    "serve prints it), or run watch again with a fresh --token"
)
"""The problem an expired token is, without ``--token-url``."""

NO_RUN_TOKEN = "protocol v2 follows with the user's token: there is no run token to refresh"
"""Why a v2 watch never refreshes a run's token (it does not fall back to v1)."""


def register(parser: argparse.ArgumentParser) -> None:
    """Describe the ``watch`` subcommand and add its arguments to `parser`."""
    parser.description = (
        "Follow one operation (protocol v1) or several over one socket (--protocol v2) "
        "on any gateway, printing streamed text and state changes, until they finish. "
        "Exit 0 when they finished, 1 when one could not be followed (auth failure, "
        "gone, rejected, or --timeout)."
    )
    parser.add_argument(
        "url",
        type=gateway_url,
        help="gateway base URL (ws://HOST:PORT, wss://, http:// or https://)",
    )
    parser.add_argument(
        "operations",
        nargs="*",
        metavar="OPERATION_ID",
        help="the operation to follow (v2: one or more), if not given as --operation; "
        "the ids come right after the URL",
    )
    parser.add_argument("--operation", metavar="ID", help="operation id")
    parser.add_argument(
        "--protocol",
        choices=[protocol.value for protocol in Protocol],
        default=Protocol.V1.value,
        help="v1: a socket for the operation (default); v2: one socket for them all",
    )
    parser.add_argument(
        "--token",
        metavar="JWT",
        help=f"auth token, v2: the user's (default: ${TOKEN_ENV}); never printed",
    )
    parser.add_argument("--topic", metavar="ID", help="topic id (default: the operation id)")
    parser.add_argument(
        "--token-url",
        metavar="URL",
        help="token endpoint that renews an expired token (http://HOST:PORT/token; "
        "v2: the user token service, http://HOST:PORT/user-token)",
    )
    parser.add_argument(
        "--record", metavar="FILE", type=Path, help="record the session as JSON Lines (v1)"
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
        f"default {DEFAULT_DIAL_ATTEMPTS}; 0: never give up, v1 only)",
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


def _operations(args: argparse.Namespace, protocol: Protocol) -> list[str]:
    """The operations to follow, checked for the protocol; raises `CommandError`."""
    given = [*([] if args.operation is None else [args.operation]), *args.operations]
    if not given:
        raise CommandError("no operation: pass --operation ID or OPERATION_ID")
    if any(not operation.strip() for operation in given):
        raise CommandError("--operation / OPERATION_ID: must not be empty")
    if len(set(given)) != len(given):
        raise CommandError("--operation / OPERATION_ID: an operation is named twice")
    if protocol is Protocol.V1 and len(given) > 1:
        raise CommandError(
            "protocol v1 follows one operation per socket: name one, or pass --protocol v2"
        )
    if len(given) > 1 and args.topic is not None:
        raise CommandError("--topic names the topic of one operation")
    return given


def _check(args: argparse.Namespace, protocol: Protocol) -> tuple[str, list[str]]:
    """The checked token and operations; raises `CommandError` for any bad argument."""
    token = token_from(args.token)
    operations = _operations(args, protocol)
    if args.fsync and args.record is None:
        raise CommandError("--fsync goes with --record")
    if args.timeout is not None and args.timeout <= 0:
        raise CommandError(f"--timeout {args.timeout:g}: expected a positive number")
    if args.dial_attempts < 0:
        raise CommandError(f"--dial-attempts {args.dial_attempts}: expected 0 or more")
    if protocol is Protocol.V2:
        for option, given in (
            ("--answer-url", args.answer_url),
            ("--record", args.record),
            ("--dial-attempts 0", args.dial_attempts == 0 or None),
        ):
            if given is not None:
                raise CommandError(f"{option} is protocol v1's (v2 has no run token or budget 0)")
    if args.token_url is not None:
        try:
            check_token_url(args.token_url)
        except ValueError as error:
            raise CommandError(f"--token-url: {error}") from None
    return token, operations


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


def _user_tokens(token_url: str | None, token: str) -> Callable[[], Awaitable[str]]:
    """The v2 `user_token` dependency: before every dial, the latest user token traded
    for a fresh one at `token_url`, or the token given when there is none."""
    latest = [token]

    async def user_token() -> str:
        if token_url is not None:
            latest[0] = await fetch_token(token_url, latest[0])
        await trio.lowlevel.checkpoint()
        return latest[0]

    return user_token


async def _no_run_token(topic_id: str) -> str:
    await trio.lowlevel.checkpoint()
    raise TokenUnavailable(NO_RUN_TOKEN)


async def _follow(
    client: Client,
    operation_id: str,
    timeout: float | None,
    answering: Answering,
    prefix: str,
) -> Outcome | None:
    """Print every change of the operation (each line after `prefix`) until it
    finishes, answering the agent's requests meanwhile; None if `timeout` passed."""
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
                    say(prefix + line)
                asker.update(nursery, op)
                previous, previous_link = op, link
            outcome = await client.wait_finished(operation_id)
        nursery.cancel_scope.cancel()  # a prompt still open has nothing left to answer
    return outcome


def _unfinished(client: Client, operation_id: str, timeout: float) -> str:
    """The problem of a run that did not finish in time, naming the last problem unless
    the socket is connected (an old problem would then mislead)."""
    op = client.state.operations[operation_id]
    text = f"{operation_id} did not finish within {timeout:g} s"
    if op.last_problem and client.state.link_of(op).status is not ConnectionStatus.CONNECTED:
        text += f": {op.last_problem}"
    return text


def _intro(args: argparse.Namespace, token: str, operations: list[str]) -> str:
    mode = "new run" if args.new else "attach"
    if args.protocol == Protocol.V1:
        return f"watching {operations[0]} at {operation_url(args.url, operations[0])} ({mode})"
    url = redact_secrets(mux_url(args.url, token, "watch"))  # ?token=<redacted>
    return f"watching {', '.join(operations)} at {url} over protocol v2 ({mode})"


async def _watch(args: argparse.Namespace) -> int:
    protocol = Protocol(args.protocol)
    token, operations = _check(args, protocol)
    answering = _watch_answers.answering_from(args, stdin_is_tty=sys.stdin.isatty())
    v2 = protocol is Protocol.V2
    config = StoreConfig(
        dial_budget=args.dial_attempts or None,
        protocol=protocol,
        v2_dial_budget=args.dial_attempts or DEFAULT_DIAL_ATTEMPTS,
    )
    outcomes: dict[str, Outcome | None] = {}
    with ExitStack() as stack:
        middleware: list[Middleware] = []
        if args.record is not None:
            recorder = open_recorder(
                args.record, operation_id=operations[0], config=config, fsync=args.fsync
            )
            middleware.append(stack.enter_context(recorder))
        say(_intro(args, token, operations))
        refresh, latest = _refresher(args.token_url, token)
        submit = None if answering.url is None else answer_poster(answering.url, latest)
        async with open_client(
            refresh_token=_no_run_token if v2 else refresh,
            submit_intervention=submit,
            config=config,
            middleware=middleware,
            user_token=_user_tokens(args.token_url, token) if v2 else None,
        ) as client:
            follow = client.start if args.new else client.attach
            for op_id in operations:
                topic = args.topic or op_id
                run_token = "" if v2 else token
                follow(operation_id=op_id, topic_id=topic, gateway_url=args.url, token=run_token)
            async with trio.open_nursery() as nursery:
                for op_id in operations:
                    prefix = f"{op_id}  " if len(operations) > 1 else ""

                    async def one(op_id: str = op_id, prefix: str = prefix) -> None:
                        outcomes[op_id] = await _follow(
                            client, op_id, args.timeout, answering, prefix
                        )

                    nursery.start_soon(one)
            late = [
                _unfinished(client, op_id, args.timeout)
                for op_id in operations
                if outcomes[op_id] is None
            ]
    return _ending(args, operations, outcomes, late)


def _ending(
    args: argparse.Namespace,
    operations: list[str],
    outcomes: dict[str, Outcome | None],
    late: list[str],
) -> int:
    """Print each outcome; the exit code, or a `CommandError` naming what could not be
    followed to its end (too late, or a gateway never reached)."""
    problems = list(late)
    failed = False
    for op_id in operations:
        outcome = outcomes[op_id]
        if outcome is None:
            continue
        prefix = f"{op_id}  " if len(operations) > 1 else ""
        if outcome.result is Result.UNREACHABLE:  # the detail: the last problem, the count
            problems.append(outcome.detail)
            continue
        detail = f": {outcome.detail}" if outcome.detail else ""
        say(f"{prefix}{'outcome':<10} {outcome.result} ({outcome.source}){detail}")
        failed = failed or outcome.result in _UNFOLLOWABLE
    if args.record is not None:
        say(f"recorded to {args.record}")
    if problems:
        raise CommandError("; ".join(dict.fromkeys(problems)), exit_code=EXIT_FAILED)
    return EXIT_FAILED if failed else EXIT_OK
