"""The pure store: actions in, state and effects out (DESIGN.md section 2).

No Trio, no clock, no randomness, no I/O. `reduce(state, action)` returns a `Step`
with the next state and the effects to carry out; `link_resources` and
`operation_resources` say which sockets and timers should exist; selectors answer what
a GUI needs; `Store` holds the state and tells subscribers. An operation is a *session*
(one run followed to exactly one end); the socket that carries it is its *link*.
"""

from typing import TYPE_CHECKING, Any

from gatewayops._lazy import LazyExports
from gatewayops.store._actions import (
    TRANSPORT_ACTIONS,
    Action,
    AppAction,
    BadMessageReceived,
    EffectResult,
    HandlingFailed,
    InterruptConfirmed,
    InterruptFailed,
    InterventionAnswered,
    InterventionDeclined,
    InterventionSubmitFailed,
    InterventionSubmitted,
    MessageReceived,
    OperationAttached,
    OperationDetached,
    OperationForgotten,
    OperationStarted,
    ReconnectRequested,
    SendFailed,
    SocketClosed,
    SocketFailed,
    SocketOpened,
    SocketWentQuiet,
    StopRequested,
    TimerFired,
    TokenRefreshed,
    TokenRefreshFailed,
    TokenReplaced,
    ToolFinished,
    TransportAction,
    is_about_a_link,
    subject,
)
from gatewayops.store._config import (
    MAX_DELAY_MS,
    StoreConfig,
    backoff_delay_ms,
)
from gatewayops.store._delivery import (
    dedupe_key,
)
from gatewayops.store._effects import (
    Effect,
    ExecuteTool,
    NotifyFinished,
    RefreshToken,
    RequestInterrupt,
    SendMessage,
    SubmitIntervention,
)
from gatewayops.store._frames import (
    frame_received,
)
from gatewayops.store._human_state import HumanLoop, Intervention, InterventionStatus
from gatewayops.store._interventions import (
    INTERVENTION_TABLE,
    MAX_INTERVENTION_WAIT_MS,
    InterventionEvent,
)
from gatewayops.store._lifecycle import (
    CONNECTION_TABLE,
    IGNORED,
    OPERATION_TABLE,
    REFRESH_TABLE,
    RESUME_TABLE,
    ConnectionEvent,
    OperationEvent,
    RefreshEvent,
    ResumeEvent,
    mermaid,
    transition,
)
from gatewayops.store._link import carries
from gatewayops.store._reducer import (
    Step,
    internal_error_detail,
    reduce,
)
from gatewayops.store._resources import (
    LINK_TIMERS,
    RESOURCE_INPUTS,
    Resource,
    Socket,
    Timer,
    TimerKind,
    link_resources,
    operation_resources,
    resources,
    resources_may_differ,
)
from gatewayops.store._retention import (
    Retention,
)
from gatewayops.store._selectors import (
    concerned,
    connection_status,
    is_input_loading,
    is_quiet,
    is_stopping,
    is_waiting_for_human,
    link,
    live_operations,
    outcome,
    pending_interventions,
    running_operation,
    transcript,
)
from gatewayops.store._session import (
    id_follows,
)
from gatewayops.store._state import (
    ConnectionStatus,
    EchoGuard,
    FinishSource,
    GatewayState,
    Link,
    Operation,
    OperationStatus,
    Outcome,
    RefreshState,
    RefreshStatus,
    Result,
    ResumeState,
    ResumeStatus,
    Tool,
    ToolStatus,
    Topic,
)
from gatewayops.store._store import (
    Listener,
    Middleware,
    Store,
    Transition,
)
from gatewayops.store._tools import (
    TOOL_TABLE,
    ToolEvent,
    tool_timeout_ms,
)
from gatewayops.store._transcript import (
    AssistantMessage,
    Entry,
    ErrorEntry,
    Reasoning,
    Streaming,
    ToolCallEntry,
    ToolCallStatus,
    Transcript,
    UserMessage,
)

