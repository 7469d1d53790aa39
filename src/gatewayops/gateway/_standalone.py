"""The standalone reference gateway: the coroutine behind ``gatewayops serve``.

Owns: `run_gateway` (serve one `open_gateway` and its HTTP endpoint until cancelled,
start demo runs at once and, if asked, periodically; once cancelled, close every socket
with 1001 within `SHUTDOWN_GRACE` before the gateway goes; prints nothing, it logs) and
`StandaloneGateway`, what it reports once it listens.

Must not know: the CLI that prints the URL and the ``watch`` commands.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import NoReturn

import attrs
import trio

from gatewayops.gateway._gateway import Gateway, RunHandle
from gatewayops.gateway._http_endpoint import (
    ANSWER_PATH,
    TOKEN_PATH,
    USER_TOKEN_PATH,
    serve_http_endpoint,
)
from gatewayops.gateway._open_gateway import open_gateway
from gatewayops.gateway._scripts import Script, demo_run
from gatewayops.gateway._tokens import DEFAULT_TOKEN_TTL
from gatewayops.gateway._user_tokens import DEFAULT_USER
from gatewayops.protocol import MUX_PATH, redacted

__all__ = ["SHUTDOWN_GRACE", "StandaloneGateway", "run_gateway"]

SHUTDOWN_GRACE = 2.0
"""Seconds the clients have to answer the 1001 close when the gateway is stopped."""


@attrs.frozen(kw_only=True)
class StandaloneGateway:
    """What `run_gateway` reports once it listens.

    Attributes:
        gateway: the running gateway (start more runs with it).
        url: its base URL.
        token_url: its token endpoint, ``http://HOST:PORT/token`` (see
            `serve_http_endpoint`).
        answer_url: where the user's answers go, ``http://HOST:PORT/answer``.
        v2_url: the protocol v2 endpoint, ``ws://HOST:PORT/v2/ws`` (a client adds
            ``?token=...&clientId=...``).
        user_token_url: the v2 user token service, ``http://HOST:PORT/user-token``.
        user_token: a user token of `DEFAULT_USER` (who owns the demo runs), valid for
            the `token_ttl` given (never shown in a repr).
        demo_runs: the handles of the demo runs started at once.
    """

    gateway: Gateway
    url: str
    token_url: str
    answer_url: str
    v2_url: str
    user_token_url: str
    user_token: str = attrs.field(repr=redacted)
    demo_runs: tuple[RunHandle, ...]


async def run_gateway(
    host: str = "127.0.0.1",
    port: int = 8787,
    *,
    token_port: int = 0,
    demo_runs: int = 0,
    demo_every: float | None = None,
    script: Callable[[], Script] = demo_run,
    token_ttl: float = DEFAULT_TOKEN_TTL,
    on_run: Callable[[RunHandle], None] | None = None,
    task_status: trio.TaskStatus[StandaloneGateway] = trio.TASK_STATUS_IGNORED,
) -> NoReturn:
    """Serve a reference gateway until cancelled (``gatewayops serve``); prints nothing.

    Use it with ``await nursery.start(run_gateway, ...)`` to learn the URL and the demo
    runs' handles (a CLI prints ``watch`` commands from them).

    Args:
        host: a loopback address to bind.
        port: the port (``0`` picks a free one).
        token_port: the HTTP endpoint's port on the same host (``0``: a free one).
        demo_runs: how many runs of `script` to start at once.
        demo_every: if set, start one more run of `script` every this many seconds.
        script: makes the script of each demo run.
        token_ttl: lifetime in seconds of the tokens in the handles (and of the user
            token reported).
        on_run: called with the handle of every periodic run.
        task_status: Trio's start protocol; receives a `StandaloneGateway`.
    """
    async with open_gateway(host, port) as gateway, trio.open_nursery() as nursery:
        endpoint = partial(serve_http_endpoint, gateway, host, token_port, token_ttl=token_ttl)
        base: str = await nursery.start(endpoint)
        handles = tuple(gateway.start_run(script(), token_ttl=token_ttl) for _ in range(demo_runs))
        started = StandaloneGateway(
            gateway=gateway,
            url=gateway.url,
            token_url=base + TOKEN_PATH,
            answer_url=base + ANSWER_PATH,
            v2_url=gateway.url + MUX_PATH,
            user_token_url=base + USER_TOKEN_PATH,
            user_token=gateway.v2.issue_user_token(DEFAULT_USER, token_ttl),
            demo_runs=handles,
        )
        task_status.started(started)
        try:
            while demo_every is not None:
                await trio.sleep(demo_every)
                handle = gateway.start_run(script(), token_ttl=token_ttl)
                if on_run is not None:
                    on_run(handle)
            await trio.sleep_forever()
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(SHUTDOWN_GRACE):
                await gateway.go_away()
    raise AssertionError("unreachable")  # pragma: no cover
