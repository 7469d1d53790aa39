"""`gatewayops serve`: the reference gateway as a standalone server on loopback.

Owns: the ``serve`` subcommand -- checking that the host is a loopback address,
running `gatewayops.gateway.run_gateway` until Ctrl-C or SIGTERM (which close every
socket with 1001), and printing where it listens, its HTTP endpoint's token and answer
URLs, its protocol v2 endpoint and user token URL, for every demo run it starts a
copy-pasteable ``gatewayops watch`` command (with ``--topic``, ``--token-url`` and
``--answer-url``), one ``gatewayops watch --protocol v2`` command following the first
demo runs over one socket (with the user token and the user token URL), and then one
line per gateway log record: each connection,
authentication verdict, rejected handshake, close, and run end. The first line printed
is always ``listening on ws://HOST:PORT`` so scripts can read it.

The watch commands carry the run's token (the v2 one, the user's): it is a short-lived
token for demo runs of this loopback gateway, and a watch in another process needs it
(``--token-url`` renews it once it expires). They are the one thing printed without
`say`'s redaction; the log lines go through `say` too, and nothing else prints a token.

Must not know: how the gateway works inside, or what `watch` does with the command.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import logging
import shlex
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

import trio

from gatewayops.cli._commands import finite_float
from gatewayops.cli._console import run_command
from gatewayops.cli._endings import EXIT_FAILED, CommandError, leaves, say
from gatewayops.gateway import (
    ASK_KINDS,
    DEFAULT_TOKEN_TTL,
    RunHandle,
    Script,
    StandaloneGateway,
    asking_run,
    demo_run,
    run_gateway,
)

__all__ = ["DEFAULT_DELAY", "DEFAULT_PORT", "register", "v2_watch_command", "watch_command"]

DEFAULT_PORT = 8787
"""The port `serve` listens on unless told otherwise."""

DEFAULT_DELAY = 0.4
"""Seconds between two events of a demo run: slow enough to watch it stream."""

_MAX_PORT = 65_535

_ASK_WAIT_MS = 300_000
"""How long a ``--ask`` run waits for the user: time to read the question and type."""


def register(parser: argparse.ArgumentParser) -> None:
    """Describe the ``serve`` subcommand and add its arguments to `parser`."""
    parser.description = (
        "Run the reference gateway (protocol v1 on /ws, v2 on /v2/ws) on a loopback "
        "address until Ctrl-C, start demo runs on it and print how to follow them with "
        "`gatewayops watch`."
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="loopback address to bind (default: 127.0.0.1)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port to listen on, 0 for any free one (default: {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--token-port",
        type=int,
        default=0,
        help="port of the HTTP endpoint (tokens, answers) on the same host (default: any free one)",
    )
    parser.add_argument(
        "--ask",
        choices=ASK_KINDS,
        metavar="KIND",
        help=f"demo runs whose agent asks the user: one of {', '.join(ASK_KINDS)}",
    )
    parser.add_argument(
        "--runs", type=int, default=2, help="demo runs to start at once (default: 2)"
    )
    parser.add_argument(
        "--every",
        type=finite_float,
        metavar="SECONDS",
        help="start one more demo run every SECONDS (default: never)",
    )
    parser.add_argument(
        "--delay",
        type=finite_float,
        metavar="SECONDS",
        default=DEFAULT_DELAY,
        help=f"pause after each event of a demo run (default: {DEFAULT_DELAY:g})",
    )
    parser.add_argument(
        "--token-ttl",
        type=finite_float,
        metavar="SECONDS",
        default=DEFAULT_TOKEN_TTL,
        help=f"lifetime of the printed tokens (default: {DEFAULT_TOKEN_TTL:.0f})",
    )
    parser.set_defaults(func=_handle)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check(args: argparse.Namespace) -> None:
    if not _is_loopback(args.host):
        raise CommandError(
            f"--host {args.host}: the reference gateway is a test server and binds to "
            "loopback only (127.0.0.1, ::1 or localhost)"
        )
    for option, port in (("--port", args.port), ("--token-port", args.token_port)):
        if not 0 <= port <= _MAX_PORT:
            raise CommandError(f"{option} {port}: expected 0..{_MAX_PORT}")
    if args.runs < 0:
        raise CommandError(f"--runs {args.runs}: expected 0 or more")
    if args.every is not None and args.every <= 0:
        raise CommandError(f"--every {args.every:g}: expected a positive number of seconds")
    if args.delay < 0:
        raise CommandError(f"--delay {args.delay:g}: expected 0 or more seconds")
    if args.token_ttl <= 0:
        raise CommandError(f"--token-ttl {args.token_ttl:g}: expected a positive number")


def _handle(args: argparse.Namespace) -> int:
    return run_command("serve", _serve, args)


def watch_command(started: StandaloneGateway, run: RunHandle) -> str:
    """The shell command that follows `run` on the gateway `started` (with its token, its
    topic, and the token endpoint that renews the token once it expires)."""
    command = ["gatewayops", "watch", started.url, "--operation", run.operation_id]
    command += ["--topic", run.topic_id, "--token-url", started.token_url]
    command += ["--answer-url", started.answer_url]
    return shlex.join([*command, "--token", run.token])


def v2_watch_command(started: StandaloneGateway) -> str:
    """The shell command that follows every first demo run of the gateway `started` over
    one v2 socket (with the user token, and the user token service that renews it)."""
    command = ["gatewayops", "watch", started.url]
    command += [run.operation_id for run in started.demo_runs]  # right after the URL
    command += ["--protocol", "v2", "--token-url", started.user_token_url]
    return shlex.join([*command, "--token", started.user_token])


def _announce(started: StandaloneGateway, token_ttl: float, run: RunHandle) -> None:
    say(f"demo run {run.operation_id} on {run.topic_id} (token valid {token_ttl:g} s):")
    # The one line any command prints with a token in it, on purpose: `say` would redact it.
    print(f"  {watch_command(started, run)}", flush=True)


class _SayHandler(logging.Handler):
    """Prints each gateway log record as one timestamped line, through `say`, once
    `shown` is set (the start-up records repeat what `serve` prints itself)."""

    def __init__(self) -> None:
        super().__init__()
        self.shown = False

    def emit(self, record: logging.LogRecord) -> None:
        if self.shown:
            stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
            say(f"{stamp} {record.getMessage()}")


@contextmanager
def _gateway_log(handler: _SayHandler) -> Iterator[None]:
    """For the block, send the reference gateway's INFO records to `handler` only."""
    log = logging.getLogger("gatewayops.gateway")
    level, propagate = log.level, log.propagate
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
        log.propagate = propagate


