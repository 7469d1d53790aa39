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

Owns: the machine as a whole and its one invariant against the model; its parts live in
`_machine_base` (state, the checked step, choosing an operation), `_app_and_effect_rules`
and `_socket_and_server_rules`, and the actions it draws in `gatewayops.testing.strategies`.
Must not know: Trio or I/O (it only calls `reduce`).
"""

from __future__ import annotations

from hypothesis.stateful import invariant

from gatewayops.testing._app_and_effect_rules import AppAndEffectRules
from gatewayops.testing._socket_and_server_rules import SocketAndServerRules

__all__ = ["GatewayMachine"]


class GatewayMachine(AppAndEffectRules, SocketAndServerRules):
    """Random interleavings of everything that can happen to operations, checked."""

    @invariant()
    def the_state_agrees_with_the_model(self) -> None:
        """Notifications, outcomes, markers, loading flags and events accepted, as modelled."""
        self.model.check(self.state)
