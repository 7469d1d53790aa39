"""The whole client state, as plain frozen data.

Owns: `GatewayState` (every operation, link and topic, in persistent maps so one action
costs the same with ten operations or ten thousand), `Operation` (a *session*: one
operation followed to exactly one end) and its parts, `Link` (one socket's life: dial,
handshake, heartbeat, backoff, generation), and the enums that name their statuses and
outcomes. A session names its link by `link_id`; in protocol v1 each session has a link
of its own, with the operation's id as the link's id. Everything that grows with a run
(the resume buffer, the tools, the interventions, the transcript) is persistent too, so
one event costs the same early in a run or late. Must not know: how state changes (see
`_reducer`) or I/O. Tokens are redacted in every repr.
"""

from __future__ import annotations

import enum

import attrs
import immutables

from gatewayops._persistent import Vector
from gatewayops.protocol import AgentEventMessage, SessionStatus, ToolResult, redacted
from gatewayops.store._config import Protocol, StoreConfig
from gatewayops.store._human_state import HumanLoop
from gatewayops.store._retention import Retention
from gatewayops.store._transcript import Transcript

__all__ = [
    "CLEAR_ECHO",
    "ConnectionStatus",
    "EchoGuard",
    "FinishSource",
    "GatewayState",
    "Link",
    "Operation",
    "OperationStatus",
    "Outcome",
    "RefreshState",
    "RefreshStatus",
    "Result",
    "ResumeState",
    "ResumeStatus",
    "Tool",
    "ToolStatus",
    "Topic",
    "mux_link_id",
]


class OperationStatus(enum.StrEnum):
    """Lifecycle of a followed operation; FINISHED is absorbing."""

    RUNNING = "running"
    """Followed: a socket exists or is being (re)established."""
    DETACHED = "detached"
    """Not followed (the app stopped watching); not finished, may be attached again."""
    FINISHED = "finished"
    """Reached its one terminal state; `Operation.outcome` says how."""


class ConnectionStatus(enum.StrEnum):
    """Where a link's socket stands (PROTOCOL.md 2.1, plus EXPIRED)."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    AUTHENTICATING = "authenticating"
    CONNECTED = "connected"
    EXPIRED = "expired"
    """Socket open but `auth_expired`: unauthenticated until a fresh token redials."""
    RECONNECTING = "reconnecting"


class Result(enum.StrEnum):
    """How an operation ended."""

    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    PARKED = "parked"
    """`agent_runtime_end` with reason `waiting_for_async_tool`."""
    ENDED = "ended"
    """The gateway ended the session (`session_complete`) without saying how."""
    AUTH_FAILED = "auth_failed"
    GONE = "gone"
    """A token refresh reported that the gateway no longer knows the operation."""
    REJECTED = "rejected"
    """The gateway refused the socket for good (e.g. an HTTP 404 on the upgrade)."""
    UNREACHABLE = "unreachable"
    """No socket ever opened: the dial budget (`StoreConfig.dial_budget`) was spent."""


class FinishSource(enum.StrEnum):
    """What ended an operation (its provenance)."""

    AGENT_EVENT = "agent_event"
    SESSION_COMPLETE = "session_complete"
    RESUME_STATUS = "resume_status"
    AUTH_FAILED = "auth_failed"
    REFRESH_FAILED = "refresh_failed"
    REFRESH_NOT_FOUND = "refresh_not_found"
    REFRESH_BUDGET = "refresh_budget"
    INTERRUPT_CONFIRMED = "interrupt_confirmed"
    CONNECTION_REJECTED = "connection_rejected"
    DIAL_BUDGET = "dial_budget"
    """The gateway was never reached within `StoreConfig.dial_budget` dials."""
    INTERNAL_ERROR = "internal_error"
    """Handling an action for the operation failed; it ends rather than stay open."""
    STATUS_CHANGE = "status_change"
    """v2: the hub reported a terminal status (e.g. its watchdog ended the run)."""
    V2_UNAVAILABLE = "v2_unavailable"
    """v2: the user's socket could not be had (`StoreConfig.v2_dial_budget`) and no
    fallback to v1 was asked for."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class Outcome:
    """An operation's terminal state: what it came to, what said so, and any detail."""

    result: Result
    source: FinishSource
    detail: str = ""

    @property
    def succeeded(self) -> bool:
        """Whether the run completed cleanly."""
        return self.result is Result.COMPLETED

    def __str__(self) -> str:
        """In words, for messages: ``failed (agent_event: boom)``."""
        detail = f": {self.detail}" if self.detail else ""
        return f"{self.result} ({self.source}{detail})"


