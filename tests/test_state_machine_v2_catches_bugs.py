"""The v2 state machine can fail: each seeded bug of the v2 link is caught (a check that
cannot fail proves nothing). Each test patches one bug into the store and runs
`GatewayMachineV2` derandomized, without shrinking, expecting an invariant to break."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import gatewayops.store._lifecycle as lifecycle
import gatewayops.store._link_v2 as link_v2
import gatewayops.store._mux as mux
import gatewayops.store._mux_loss as mux_loss
from _seeded_bugs import assert_finds_a_violation
from gatewayops.protocol._v2_messages import HubError, Unsubscribe
from gatewayops.store import ConnectionEvent, Link, Operation, SendMessage
from gatewayops.testing._hub_rules import HUB_URL
from gatewayops.testing.state_machine import GatewayMachineV2

Patch = Callable[[pytest.MonkeyPatch], None]


def _unavailable_leaves_sessions_running(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(mux_loss, "finish", lambda op, *args, **kwargs: (op, ()))


def _hub_error_unsubscribes(mp: pytest.MonkeyPatch) -> None:
    real = link_v2.on_operation_frame

    def on_operation_frame(op: Operation, message: Any) -> Any:
        new_op, effects = real(op, message)
        if type(message) is HubError:  # "leaves" the subscription, yet keeps following
            link = link_v2.mux_link_id(HUB_URL)
            leave = SendMessage(link_id=link, generation=0, message=Unsubscribe(operation_id=op.id))
            return new_op, (*effects, leave)
        return new_op, effects

    mp.setattr(mux, "on_operation_frame", on_operation_frame)


def _no_dedup(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(link_v2, "_is_repeat", lambda op, event_id: False)


def _queued_results_never_written(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(link_v2, "wrapped", lambda op, frames: ())


def _echo_guard_off(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(link_v2, "consume_echo", lambda guard: None)


def _ended_sessions_stay_on_the_link(mp: pytest.MonkeyPatch) -> None:
    def released(link: Link, op: Operation) -> Any:
        return link, ()

    mp.setattr(link_v2, "released", released)


def _disconnect_keeps_the_socket(mp: pytest.MonkeyPatch) -> None:
    real = lifecycle.transition

    def transition(table: Any, status: Any, event: Any) -> Any:
        return status if event is ConnectionEvent.HOLD else real(table, status, event)

    mp.setattr(mux, "transition", transition)


SEEDED_BUGS: dict[str, Patch] = {
    "v2 unavailable leaves its sessions running": _unavailable_leaves_sessions_running,
    "a hub error unsubscribes a session that goes on": _hub_error_unsubscribes,
    "a repeated numeric id is delivered again": _no_dedup,
    "a queued tool result is marked sent but never written": _queued_results_never_written,
    "a member's echo ends the supervisor's subscription": _echo_guard_off,
    "an ended session stays on the user's link": _ended_sessions_stay_on_the_link,
    "the application's disconnect leaves the socket up": _disconnect_keeps_the_socket,
}


@pytest.mark.parametrize("seeded", SEEDED_BUGS.values(), ids=SEEDED_BUGS.keys())
def test_seeded_v2_bug_breaks_an_invariant(monkeypatch: pytest.MonkeyPatch, seeded: Patch) -> None:
    """With this bug patched into the v2 link, the v2 state machine finds a violation."""
    seeded(monkeypatch)
    assert_finds_a_violation(GatewayMachineV2, max_examples=500)
