"""Small builders for the store tests: actions, frames, and drives to "connected".

Every builder defaults to the one operation most tests follow (`OP` on `TOPIC`), so a
test names only what it is about. In protocol v1 that operation's link has the
operation's id, so transport builders default their `link` to `OP` as well.
"""

from __future__ import annotations

from typing import Any

from gatewayops.protocol import (
    AgentEvent,
    AgentEventMessage,
    Auth,
    AuthExpired,
    AuthFailed,
    AuthSuccess,
    ClientMessage,
    HeartbeatAck,
    Resume,
    ResumeComplete,
    ServerMessage,
    SessionComplete,
    SessionStatus,
    ToolResult,
)
from gatewayops.store import (
    ConnectionStatus,
    GatewayState,
    Link,
    MessageReceived,
    NotifyFinished,
    Operation,
    OperationAttached,
    OperationStarted,
    OperationStatus,
    Outcome,
    Resource,
    SendMessage,
    Socket,
    SocketClosed,
    SocketOpened,
    StoreConfig,
    Timer,
    TimerFired,
    TimerKind,
    link_resources,
    operation_resources,
    reduce,
)
from gatewayops.testing import TestStore

OP = "op-1"
TOPIC = "topic-1"
URL = "ws://gateway.test"
OP_URL = f"{URL}/ws?operationId={OP}"
TOKEN = "jwt-secret-1"
FRESH_TOKEN = "jwt-secret-2"
MEMBER = "op-member"


def path(field: str, op: str = OP) -> str:
    """The TestStore path of a field of operation `op` (``"last_event_id"``)."""
    return f"operations[{op!r}].{field}"


def link_path(field: str, link: str = OP) -> str:
    """The TestStore path of a field of link `link` (``"status"``; v1: the op's id)."""
    return f"links[{link!r}].{field}"


def marker(topic: str = TOPIC) -> str:
    """The TestStore path of a topic's running-operation marker."""
    return f"topics[{topic!r}].running_operation"


# Paths of the operation (and link) fields most reducer tests assert on.
STATUS = path("status")
OUTCOME = path("outcome")
CONNECTION = link_path("status")
GENERATION = link_path("generation")
ATTEMPT = link_path("attempt")
EVER_OPENED = link_path("ever_opened")
CURSOR = path("last_event_id")
TRANSCRIPT = path("transcript")
ECHO = path("echo")
RESUME = path("resume")


def finished(outcome: Outcome, **more: object) -> dict[str, object]:
    """The leaves every finishing step changes (status, outcome, the link closed, the
    marker), plus `more`."""
    return {
        STATUS: OperationStatus.FINISHED,
        OUTCOME: outcome,
        CONNECTION: ConnectionStatus.DISCONNECTED,
        marker(): None,
        **more,
    }


class _Anything:
    """Equal to any value: for a TestStore path whose exact value another assert checks."""

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "<anything>"


ANY: Any = _Anything()


# --------------------------------------------------------------------------- actions


def started(
    op: str = OP, topic: str = TOPIC, token: str = TOKEN, url: str = URL
) -> OperationStarted:
    """The app starts a new run."""
    return OperationStarted(operation_id=op, topic_id=topic, gateway_url=url, token=token)


def attached(
    op: str = OP, topic: str = TOPIC, token: str = TOKEN, last_event_id: str = ""
) -> OperationAttached:
    """The app reattaches to a running operation."""
    return OperationAttached(
        operation_id=op, topic_id=topic, gateway_url=URL, token=token, last_event_id=last_event_id
    )


def opened(generation: int = 1, link: str = OP) -> SocketOpened:
    """The socket of `generation` of `link` opened."""
    return SocketOpened(link_id=link, generation=generation)


def closed(generation: int = 1, link: str = OP, code: int | None = 1006) -> SocketClosed:
    """The socket of `generation` of `link` closed."""
    return SocketClosed(link_id=link, generation=generation, code=code, reason="")


def received(message: ServerMessage, generation: int = 1, link: str = OP) -> MessageReceived:
    """A decoded server frame on the socket of `generation` of `link`."""
    return MessageReceived(link_id=link, generation=generation, message=message)


def fired(timer: Timer) -> TimerFired:
    """A timer elapsed (its `owner` says whose it is)."""
    return TimerFired(timer=timer)


# --------------------------------------------------------------------------- frames


def event(
    type_: str,
    data: Any = None,
    *,
    id: str | None = None,
    operation_id: str = OP,
    step_index: int = 0,
    timestamp: float = 0,
) -> AgentEventMessage:
    """An `agent_event` frame (envelope `id` = the resume cursor)."""
    inner = AgentEvent(
        type=type_,
        operation_id=operation_id,
        step_index=step_index,
        timestamp=timestamp,
        data=data,
    )
    return AgentEventMessage(event=inner, id=id)


def chunk(text: str, *, id: str | None = None, operation_id: str = OP) -> AgentEventMessage:
    """A text `stream_chunk`."""
    return event(
        "stream_chunk", {"chunkType": "text", "content": text}, id=id, operation_id=operation_id
    )


