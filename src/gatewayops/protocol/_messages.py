"""The v1 wire vocabulary: every client and server message as a frozen attrs class.

Owns: message classes, the session-status and event-type enums, and the secret-redaction
rule for reprs. Must not know: JSON (see `_codec`), or what the client does with a
message (see `gatewayops.store`). Python names are snake_case; the codec maps them to
the camelCase wire names.
"""

from __future__ import annotations

import enum
from typing import Any, TypeAlias

import attrs

from gatewayops._secrets import redacted

__all__ = [
    "TERMINAL_STATUSES",
    "AgentEvent",
    "AgentEventMessage",
    "Auth",
    "AuthExpired",
    "AuthFailed",
    "AuthSuccess",
    "ChunkType",
    "ClientMessage",
    "EventType",
    "Heartbeat",
    "HeartbeatAck",
    "Interrupt",
    "Message",
    "Problems",
    "Resume",
    "ResumeComplete",
    "ServerMessage",
    "SessionComplete",
    "SessionStatus",
    "ToolError",
    "ToolResult",
    "UnknownMessage",
]


class SessionStatus(enum.StrEnum):
    """A gateway operation's persisted status, as `resume_complete` reports it."""

    RUNNING = "running"
    WAITING_INPUT = "waiting_input"
    WAITING_CONFIRMATION = "waiting_confirmation"
    COMPLETED = "completed"
    ERROR = "error"
    INTERRUPTED = "interrupted"

    @property
    def is_terminal(self) -> bool:
        """Whether this status ends the session (completed, error or interrupted)."""
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset(
    {SessionStatus.COMPLETED, SessionStatus.ERROR, SessionStatus.INTERRUPTED}
)


class EventType(enum.StrEnum):
    """Every AgentStreamEvent type of PROTOCOL.md 1.4 (the union of versions).

    An `AgentEvent.type` is kept as the raw string, so an event type this list does not
    know still decodes; compare it with these members (a StrEnum equals its value).
    """

    AGENT_RUNTIME_INIT = "agent_runtime_init"
    AGENT_RUNTIME_END = "agent_runtime_end"
    ERROR = "error"
    STREAM_START = "stream_start"
    STREAM_CHUNK = "stream_chunk"
    STREAM_END = "stream_end"
    VISIBLE_OUTPUT_END = "visible_output_end"
    STREAM_RETRY = "stream_retry"
    SESSION_TITLE = "session_title"
    TOOL_START = "tool_start"
    TOOL_END = "tool_end"
    TOOL_EXECUTE = "tool_execute"
    TOOL_RESULT = "tool_result"
    AGENT_INTERVENTION_REQUEST = "agent_intervention_request"
    AGENT_INTERVENTION_RESPONSE = "agent_intervention_response"
    MESSAGE_PATCH = "message_patch"
    STEP_START = "step_start"
    STEP_COMPLETE = "step_complete"
    NOTIFY_UPDATE = "notify_update"


class ChunkType(enum.StrEnum):
    """`stream_chunk` kinds (`data.chunkType`)."""

    TEXT = "text"
    REASONING = "reasoning"
    TOOL_STATE = "tool_state"
    TOOLS_CALLING = "tools_calling"
    IMAGE = "image"
    GROUNDING = "grounding"
    BASE64_IMAGE = "base64_image"
    CONTENT_PART = "content_part"
    REASONING_PART = "reasoning_part"


# --------------------------------------------------------------------------- client -> server


@attrs.frozen(kw_only=True, weakref_slot=False)
class Auth:
    """First frame after the socket opens: the operation-scoped JWT."""

    token: str = attrs.field(repr=redacted)


@attrs.frozen(kw_only=True, weakref_slot=False)
class Resume:
    """Replay buffered events after `last_event_id` (``""`` = everything)."""

    last_event_id: str = ""
    want_status: bool = True


