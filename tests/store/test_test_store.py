"""`TestStore` itself: it must fail loudly, naming the field, whenever a test is too lax."""

from __future__ import annotations

import re

import pytest

from gatewayops.protocol import Heartbeat
from gatewayops.store import ABSENT, ConnectionStatus, GatewayState, OperationStatus, TimerKind
from gatewayops.testing import TestStore, TestStoreFailure, resolve_path

from .helpers import (
    ANY,
    EVER_OPENED,
    OP,
    auth_frame,
    connected_store,
    fired,
    fold,
    link_path,
    opened,
    path,
    send,
    started,
    timer,
)

STATUS = link_path("status")


def _authenticating_store(*, exhaustive: bool = True) -> TestStore:
    return TestStore(fold(GatewayState(), started()), exhaustive=exhaustive)


def test_undeclared_change_fails_and_names_the_path() -> None:
    """A changed leaf that `expect` does not declare fails with its full path."""
    store = _authenticating_store()
    with pytest.raises(TestStoreFailure, match=re.escape("links['op-1'].status")):
        store.send(opened(), {}, effects=[auth_frame()])


def test_wrong_declared_value_fails_and_shows_both_values() -> None:
    """A declared path with another value fails, showing expected and actual."""
    store = _authenticating_store()
    with pytest.raises(
        TestStoreFailure, match=r"links\['op-1'\]\.status.*connected.*authenticating"
    ):
        store.send(opened(), {STATUS: ConnectionStatus.CONNECTED}, effects=[auth_frame()])


def test_declaring_a_prefix_covers_the_whole_subtree() -> None:
    """Declaring `links['op-1']` covers every leaf below it."""
    store = _authenticating_store()
    expected = fold(store.state, opened()).links[OP]
    store.send(opened(), {f"links[{OP!r}]": expected}, effects=[auth_frame()])
    store.finish()


def test_wrong_effects_fail_with_a_field_diff() -> None:
    """Effects other than the asserted ones fail, naming the differing field."""
    store = _authenticating_store()
    with pytest.raises(TestStoreFailure, match=r"\[0\]\.generation"):
        store.send(
            opened(),
            {STATUS: ConnectionStatus.AUTHENTICATING, EVER_OPENED: True},
            effects=[auth_frame(generation=2)],
        )


def test_unasserted_effects_fail_at_finish() -> None:
    """Effects never asserted make `finish` fail, listing them."""
    store = _authenticating_store()
    store.send(opened(), {STATUS: ConnectionStatus.AUTHENTICATING, EVER_OPENED: True})
    with pytest.raises(TestStoreFailure, match="never asserted"):
        store.finish()


def test_unasserted_effects_fail_before_the_next_send() -> None:
    """In exhaustive mode the next `send` refuses to run over unasserted effects."""
    store = _authenticating_store()
    store.send(opened(), {STATUS: ConnectionStatus.AUTHENTICATING, EVER_OPENED: True})
    with pytest.raises(TestStoreFailure, match="left unasserted"):
        store.send(opened(), {})


def test_receive_asserts_pending_effects_in_order() -> None:
    """`receive` consumes the oldest pending effects; a mismatch fails."""
    store = _authenticating_store()
    store.send(opened(), {STATUS: ConnectionStatus.AUTHENTICATING, EVER_OPENED: True})
    with pytest.raises(TestStoreFailure, match="received effects differ"):
        store.receive(send(Heartbeat()))
    store.receive(auth_frame())
    store.finish()


def test_skip_effects_returns_and_drops_them() -> None:
    """`skip_effects` hands back the unasserted effects and clears them."""
    store = _authenticating_store()
    store.send(opened(), {STATUS: ConnectionStatus.AUTHENTICATING, EVER_OPENED: True})
    assert store.skip_effects() == [auth_frame()]
    store.finish()


def test_non_exhaustive_mode_checks_only_declared_paths() -> None:
    """With `exhaustive=False` undeclared changes and leftover effects are allowed."""
    store = _authenticating_store(exhaustive=False)
    store.send(opened(), {})
    store.send(fired(timer(store.state, TimerKind.CONNECT_WATCHDOG)), {})
    store.finish()
    with pytest.raises(TestStoreFailure, match=re.escape(path("status"))):
        store.send(opened(), {path("status"): OperationStatus.FINISHED})


def test_failure_message_names_the_action() -> None:
    """The failure message starts with the action that was sent."""
    store = connected_store()
    tick = timer(store.state, TimerKind.HEARTBEAT)
    with pytest.raises(TestStoreFailure, match=r"(?s)after TimerFired\(.*heartbeat_ticks"):
        store.send(fired(tick), {link_path("missed_heartbeats"): 1}, effects=[ANY])


def test_resolve_path_reads_attributes_and_keys() -> None:
    """`resolve_path` follows `.name` and `['key']`; a missing key resolves to ABSENT."""
    state = fold(GatewayState(), started())
    assert resolve_path(state, STATUS) is ConnectionStatus.CONNECTING
    assert resolve_path(state, path("link_id")) == OP
    assert resolve_path(state, "operations['nope'].status") is ABSENT
    assert resolve_path(state, "links['nope'].status") is ABSENT
    with pytest.raises(ValueError, match="cannot parse"):
        resolve_path(state, "operations[nope]")
