"""The reference gateway: a real protocol v1 and v2 server on loopback, with fault injection.

It speaks v1 (``/ws``) and v2 (``/v2/ws``, one socket per user: `Gateway.v2`) over
trio-websocket using the same `gatewayops.protocol` codecs as the client, issues and
verifies HS256 JWTs, plays scripted agent runs, buffers their events for `resume` and
`subscribe`, and can be made to misbehave the way real gateways did (`Faults`,
`MuxFaults`). The demo and the client's end-to-end tests run against it. See
docs/gateway.md.

Example:
    async with open_gateway() as gw:
        run = gw.start_run(clean_run("hello"), topic_id="topic-1")
        url = gw.operation_url(run.operation_id)   # ws://127.0.0.1:PORT/ws?operationId=op-1
"""

from gatewayops.gateway._answers import Answer
from gatewayops.gateway._asking import AskHuman, InterventionOutcome
from gatewayops.gateway._faults import Faults
from gatewayops.gateway._gateway import Gateway, RunHandle
from gatewayops.gateway._http_endpoint import (
    ANSWER_PATH,
    INTERRUPT_PATH,
    TOKEN_PATH,
    USER_TOKEN_PATH,
    serve_http_endpoint,
)
from gatewayops.gateway._hub import HubStatistics
from gatewayops.gateway._human_scripts import ASK_KINDS, asking_run
from gatewayops.gateway._open_gateway import open_gateway
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
from gatewayops.gateway._statistics import GatewayStatistics
from gatewayops.gateway._tokens import DEFAULT_TOKEN_TTL
from gatewayops.gateway._user_tokens import DEFAULT_USER
from gatewayops.gateway._v2_control import MuxGateway
from gatewayops.gateway._v2_faults import AuthCloseReason, MuxFaults
from gatewayops.gateway._v2_socket import AUTH_CLOSE_CODE, IDLE_CHECK_INTERVAL, IDLE_TIMEOUT

__all__ = [
    "ANSWER_PATH",
    "ASK_KINDS",
    "AUTH_CLOSE_CODE",
    "DEFAULT_TOKEN_TTL",
    "DEFAULT_USER",
    "IDLE_CHECK_INTERVAL",
    "IDLE_TIMEOUT",
    "INTERRUPT_PATH",
    "SHUTDOWN_GRACE",
    "TOKEN_PATH",
    "USER_TOKEN_PATH",
    "Answer",
    "AskHuman",
    "AuthCloseReason",
    "ClientTool",
    "Emit",
    "Fail",
    "Faults",
    "Finish",
    "Gateway",
    "GatewayStatistics",
    "HubStatistics",
    "InterventionOutcome",
    "MuxFaults",
    "MuxGateway",
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
    "serve_http_endpoint",
    "tool_run",
]
