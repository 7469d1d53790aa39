"""Selectors: plain functions of state that answer what a GUI asks.

Owns: read-only questions (is this topic's input loading, which operation runs it, how
did an operation end, what has it streamed, how is its socket, what does the agent
ask the user). Must not know: how the
state came to be.
"""

from __future__ import annotations

from gatewayops.store._actions import (
    LINK_REQUESTS,
    Action,
    NetworkRestored,
    is_about_a_link,
    subject,
)
from gatewayops.store._config import Protocol
from gatewayops.store._human_state import Intervention
from gatewayops.store._state import (
    ConnectionStatus,
    GatewayState,
    Link,
    Operation,
    OperationStatus,
    Outcome,
)
from gatewayops.store._transcript import Transcript

__all__ = [
    "concerned",
    "connection_status",
    "is_input_loading",
    "is_quiet",
    "is_stopping",
    "is_waiting_for_human",
    "link",
    "live_operations",
    "outcome",
    "pending_interventions",
    "running_operation",
    "transcript",
]


def running_operation(state: GatewayState, topic_id: str) -> Operation | None:
    """The running (followed, unfinished) operation the topic's marker names, if any."""
    topic = state.topics.get(topic_id)
    if topic is None or topic.running_operation is None:
        return None
    op = state.operations.get(topic.running_operation)
    if op is None or op.status is not OperationStatus.RUNNING:
        return None
    return op


def is_input_loading(state: GatewayState, topic_id: str) -> bool:
    """True exactly while the topic has a running, unfinished operation (show "Stop")."""
    return running_operation(state, topic_id) is not None


def is_waiting_for_human(state: GatewayState, topic_id: str) -> bool:
    """Whether the topic's running operation waits for the user (show the question,
    not a bare "Stop"): an intervention is open, or a step asks for approval."""
    op = running_operation(state, topic_id)
    return op is not None and op.human.waiting


def pending_interventions(state: GatewayState, topic_id: str) -> tuple[Intervention, ...]:
    """The open (pending or resolving) interventions of the topic's running operation,
    in the order the agent asked them."""
    op = running_operation(state, topic_id)
    if op is None:
        return ()
    return tuple(sorted(op.human.open.values(), key=lambda item: item.order))


def is_stopping(state: GatewayState, operation_id: str) -> bool:
    """Whether a stop was requested and the run has not ended or been confirmed yet."""
    op = state.operations.get(operation_id)
    return op is not None and op.stop_requested


def outcome(state: GatewayState, operation_id: str) -> Outcome | None:
    """How the operation ended, or None while it has not."""
    op = state.operations.get(operation_id)
    return None if op is None else op.outcome


def transcript(state: GatewayState, operation_id: str) -> Transcript | None:
    """What the operation has streamed so far."""
    op = state.operations.get(operation_id)
    return None if op is None else op.transcript


def link(state: GatewayState, operation_id: str) -> Link | None:
    """The link that carries the operation (its socket's life), or None if unknown."""
    op = state.operations.get(operation_id)
    return None if op is None else state.links.get(op.link_id)


def connection_status(state: GatewayState, operation_id: str) -> ConnectionStatus | None:
    """The status of the operation's socket, or None for an unknown operation."""
    found = link(state, operation_id)
    return None if found is None else found.status


def is_quiet(state: GatewayState, operation_id: str) -> bool:
    """Whether the operation's connected socket has been quiet for `quiet_after_ms`
    (nothing but heartbeat acks): a composer may say "no news from the server"."""
    op = state.operations.get(operation_id)
    return op is not None and op.status is OperationStatus.RUNNING and state.link_of(op).quiet


def concerned(state: GatewayState, action: Action) -> tuple[str | None, str | None]:
    """The ids of the link and of the operation `action` is about (None if unknown or
    none): a transport action or link timer names its link, which carries one operation
    on v1; on v2 a frame or a failed write names its operation in its envelope (other
    news of a v2 link is about every session it carries: the operation is None, as for
    the application's requests about a v2 link). Anything else names its operation,
    which has one link."""
    if type(action) is NetworkRestored:
        return None, None
    key = subject(action)
    if type(action) in LINK_REQUESTS:
        return key, None
    if is_about_a_link(action):
        found_link = state.links.get(key)
        if found_link is None:
            return key, None
        if found_link.protocol is Protocol.V2:
            message = getattr(action, "message", None)
            return key, getattr(message, "operation_id", None) or None
        return key, found_link.operation_id
    op = state.operations.get(key)
    return (None if op is None else op.link_id), key


def live_operations(state: GatewayState) -> list[Operation]:
    """Operations that have not finished (running or detached). O(n)."""
    return [op for op in state.operations.values() if not op.is_finished]