def runtime_end(
    reason: str | None = None, *, id: str | None = None, operation_id: str = OP
) -> AgentEventMessage:
    """An `agent_runtime_end` (clean when `reason` is None)."""
    data = {} if reason is None else {"reason": reason}
    return event("agent_runtime_end", data, id=id, operation_id=operation_id)


def tool_execute_data(
    tool_call_id: str, timeout_ms: int | None, arguments: str = '{"a": 1, "b": 2}'
) -> dict[str, Any]:
    """A `tool_execute`'s data: run calc/add (no `executionTimeoutMs` when `timeout_ms`
    is None: the 120 s default)."""
    data: dict[str, Any] = {
        "toolCallId": tool_call_id,
        "identifier": "calc",
        "apiName": "add",
        "arguments": arguments,
    }
    if timeout_ms is not None:
        data["executionTimeoutMs"] = timeout_ms
    return data


def tool_execute(
    tool_call_id: str = "call-1", timeout_ms: int | None = 10_000, *, id: str | None = None
) -> AgentEventMessage:
    """A `tool_execute` asking this client to run a tool."""
    return event("tool_execute", tool_execute_data(tool_call_id, timeout_ms), id=id)


def tool_result(tool_call_id: str = "call-1") -> ToolResult:
    """A successful tool result."""
    return ToolResult(tool_call_id=tool_call_id, success=True, content="3")


AUTH_SUCCESS = AuthSuccess()
AUTH_EXPIRED = AuthExpired()
SESSION_COMPLETE = SessionComplete()
HEARTBEAT_ACK = HeartbeatAck()


def auth_failed(reason: str = "bad token") -> AuthFailed:
    """An `auth_failed` frame."""
    return AuthFailed(reason=reason)


def resume_complete(status: SessionStatus) -> ResumeComplete:
    """A `resume_complete` frame."""
    return ResumeComplete(status=status)


# --------------------------------------------------------------------------- effects


def send(message: ClientMessage, generation: int = 1, link: str = OP) -> SendMessage:
    """The `SendMessage` effect for `message` on the socket of `generation` of `link`."""
    return SendMessage(link_id=link, generation=generation, message=message)


def auth_frame(token: str = TOKEN, generation: int = 1) -> SendMessage:
    """The first frame after the socket opens."""
    return send(Auth(token=token), generation)


def resume_frame(cursor: str = "", generation: int = 1) -> SendMessage:
    """The frame sent right after `auth_success`."""
    return send(Resume(last_event_id=cursor, want_status=True), generation)


def notify(outcome: Outcome, op: str = OP, topic: str = TOPIC) -> NotifyFinished:
    """The one `NotifyFinished` of an operation."""
    return NotifyFinished(operation_id=op, topic_id=topic, outcome=outcome)


# --------------------------------------------------------------------------- state helpers


def op_of(state: GatewayState, op: str = OP) -> Operation:
    """The operation `op` (asserting it is known)."""
    found = state.operation(op)
    assert found is not None, f"operation {op!r} is unknown"
    return found


def link_of(state: GatewayState, op: str = OP) -> Link:
    """The link that carries operation `op` (asserting both are known)."""
    return state.link_of(op_of(state, op))


def resources_of(state: GatewayState, op: str = OP) -> frozenset[Resource]:
    """Everything that should exist for operation `op`: its link's socket and timers,
    and its own timers."""
    operation = op_of(state, op)
    config = state.config
    return link_resources(state.link_of(operation), config) | operation_resources(operation, config)


def timer(state: GatewayState, kind: TimerKind, op: str = OP) -> Timer:
    """The one timer of `kind` among the resources of operation `op` and its link."""
    found = [
        resource
        for resource in resources_of(state, op)
        if isinstance(resource, Timer) and resource.kind is kind
    ]
    assert len(found) == 1, f"expected one {kind} timer, found {found}"
    return found[0]


def timers(state: GatewayState, op: str = OP) -> set[TimerKind]:
    """The kinds of timer the resources of operation `op` and its link hold."""
    return {resource.kind for resource in resources_of(state, op) if isinstance(resource, Timer)}


def socket_of(generation: int, link: str = OP) -> Socket:
    """The socket resource of `generation` of `link` (default settings; v1 URL)."""
    return Socket(
        link_id=link,
        generation=generation,
        url=f"{URL}/ws?operationId={link}",
        quiet_after_ms=StoreConfig().quiet_after_ms,
    )


def fold(state: GatewayState, *actions: Any) -> GatewayState:
    """Reduce every action in turn, ignoring effects."""
    for action in actions:
        state = reduce(state, action).state
    return state


def connected_store(
    *, config: StoreConfig | None = None, attach: bool = False, cursor: str = ""
) -> TestStore:
    """An exhaustive TestStore whose operation is connected with no effects pending.

    The setup runs through `reduce` directly, so each test asserts only its own step.
    """
    state = GatewayState(config=config or StoreConfig())
    first = attached(last_event_id=cursor) if attach else started()
    state = fold(state, first, opened(), received(AUTH_SUCCESS))
    return TestStore(state)