@attrs.frozen(kw_only=True, weakref_slot=False)
class Heartbeat:
    """Keep-alive, every 30 s while connected."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class ToolError:
    """Structured failure of a client-executed tool."""

    message: str
    type: str | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class ToolResult:
    """Reply to a `tool_execute` event, correlated only by `tool_call_id`.

    `state` and `work_registration` are opaque; ``None`` means "absent on the wire".
    """

    tool_call_id: str
    success: bool
    content: str | None = None
    error: ToolError | None = None
    state: Any = None
    work_registration: Any = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class Interrupt:
    """Historical no-op frame; decoded by the reference gateway, never sent by us."""


ClientMessage: TypeAlias = Auth | Resume | Heartbeat | ToolResult | Interrupt


# --------------------------------------------------------------------------- server -> client

Problems: TypeAlias = tuple[str, ...]
"""What a decoder could not read in a frame, one line each, naming the field.

Every server message carries the problems found while decoding it (``()`` for a clean
frame). A problem degrades only the detail it names; what decides the operation's
life (the message type, whose operation, terminal or not) is always read.
"""


@attrs.frozen(kw_only=True, weakref_slot=False)
class AgentEvent:
    """One AgentStreamEvent. `type` is kept raw; `operation_id` is ``""`` when absent."""

    type: str
    operation_id: str = ""
    step_index: int = 0
    timestamp: float = 0
    data: Any = None
    id: str | None = None

    def is_own(self, operation_id: str) -> bool:
        """Whether this event belongs to `operation_id` (an empty id counts as own)."""
        return not self.operation_id or self.operation_id == operation_id

    @property
    def is_terminal_type(self) -> bool:
        """Whether this is an `agent_runtime_end` or `error` event, whoever it belongs to."""
        return self.type in _TERMINAL_EVENT_TYPES


_TERMINAL_EVENT_TYPES = frozenset({EventType.AGENT_RUNTIME_END, EventType.ERROR})


@attrs.frozen(kw_only=True, weakref_slot=False)
class AuthSuccess:
    """The token was accepted; the client is connected."""

    problems: Problems = ()


@attrs.frozen(kw_only=True, weakref_slot=False)
class AuthFailed:
    """Terminal: bad token or the operation no longer exists.

    `reason` never holds a secret: the decoder redacts anything shaped like a token.
    """

    reason: str = ""
    problems: Problems = ()


@attrs.frozen(kw_only=True, weakref_slot=False)
class AuthExpired:
    """Recoverable: only `exp` failed; the socket stays open until the client reconnects."""

    problems: Problems = ()


@attrs.frozen(kw_only=True, weakref_slot=False)
class HeartbeatAck:
    """Answer to a heartbeat; resets the missed-heartbeat counter."""

    problems: Problems = ()


@attrs.frozen(kw_only=True, weakref_slot=False)
class AgentEventMessage:
    """An agent event in its envelope; the envelope `id` is the resume cursor."""

    event: AgentEvent
    id: str | None = None
    problems: Problems = ()


@attrs.frozen(kw_only=True, weakref_slot=False)
class SessionComplete:
    """The server says this session ended."""

    problems: Problems = ()


@attrs.frozen(kw_only=True, weakref_slot=False)
class ResumeComplete:
    """Sent after a `resume` replay: the operation's persisted status.

    `status` is None when the frame's status could not be read (a problem says why): it
    then counts as not terminal, as upstream treats a status it does not know. `gap`:
    the replay is not whole (events were lost), so the status is never stale and the
    transcript needs the server's message list (PROTOCOL.md 7.8).
    """

    status: SessionStatus | None
    gap: bool = False
    problems: Problems = ()


@attrs.frozen(kw_only=True, weakref_slot=False)
class UnknownMessage:
    """A frame with a `type` this client does not handle (forward compatibility)."""

    type: str
    payload: dict[str, Any] = attrs.field(factory=dict, eq=False)
    problems: Problems = ()


ServerMessage: TypeAlias = (
    AuthSuccess
    | AuthFailed
    | AuthExpired
    | HeartbeatAck
    | AgentEventMessage
    | SessionComplete
    | ResumeComplete
    | UnknownMessage
)

Message: TypeAlias = ClientMessage | ServerMessage