if TYPE_CHECKING:
    from gatewayops.store._diff import (
        ABSENT,
        Change,
        diff,
        format_changes,
    )
    from gatewayops.store._invariants import (
        InvariantChecker,
        InvariantWatch,
        Position,
        Violation,
    )

__all__ = [
    "ABSENT",
    "CONNECTION_TABLE",
    "IGNORED",
    "INTERVENTION_TABLE",
    "LINK_TIMERS",
    "MAX_DELAY_MS",
    "MAX_INTERVENTION_WAIT_MS",
    "OPERATION_TABLE",
    "REFRESH_TABLE",
    "RESOURCE_INPUTS",
    "RESUME_TABLE",
    "TOOL_TABLE",
    "TRANSPORT_ACTIONS",
    "Action",
    "AppAction",
    "AssistantMessage",
    "BadMessageReceived",
    "Change",
    "ConnectionEvent",
    "ConnectionStatus",
    "EchoGuard",
    "Effect",
    "EffectResult",
    "Entry",
    "ErrorEntry",
    "ExecuteTool",
    "FinishSource",
    "GatewayState",
    "HandlingFailed",
    "HumanLoop",
    "InterruptConfirmed",
    "InterruptFailed",
    "Intervention",
    "InterventionAnswered",
    "InterventionDeclined",
    "InterventionEvent",
    "InterventionStatus",
    "InterventionSubmitFailed",
    "InterventionSubmitted",
    "InvariantChecker",
    "InvariantWatch",
    "Link",
    "Listener",
    "MessageReceived",
    "Middleware",
    "NotifyFinished",
    "Operation",
    "OperationAttached",
    "OperationDetached",
    "OperationEvent",
    "OperationForgotten",
    "OperationStarted",
    "OperationStatus",
    "Outcome",
    "Position",
    "Reasoning",
    "ReconnectRequested",
    "RefreshEvent",
    "RefreshState",
    "RefreshStatus",
    "RefreshToken",
    "RequestInterrupt",
    "Resource",
    "Result",
    "ResumeEvent",
    "ResumeState",
    "ResumeStatus",
    "Retention",
    "SendFailed",
    "SendMessage",
    "Socket",
    "SocketClosed",
    "SocketFailed",
    "SocketOpened",
    "SocketWentQuiet",
    "Step",
    "StopRequested",
    "Store",
    "StoreConfig",
    "Streaming",
    "SubmitIntervention",
    "Timer",
    "TimerFired",
    "TimerKind",
    "TokenRefreshFailed",
    "TokenRefreshed",
    "TokenReplaced",
    "Tool",
    "ToolCallEntry",
    "ToolCallStatus",
    "ToolEvent",
    "ToolFinished",
    "ToolStatus",
    "Topic",
    "Transcript",
    "Transition",
    "TransportAction",
    "UserMessage",
    "Violation",
    "backoff_delay_ms",
    "carries",
    "concerned",
    "connection_status",
    "dedupe_key",
    "diff",
    "format_changes",
    "frame_received",
    "id_follows",
    "internal_error_detail",
    "is_about_a_link",
    "is_input_loading",
    "is_quiet",
    "is_stopping",
    "is_waiting_for_human",
    "link",
    "link_resources",
    "live_operations",
    "mermaid",
    "operation_resources",
    "outcome",
    "pending_interventions",
    "reduce",
    "resources",
    "resources_may_differ",
    "running_operation",
    "subject",
    "tool_timeout_ms",
    "transcript",
    "transition",
]

_LAZY = LazyExports(
    __name__,
    {
        "gatewayops.store._diff": ("ABSENT", "Change", "diff", "format_changes"),
        "gatewayops.store._invariants": (
            "InvariantChecker",
            "InvariantWatch",
            "Position",
            "Violation",
        ),
    },
)
"""What a reducer step never needs (diffing states, checking invariants): imported on
first use."""


def __getattr__(name: str) -> Any:
    return _LAZY.load(name)
