"""Builders for the protocol v2 store tests: the user's link, hub frames, drives to `ready`.

Several operations share one v2 link (`LINK`, named after the gateway's base URL), so
every builder names its operation (default `OP` of `helpers`) and its transport actions
default to `LINK`. `ready_state` drives a store through dial, open and `ready` with the
operations it is given, so each test asserts only its own steps.
"""

from __future__ import annotations

from typing import Any

from gatewayops.protocol import AgentEvent, SessionStatus
from gatewayops.protocol._v2_messages import (
    MuxAgentEvent,
    MuxClientMessage,
    MuxResumeComplete,
    MuxSessionComplete,
    Ready,
    StatusChange,
    Subscribe,
    SubscribeFailed,
)
from gatewayops.store import (
    Effect,
    GatewayState,
    MessageReceived,
    NotifyFinished,
    OperationAttached,
    OperationStarted,
    Protocol,
    SendMessage,
    SocketClosed,
    SocketOpened,
    StoreConfig,
    Timer,
    TimerKind,
    link_resources,
    reduce,
)
from gatewayops.store._link_v2 import mux_link_id

from .helpers import OP, TOPIC, URL, fold, tool_execute_data

LINK = mux_link_id(URL)
"""The id of the user's v2 link to the test gateway."""
OTHER = "op-2"
"""A second operation on the same link (on its own topic, `OTHER_TOPIC`)."""
OTHER_TOPIC = "topic-2"
READY = Ready(user_id="user-1", connection_id="conn-1")


def v2_config(**settings: Any) -> StoreConfig:
    """Protocol v2 settings, with `settings` changed."""
    return StoreConfig(protocol=Protocol.V2, **settings)


def v2_started(
    op: str = OP, topic: str = TOPIC, *, executor: bool = True, token: str = ""
) -> OperationStarted:
    """The app starts a run on protocol v2 (no run token needed: the user token dials)."""
    return OperationStarted(
        operation_id=op, topic_id=topic, gateway_url=URL, token=token, executor=executor
    )


def v2_attached(op: str = OP, topic: str = TOPIC, *, cursor: str = "") -> OperationAttached:
    """The app follows a run already going, from `cursor`."""
    return OperationAttached(
        operation_id=op, topic_id=topic, gateway_url=URL, token="", last_event_id=cursor
    )


def rx(message: Any, generation: int = 1) -> MessageReceived:
    """A decoded hub frame on the v2 socket of `generation`."""
    return MessageReceived(link_id=LINK, generation=generation, message=message)


def opened_v2(generation: int = 1) -> SocketOpened:
    """The v2 socket of `generation` completed its upgrade."""
    return SocketOpened(link_id=LINK, generation=generation)


def closed_v2(generation: int = 1, code: int | None = 1006, reason: str = "") -> SocketClosed:
    """The v2 socket of `generation` closed (code 4401: the user token was refused)."""
    return SocketClosed(link_id=LINK, generation=generation, code=code, reason=reason)


def sent(message: MuxClientMessage, generation: int = 1) -> SendMessage:
    """The effect that writes `message` on the v2 socket of `generation`."""
    return SendMessage(link_id=LINK, generation=generation, message=message)


def mux_event(
    type_: str,
    data: Any = None,
    *,
    op: str = OP,
    id: str | None = None,
    event_op: str | None = None,
) -> MuxAgentEvent:
    """An `agent_event` for `op`'s subscription; `event_op` names a member's event."""
    inner = AgentEvent(
        type=type_, operation_id=event_op or op, step_index=0, timestamp=0, data=data
    )
    return MuxAgentEvent(operation_id=op, event=inner, id=id)


def mux_chunk(text: str, *, op: str = OP, id: str | None = None) -> MuxAgentEvent:
    """A text `stream_chunk` for `op`."""
    return mux_event("stream_chunk", {"chunkType": "text", "content": text}, op=op, id=id)


def mux_end(*, op: str = OP, id: str | None = None, event_op: str | None = None) -> MuxAgentEvent:
    """A clean `agent_runtime_end` (a member's, when `event_op` names another operation)."""
    return mux_event("agent_runtime_end", {}, op=op, id=id, event_op=event_op)


def mux_tool_execute(
    call: str = "call-1", *, op: str = OP, id: str | None = None, timeout_ms: int | None = 10_000
) -> MuxAgentEvent:
    """A `tool_execute` asking the executor to run a tool (no timeout: the 120 s default)."""
    return mux_event("tool_execute", tool_execute_data(call, timeout_ms, "{}"), op=op, id=id)


def session_complete(op: str = OP, id: str | None = None) -> MuxSessionComplete:
    """A `session_complete` for `op`."""
    return MuxSessionComplete(operation_id=op, id=id)


def status_change(status: SessionStatus, op: str = OP, id: str | None = None) -> StatusChange:
    """A `status_change` for `op`."""
    return StatusChange(operation_id=op, status=status, id=id)


def v2_resume_complete(
    status: SessionStatus | None, op: str = OP, *, pending: bool = False, gap: bool = False
) -> MuxResumeComplete:
    """A `resume_complete` for `op`."""
    return MuxResumeComplete(operation_id=op, status=status, pending=pending, gap=gap)


def subscribe_failed(op: str = OP, reason: str = "forbidden") -> SubscribeFailed:
    """The hub refused `op`'s subscription."""
    return SubscribeFailed(operation_id=op, reason=reason)


def subscribe(op: str = OP, cursor: str = "", executor: bool = True) -> Subscribe:
    """The `subscribe` frame of `op` from `cursor`."""
    return Subscribe(operation_id=op, last_event_id=cursor, executor=executor)


def v2_state(*operations: str, config: StoreConfig | None = None) -> GatewayState:
    """A v2 store following `operations` (each on its own topic) over a link that dials."""
    state = GatewayState(config=config or v2_config())
    for index, op in enumerate(operations or (OP,)):
        state = reduce(state, v2_started(op, f"topic-{index + 1}")).state
    return state


def ready_state(*operations: str, config: StoreConfig | None = None) -> GatewayState:
    """`v2_state` with the socket of generation 1 open and `ready` heard."""
    return fold(v2_state(*operations, config=config), opened_v2(), rx(READY))


def link_timer(state: GatewayState, kind: TimerKind) -> Timer:
    """The one timer of `kind` the v2 link wants now."""
    found = [
        resource
        for resource in link_resources(state.links[LINK], state.config)
        if isinstance(resource, Timer) and resource.kind is kind
    ]
    assert len(found) == 1, f"expected one {kind} timer, found {found}"
    return found[0]


def notified(effects: tuple[Effect, ...]) -> dict[str, NotifyFinished]:
    """The `NotifyFinished` effects of a step, by operation (asserting one each)."""
    found: dict[str, NotifyFinished] = {}
    for effect in effects:
        if isinstance(effect, NotifyFinished):
            assert effect.operation_id not in found, f"{effect.operation_id} notified twice"
            found[effect.operation_id] = effect
    return found
