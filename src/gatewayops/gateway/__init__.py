"""The reference gateway: a real protocol-v1 server on loopback, with fault injection.

It speaks v1 over trio-websocket using the same `gatewayops.protocol` codec as the
client, issues and verifies HS256 JWTs, plays scripted agent runs, buffers their events
for `resume`, and can be made to misbehave the way real gateways did (`Faults`). The
demo and the client's end-to-end tests run against it. See docs/gateway.md.

Example:
    async with open_gateway() as gw:
        run = gw.start_run(clean_run("hello"), topic_id="topic-1")
        url = gw.operation_url(run.operation_id)   # ws://127.0.0.1:PORT/ws?operationId=op-1
"""

from gatewayops.gateway._answers import Answer
from gatewayops.gateway._asking import AskHuman, InterventionOutcome
from gatewayops.gateway._faults import Faults
from gatewayops.gateway._gateway import (
    Gateway,
    GatewayStatistics,
    RunHandle,
    open_gateway,
)
from gatewayops.gateway._human_scripts import ASK_KINDS, asking_run
from gatewayops.gateway._operation_state import ToolOutcome
from gatewayops.gateway._patch_scripts import patched_run
from gatewayops.gateway._patches import PatchMessage
from gatewayops.gateway._scripts import (
    ClientTool,
    Emit,
    Fail,
    Finish,
    Pause,
    Script,
    ScriptStep,
    clean_run,
    demo_run,
    error_run,
    long_run,
    tool_run,
)
from gatewayops.gateway._standalone import SHUTDOWN_GRACE, StandaloneGateway, run_gateway
from gatewayops.gateway._token_endpoint import TOKEN_PATH, serve_token_endpoint
from gatewayops.gateway._tokens import DEFAULT_TOKEN_TTL

__all__ = [
    "ASK_KINDS",
    "DEFAULT_TOKEN_TTL",
    "SHUTDOWN_GRACE",
    "TOKEN_PATH",
    "Answer",
    "AskHuman",
    "ClientTool",
    "Emit",
    "Fail",
    "Faults",
    "Finish",
    "Gateway",
    "GatewayStatistics",
    "InterventionOutcome",
    "PatchMessage",
    "Pause",
    "RunHandle",
    "Script",
    "ScriptStep",
    "StandaloneGateway",
    "ToolOutcome",
    "asking_run",
    "clean_run",
    "demo_run",
    "error_run",
    "long_run",
    "open_gateway",
    "patched_run",
    "run_gateway",
    "serve_token_endpoint",
    "tool_run",
]
