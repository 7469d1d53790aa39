"""`open_client`: a client's whole life as an ``async with`` block.

Owns: checking `open_client`'s arguments (a positive `max_concurrent_dials`, the
protocol and fallback asked for, which it writes into the `StoreConfig`, and v2's
required `user_token`), the client's id (v2 dials with it), and the block itself: a
nursery that holds the `Runtime` with its dependencies, the optional invariant watch
and recorder as middleware, the optional pacing of full garbage collections (quiet when
no socket is open), and the `Client` yielded, shut down on the way out (the
nursery then waits for the closing tasks). Must not know: what the client's methods
do, or how the runtime carries anything out.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from functools import partial

import attrs
import trio

from gatewayops.effects._client import Client
from gatewayops.effects._gc_pacing import check_collection_pacing, pace_full_collections
from gatewayops.effects._handlers import (
    FetchMessagesFn,
    InterruptFn,
    RefreshTokenFn,
    SubmitInterventionFn,
    ToolHandler,
    UserTokenFn,
)
from gatewayops.effects._runtime import Runtime
from gatewayops.store import InvariantWatch, Middleware, Protocol, StoreConfig
from gatewayops.transport import Transport, WebSocketTransport

__all__ = ["DEFAULT_CONCURRENT_DIALS", "open_client"]

DEFAULT_CONCURRENT_DIALS = 64
"""Handshakes a client has in flight at once, unless told otherwise."""


def _configured(
    config: StoreConfig, protocol: Protocol | str | None, fallback: str | None
) -> StoreConfig:
    """`config` with the protocol and fallback `open_client` was given (when given)."""
    if protocol is not None:
        config = attrs.evolve(config, protocol=protocol)
    if fallback is not None:
        if fallback != "v1":
            raise ValueError(f"fallback: expected 'v1' or None, got {fallback!r}")
        config = attrs.evolve(config, v2_fallback=True)
    return config


@asynccontextmanager
async def open_client(
    *,
    refresh_token: RefreshTokenFn,
    interrupt: InterruptFn | None = None,
    submit_intervention: SubmitInterventionFn | None = None,
    fetch_messages: FetchMessagesFn | None = None,
    tools: Mapping[str, ToolHandler] | None = None,
    config: StoreConfig | None = None,
    transport: Transport | None = None,
    random_seed: int | None = None,
    jitter: bool = True,
    middleware: Sequence[Middleware] = (),
    recorder: Middleware | None = None,
    check_invariants: bool = False,
    max_concurrent_dials: int = DEFAULT_CONCURRENT_DIALS,
    protocol: Protocol | str | None = None,
    user_token: UserTokenFn | None = None,
    fallback: str | None = None,
    full_collection_every: float | None = None,
    full_collection_while_busy: bool = True,
) -> AsyncIterator[Client]:
    """Run a client for the duration of an ``async with`` block.

    Args:
        refresh_token: ``await refresh_token(topic_id)`` returns a fresh JWT; raising
            `OperationNotFound` ends the operation as gone, other errors are retried
            within the refresh budget.
        interrupt: ``await interrupt(operation_id, topic_id)`` asks the server to stop a
            run; True or None confirms, False or an exception means not stopped.
            Without it, `Client.stop` never stops anything.
        submit_intervention: ``await submit_intervention(submission)`` gives the
            producer the user's answer to an intervention (a `SubmitIntervention`:
            the tool call, the resolution request id, the result or a decline); raise
            if it did not arrive. Without it, every answer fails (and stays
            answerable).
        fetch_messages: ``await fetch_messages(operation_id, topic_id)`` returns the
            server's message list (JSON data, as `uiMessages`; or ``{"messages": [...],
            "revision": n}``) when `message_patch` revisions could not be applied or the
            run ended at a revision the transcript does not hold (PROTOCOL.md 7.8). It
            may run after the operation finished: its answer changes only the
            transcript. Without it, the transcript stays flagged `needs_refetch`.
        tools: client tool handlers keyed ``"identifier/apiName"`` or ``"identifier"``;
            each gets the parsed arguments and returns a str or any JSON value.
        config: protocol timings and budgets (default `StoreConfig()`).
        transport: how to reach the gateway (default `WebSocketTransport()`).
        random_seed: seed of the jitter applied to backoff delays (reproducible runs).
        jitter: False arms backoff timers with their exact delay (for tests).
        middleware: passed to the `Store`; sees every (state, action, step), e.g. a
            recorder.
        recorder: a `gatewayops.replay.Recorder` (or any middleware), appended to
            `middleware`: ``with open_recorder(path) as recorder:
            async with open_client(..., recorder=recorder)``.
        check_invariants: a debug mode: check every step against the protocol's
            invariants (`gatewayops.store.InvariantChecker`, O(1) per step); each
            violation is logged at ERROR on ``gatewayops.invariants`` and kept in
            `Client.invariant_violations`. The run itself is not changed.
        max_concurrent_dials: handshakes in flight at once (dial to open socket); more
            dials wait their turn, in order, and each one's connect watchdog counts
            from its own start, so thousands of starts connect without a storm.
        protocol: ``"v1"`` (one socket per operation, the default) or ``"v2"`` (one
            socket per user carrying every operation followed; PROTOCOL.md 7); sets
            `StoreConfig.protocol`.
        user_token: v2: ``await user_token()`` returns a fresh user-level JWT; awaited
            before every dial of the user's socket (a failure counts as a failed
            dial). Required with v2.
        fallback: v2: ``"v1"`` moves every live operation to a v1 socket of its own
            when v2 cannot be had (`StoreConfig.v2_dial_budget`); None (the default)
            ends them as unreachable instead. Sets `StoreConfig.v2_fallback`.
        full_collection_every: None (the default) leaves the garbage collector alone.
            Seconds S: while the client is open, CPython's automatic full collections
            (each a pause that grows with every live object) are deferred, and the
            client runs one itself S seconds after its last, at the first moment no
            socket is open, or S seconds later at the latest (docs/performance.md).
            Process-wide, like the collector: the deferral ends when the last client
            that asked for it closes.
        full_collection_while_busy: with `full_collection_every`, False drops the "S
            seconds later at the latest": a due full collection waits for a moment with
            no socket open however long that takes, so none pauses a stream (at 10,000
            live operations one takes seconds). Cycles the application makes wait
            with it, until such a moment or a `gc.collect()` of its own; the client
            makes none (docs/performance.md).

    Raises:
        ValueError: an argument out of range: `max_concurrent_dials`, an unknown
            `protocol` or `fallback`, v2 without `user_token`, a
            `full_collection_every` that is not positive seconds, or
            `full_collection_while_busy` that is not a bool, or False without a pace.

    Yields:
        The client. Leaving the block closes it like `Client.aclose`.
    """
    if type(max_concurrent_dials) is not int or max_concurrent_dials <= 0:
        raise ValueError(
            f"max_concurrent_dials: expected a positive int, got {max_concurrent_dials!r}"
        )
    check_collection_pacing(full_collection_every, full_collection_while_busy)
    store_config = _configured(StoreConfig() if config is None else config, protocol, fallback)
    if store_config.protocol is Protocol.V2 and user_token is None:
        raise ValueError("protocol v2: user_token is required (the user's socket needs one)")
    watch = InvariantWatch(store_config) if check_invariants else None
    extra = tuple(m for m in (watch, recorder) if m is not None)
    async with trio.open_nursery() as nursery:
        runtime = Runtime(
            nursery,
            WebSocketTransport() if transport is None else transport,
            config=store_config,
            refresh_token=refresh_token,
            interrupt=interrupt,
            submit_intervention=submit_intervention,
            fetch_messages=fetch_messages,
            tools={} if tools is None else tools,
            jitter=jitter,
            random_seed=random_seed,
            middleware=(*middleware, *extra),
            max_concurrent_dials=max_concurrent_dials,
            user_token=user_token,
            client_id=uuid.uuid4().hex,
        )
        client = Client(runtime, watch)
        pacing = trio.CancelScope()
        if full_collection_every is not None:

            def quiet() -> bool:
                return runtime.statistics().open_sockets == 0

            pacing = await nursery.start(
                partial(
                    pace_full_collections,
                    full_collection_every,
                    quiet,
                    while_busy=full_collection_while_busy,
                )
            )
        try:
            yield client
        finally:
            pacing.cancel()
            client._shutdown()  # the nursery then waits for the closing tasks
