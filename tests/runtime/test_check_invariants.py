"""The debug mode `open_client(check_invariants=True)`: every step of a live client is
checked with the store's `InvariantChecker`, and what breaks is logged and kept."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import trio

import gatewayops.store._endings as endings
import gatewayops.store._link_v1 as link_v1
import gatewayops.store._mux_loss as mux_loss
from gatewayops.effects import open_client
from gatewayops.protocol import AuthFailed
from gatewayops.store import Violation
from gatewayops.transport import MemoryTransport

from .helpers import (
    GATEWAY,
    OP,
    TOKEN,
    TOPIC,
    chunk,
    client_on,
    handshake,
    refresh_ok,
    runtime_end,
)
from .mux_helpers import OP2, UserTokens, start


def _auth_failed_not_terminal(mp: pytest.MonkeyPatch) -> None:
    """Seed a reducer bug: `auth_failed` no longer ends the operation."""
    mp.setattr(link_v1, "on_auth_rejected", lambda op, reason: (op, ()))


async def _run_into_auth_failed(
    transport: MemoryTransport, *, check_invariants: bool
) -> tuple[Violation, ...]:
    async with client_on(transport, check_invariants=check_invariants) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        server, _ = await handshake(transport)
        server.send_message(chunk("hi", id="1"))
        server.send_message(AuthFailed(reason="token revoked"))
        await trio.sleep(1)  # autojump: lets the frames be handled
        return client.invariant_violations


async def test_a_clean_run_breaks_no_invariant(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """A run that streams and ends has every step checked and nothing reported."""
    async with client_on(transport, check_invariants=True) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        server, _ = await handshake(transport)
        server.send_message(chunk("hello", id="1"))
        server.send_message(runtime_end(id="2"))
        await client.wait_finished(OP)
        assert client.invariant_violations == ()


async def test_a_broken_invariant_is_kept_and_logged_at_error(
    transport: MemoryTransport,
    autojump_clock: trio.testing.MockClock,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a seeded bug (auth_failed not terminal), the live client reports
    `authentication-decides`, in `invariant_violations` and on the ERROR log."""
    _auth_failed_not_terminal(monkeypatch)
    caplog.set_level(logging.ERROR, logger="gatewayops.invariants")
    violations = await _run_into_auth_failed(transport, check_invariants=True)
    assert [v.invariant for v in violations] == ["authentication-decides"]
    assert any(
        r.name == "gatewayops.invariants" and "authentication-decides" in r.getMessage()
        for r in caplog.records
    )


async def test_invariants_are_not_checked_unless_asked(
    transport: MemoryTransport,
    autojump_clock: trio.testing.MockClock,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """By default (no debug mode) the same bug goes unreported: checking is opt-in."""
    _auth_failed_not_terminal(monkeypatch)
    caplog.set_level(logging.ERROR, logger="gatewayops.invariants")
    assert await _run_into_auth_failed(transport, check_invariants=False) == ()
    assert not [r for r in caplog.records if r.name == "gatewayops.invariants"]


async def test_a_second_notify_in_a_link_wide_v2_step_is_caught(
    transport: MemoryTransport,
    autojump_clock: trio.testing.MockClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a seeded bug (v2 unavailable notifies each run twice), the step of the
    user's link that ends both runs is reported as `notify-once` for each of them (a
    correct such step, one notice per run, is clean: see the v2 runtime tests)."""

    def finish_twice(*args: Any) -> Any:
        op, effects = endings.finish(*args)
        return op, (*effects, *effects)

    monkeypatch.setattr(mux_loss, "finish", finish_twice)
    transport.refuse_next(3)
    async with open_client(
        refresh_token=refresh_ok,
        transport=transport,
        jitter=False,
        protocol="v2",
        user_token=UserTokens(),
        check_invariants=True,
    ) as client:
        for op in (OP, OP2):
            start(client, op)
        await client.wait_finished(OP)
        violations = client.invariant_violations
    assert sorted((v.invariant, v.operation_id) for v in violations) == [
        ("notify-once", OP),
        ("notify-once", OP2),
    ]