def _script(args: argparse.Namespace) -> Callable[[], Script]:
    """What each demo run plays: the demo run, or with ``--ask`` a run that asks."""
    if args.ask is None:
        return partial(demo_run, delay=args.delay)
    return partial(asking_run, args.ask, wait_ms=_ASK_WAIT_MS, delay=args.delay)


async def _serve(args: argparse.Namespace) -> int:
    _check(args)
    started: list[StandaloneGateway] = []

    def on_run(run: RunHandle) -> None:
        _announce(started[0], args.token_ttl, run)

    serve = partial(
        run_gateway,
        args.host,
        args.port,
        token_port=args.token_port,
        demo_runs=args.runs,
        demo_every=args.every,
        script=_script(args),
        token_ttl=args.token_ttl,
        on_run=on_run,
    )
    handler = _SayHandler()
    try:
        with _gateway_log(handler):
            async with trio.open_nursery() as nursery:
                gateway: StandaloneGateway = await nursery.start(serve)
                started.append(gateway)
                say(f"listening on {gateway.url}  (Ctrl-C to stop)")
                say(f"token endpoint {gateway.token_url} (renews a run's expired token)")
                say(f"answer endpoint {gateway.answer_url} (takes the user's answers)")
                say(f"v2 endpoint {gateway.v2_url} (protocol v2: one socket per user)")
                say(f"user token endpoint {gateway.user_token_url} (v2: a fresh user token)")
                for run in gateway.demo_runs:
                    _announce(gateway, args.token_ttl, run)
                if gateway.demo_runs:
                    say(f"all of them over one v2 socket (token valid {args.token_ttl:g} s):")
                    # Printed with its token on purpose, as the watch commands above.
                    print(f"  {v2_watch_command(gateway)}", flush=True)
                handler.shown = True
    except* OSError as group:
        error = next(leaf for leaf in leaves(group) if isinstance(leaf, OSError))
        reason = "the port is in use" if error.errno == errno.EADDRINUSE else error.strerror
        raise CommandError(
            f"cannot listen on {args.host}:{args.port}: {reason or error}", exit_code=EXIT_FAILED
        ) from None
    raise AssertionError("unreachable: run_gateway serves until cancelled")  # pragma: no cover
