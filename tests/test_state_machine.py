"""The model-based state machine over the pure reducer (PROTOCOL.md section 11).

The budget is bounded for CI; set GATEWAYOPS_STATEFUL_EXAMPLES (and _STEPS) to run more.
"""

import os

from hypothesis import HealthCheck, settings

from gatewayops.testing.state_machine import GatewayMachine

TestGatewayMachine = GatewayMachine.TestCase
TestGatewayMachine.settings = settings(
    max_examples=int(os.environ.get("GATEWAYOPS_STATEFUL_EXAMPLES", "200")),
    stateful_step_count=int(os.environ.get("GATEWAYOPS_STATEFUL_STEPS", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
