"""The model-based state machine over the pure reducer on protocol v2 (PROTOCOL.md 7, 11).

Many sessions on the user's one link, the hub's frames, 4401 closes, dial failures and
the fallback to v1. The budget is bounded for CI; set GATEWAYOPS_STATEFUL_EXAMPLES (and
_STEPS) to run more.
"""

import os

from hypothesis import HealthCheck, settings

from gatewayops.testing.state_machine import GatewayMachineV2

TestGatewayMachineV2 = GatewayMachineV2.TestCase
TestGatewayMachineV2.settings = settings(
    max_examples=int(os.environ.get("GATEWAYOPS_STATEFUL_EXAMPLES", "200")),
    stateful_step_count=int(os.environ.get("GATEWAYOPS_STATEFUL_STEPS", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
