"""A Hypothesis state machine that drives the pure reducer against a simple model.

`GatewayMachine` plays the application, the transport, the timers and every effect
handler at once, in arbitrary interleavings, over several operations and topics: server
messages (valid, duplicated, out of order, foreign operation ids, echoes, terminal or
not), socket events of the current or a stale generation, timer firings (live or long
gone), refresh results, tool results, send failures, stops, detaches, re-attaches,
tokens replaced, reconnects and internal failures. After every step it runs the store's
one `InvariantChecker` (PROTOCOL.md section 11) and compares the state with its own
model (`gatewayops.testing._model`: notifications, markers, echoes, events accepted).
Use it as::

    from gatewayops.testing.state_machine import GatewayMachine
    TestGatewayMachine = GatewayMachine.TestCase

`GatewayMachineV2` is the same machine on protocol v2: every operation is a session of
the user's one link (PROTOCOL.md 7), and it adds the hub's rules (`ready`, frames routed
by their envelope with numeric ids, repeats and none, 4401 closes, the network coming
back) to all of the above, which keep driving the socket and the v1 links of operations
that fell back (`v2_fallback`, drawn with the dial budget and keep-alive)::

    from gatewayops.testing.state_machine import GatewayMachineV2
    TestGatewayMachineV2 = GatewayMachineV2.TestCase

Owns: the machines as a whole and their one invariant against the model; their parts
live in `_machine_base` (state, the checked step, choosing an operation),
`_app_and_effect_rules`, `_socket_and_server_rules` and `_hub_rules`, and the actions
they draw in `gatewayops.testing.strategies`. Must not know: Trio or I/O (they only
call `reduce`).
"""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis.stateful import initialize, invariant

from gatewayops.store import Protocol, StoreConfig
from gatewayops.testing._app_and_effect_rules import AppAndEffectRules
from gatewayops.testing._hub_rules import HubRules
from gatewayops.testing._socket_and_server_rules import SocketAndServerRules

__all__ = ["GatewayMachine", "GatewayMachineV2"]


class GatewayMachine(AppAndEffectRules, SocketAndServerRules):
    """Random interleavings of everything that can happen to operations, checked."""

    @invariant()
    def the_state_agrees_with_the_model(self) -> None:
        """Notifications, outcomes, markers, loading flags and events accepted, as modelled."""
        self.model.check(self.state)


class GatewayMachineV2(HubRules, GatewayMachine):
    """The same over protocol v2: many sessions on the user's one link, and the fallback."""

    @initialize(
        refresh_budget=st.integers(min_value=1, max_value=3),
        retain_finished=st.sampled_from([1, 2, 1_000]),
        dial_budget=st.integers(min_value=1, max_value=3),
        fallback=st.booleans(),
        keep_alive=st.booleans(),
    )
    def configure(
        self,
        refresh_budget: int,
        retain_finished: int,
        dial_budget: int,
        fallback: bool,
        keep_alive: bool,
    ) -> None:
        """Protocol v2 with small budgets, the fallback to v1 on or off, lazy or kept alive."""
        self._configure(
            StoreConfig(
                protocol=Protocol.V2,
                refresh_budget=refresh_budget,
                retain_finished=retain_finished,
                v2_dial_budget=dial_budget,
                v2_fallback=fallback,
                v2_keep_alive=keep_alive,
            )
        )