@attrs.frozen(kw_only=True, weakref_slot=False)
class Link:
    """One socket's life: its status, and `generation`, which numbers socket attempts
    (the news of a stale one is dropped).

    Attributes:
        id: the link's id (in v1, the id of the one operation it carries; in v2,
            ``v2:`` and the gateway's base URL).
        url: the URL its sockets dial (v2: the gateway's base URL; the runtime adds
            the path, the user token it fetches before every dial, and its client id).
        operation_id: the operation (session) it carries (v1: exactly one; v2: "").
        protocol: the protocol its sockets speak.
        sessions: v2: the operations it carries (subscriptions), a persistent set
            (every value is True). Each is subscribed whenever the link is connected:
            on `ready` all of them, and one that joins a connected link at once.
        auth_failures: v2: consecutive closes with code 4401 since the last `ready`.
        failed_dials: v2: consecutive dials that never reached `ready`.
        unavailable: v2: the dial budget was spent; the link dials no more (its
            operations moved to v1, or ended), until a new operation needs it.
        last_problem: v2: the last thing that went wrong on the link itself (a hub
            `error` for no operation, a frame for none).
        held: v2: the application disconnected the link (`Client.disconnect`): no
            socket, no timer, no dial, its sessions kept (running, each with its
            cursor and queued tool results) until `Client.connect` lets it dial again.
        attempt: consecutive attempts lost since a connection last proved healthy
            (drives the backoff). A connection proves healthy when, after
            `auth_success`, an agent event or a heartbeat ack arrives; only then does
            `attempt` return to 0 (PROTOCOL.md 11.25), so a server that accepts,
            authenticates and drops is not redialled every second.
        ever_opened: whether any socket of the link completed its handshake (the dial
            budget only applies before that, `StoreConfig.dial_budget`).
        quiet: the socket task reported that `quiet_after_ms` passed on this
            authenticated socket without a frame other than a heartbeat ack (the
            gateway may have forgotten the run without saying so). Cleared by the next
            such frame. Reported, never a reason to finish (silence never completes).
    """

    id: str
    url: str
    operation_id: str
    status: ConnectionStatus = ConnectionStatus.DISCONNECTED
    generation: int = 0
    attempt: int = 0
    missed_heartbeats: int = 0
    heartbeat_ticks: int = 0
    quiet: bool = False
    ever_opened: bool = False
    protocol: Protocol = Protocol.V1
    sessions: immutables.Map[str, bool] = immutables.Map()
    auth_failures: int = 0
    failed_dials: int = 0
    unavailable: bool = False
    last_problem: str | None = None
    held: bool = False


def mux_link_id(gateway_url: str) -> str:
    """The id of the v2 link to the gateway at `gateway_url` (one per base URL)."""
    return "v2:" + gateway_url.rstrip("/")


class RefreshStatus(enum.StrEnum):
    """Single-flight token refresh."""

    IDLE = "idle"
    IN_FLIGHT = "in_flight"
    RETRY_WAIT = "retry_wait"


@attrs.frozen(kw_only=True, weakref_slot=False)
class RefreshState:
    """`attempts` counts refreshes since the last `auth_success` (the budget of 12.2)."""

    status: RefreshStatus = RefreshStatus.IDLE
    attempts: int = 0


class ResumeStatus(enum.StrEnum):
    """Resume buffering of a reattach (PROTOCOL.md 3)."""

    IDLE = "idle"
    BUFFERING = "buffering"


@attrs.frozen(kw_only=True, weakref_slot=False)
class ResumeState:
    """Resume buffering (PROTOCOL.md 3): only when attaching with no cursor.

    Attributes:
        on_connect: set by attach: buffer the replay on `auth_success` while the
            cursor is empty.
        status: buffering a replay now, or not (`RESUME_TABLE`).
        generation: the link generation whose replay is buffered (keys the flush timer).
        buffer: the replayed events to show on flush, in arrival order, each once
            (a repeat of a dedupe key already buffered is not added: the first copy wins).
        seen: the dedupe keys of `buffer`.
        arrivals: events buffered in this resume, repeats included (re-arms the flush
            debounce on every one, as upstream).
    """

    on_connect: bool = False
    status: ResumeStatus = ResumeStatus.IDLE
    generation: int = 0
    buffer: Vector[AgentEventMessage] = Vector()
    seen: immutables.Map[str, bool] = attrs.field(default=immutables.Map(), repr=False)
    arrivals: int = 0

    @property
    def buffering(self) -> bool:
        """Whether a replay is being buffered now."""
        return self.status is ResumeStatus.BUFFERING


@attrs.frozen(kw_only=True, weakref_slot=False)
class EchoGuard:
    """The order-counted mirrored-terminal guard (PROTOCOL.md 4.3).

    Attributes:
        owed_echoes: `session_complete` frames still owed by foreign terminals.
        replay_foreign_status: status a foreign terminal of this replay left, if any.
    """

    owed_echoes: int = 0
    replay_foreign_status: SessionStatus | None = None


CLEAR_ECHO = EchoGuard()
"""The guard owing nothing, one shared value (a subscription resets to it without
giving each operation an object of its own to carry)."""


class ToolStatus(enum.StrEnum):
    """A client-executed tool call, from `tool_execute` to its one `tool_result`."""

    RUNNING = "running"
    QUEUED = "queued"
    """Finished while unauthenticated; sent on the next `auth_success`."""
    SENT = "sent"
    EXPIRED = "expired"
    """Its deadline passed before a result could be sent; nothing will be sent."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class Tool:
    """A `tool_execute` this client owes exactly one `tool_result`."""

    id: str
    order: int
    """Arrival order among the operation's tools (queued results are sent in it)."""
    status: ToolStatus = ToolStatus.RUNNING
    deadline_ms: int
    result: ToolResult | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class Operation:
    """One gateway operation this client follows: a session, to exactly one end."""

    id: str
    topic_id: str
    link_id: str
    token: str = attrs.field(repr=redacted)
    status: OperationStatus = OperationStatus.RUNNING
    outcome: Outcome | None = None
    last_event_id: str = ""
    resume: ResumeState = ResumeState()
    refresh: RefreshState = RefreshState()
    echo: EchoGuard = CLEAR_ECHO
    tools: immutables.Map[str, Tool] = immutables.Map()
    """Tool calls still owed a result (running, or its result queued), by call id."""
    settled_tools: immutables.Map[str, Tool] = immutables.Map()
    """Tool calls whose one result was sent, or whose deadline passed, by call id."""
    transcript: Transcript = Transcript()
    human: HumanLoop = HumanLoop()
    """The agent's requests for the user (PROTOCOL.md 6.2), open and settled."""
    stop_requested: bool = False
    executor: bool = True
    """Whether this client runs the operation's client-side tools (v2 subscribes as the
    executor, and only an executor is sent `tool_execute`)."""
    bad_frames: int = 0
    """Frames refused whole (not even their type could be read)."""
    problems: int = 0
    """Fields that could not be read and were degraded (the frames still counted)."""
    last_problem: str | None = None

    @property
    def is_finished(self) -> bool:
        """Whether the operation reached its terminal state."""
        return self.status is OperationStatus.FINISHED


@attrs.frozen(kw_only=True, weakref_slot=False)
class Topic:
    """A conversation; `running_operation` is its marker (PROTOCOL.md 8.1)."""

    id: str
    running_operation: str | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class GatewayState:
    """Every operation, link and topic the client knows, plus its settings.

    `retained` lists the finished operations kept, in the order they finished; past
    `StoreConfig.retain_finished` the oldest is forgotten (see `_retention`). It is
    bookkeeping, not part of the value: left out of equality, reprs and diffs.
    """

    config: StoreConfig = StoreConfig()
    operations: immutables.Map[str, Operation] = immutables.Map()
    links: immutables.Map[str, Link] = immutables.Map()
    topics: immutables.Map[str, Topic] = immutables.Map()
    retained: Retention = attrs.field(default=Retention(), eq=False, repr=False)

    def operation(self, operation_id: str) -> Operation | None:
        """The operation with this id, if known."""
        return self.operations.get(operation_id)

    def link_of(self, op: Operation) -> Link:
        """The link that carries `op` (every operation has one)."""
        return self.links[op.link_id]
