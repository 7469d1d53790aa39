"""Actions: what happened, in the past tense, as frozen data.

Owns: every input of `reduce`. They come from three places: the application
(`OperationStarted`, `OperationAttached`, `StopRequested`, `OperationDetached`), the
transport (socket lifecycle and frames, each carrying the socket's `generation` so a
stale socket's late news is dropped), and the results of effects (token refresh,
timers, tools, interrupts). Every action names its `operation_id`. Must not know: how
any of them is produced.
"""

from __future__ import annotations

from typing import TypeAlias

import attrs

from gatewayops.protocol import ClientMessage, ServerMessage, ToolResult, redacted
from gatewayops.store._resources import Timer

__all__ = [
    "Action",
    "AppAction",
    "BadMessageReceived",
    "EffectResult",
    "InterruptConfirmed",
    "InterruptFailed",
    "MessageReceived",
    "OperationAttached",
    "OperationDetached",
    "OperationStarted",
    "SendFailed",
    "SocketClosed",
    "SocketFailed",
    "SocketOpened",
    "StopRequested",
    "TimerFired",
    "TokenRefreshFailed",
    "TokenRefreshed",
    "ToolFinished",
    "TransportAction",
]

# --------------------------------------------------------------------------- application


@attrs.frozen(kw_only=True, weakref_slot=False)
class OperationStarted:
    """The app started a new run on `topic_id`; follow it from the first event."""

    operation_id: str
    topic_id: str
    gateway_url: str
    token: str = attrs.field(repr=redacted)


@attrs.frozen(kw_only=True, weakref_slot=False)
class OperationAttached:
    """The app reattaches to an operation already running (page revisit, second device).

    With no `last_event_id` the replay is buffered, deduplicated and flushed in order.
    """

    operation_id: str
    topic_id: str
    gateway_url: str
    token: str = attrs.field(repr=redacted)
    last_event_id: str = ""


@attrs.frozen(kw_only=True, weakref_slot=False)
class StopRequested:
    """The user pressed stop: ask the server to interrupt; keep following until it ends."""

    operation_id: str


@attrs.frozen(kw_only=True, weakref_slot=False)
class OperationDetached:
    """The app stops following the operation without finishing it (no notification)."""

    operation_id: str


AppAction: TypeAlias = OperationStarted | OperationAttached | StopRequested | OperationDetached

# --------------------------------------------------------------------------- transport


@attrs.frozen(kw_only=True, weakref_slot=False)
class SocketOpened:
    """The WebSocket handshake of this generation completed."""

    operation_id: str
    generation: int


@attrs.frozen(kw_only=True, weakref_slot=False)
class SocketClosed:
    """The socket of this generation closed (`code` is None when no close frame came)."""

    operation_id: str
    generation: int
    code: int | None = None
    reason: str = ""


@attrs.frozen(kw_only=True, weakref_slot=False)
class SocketFailed:
    """Dialing or running the socket failed; `retryable` False means it never will work."""

    operation_id: str
    generation: int
    error: str
    retryable: bool = True


@attrs.frozen(kw_only=True, weakref_slot=False)
class MessageReceived:
    """A decoded server frame arrived on this generation's socket."""

    operation_id: str
    generation: int
    message: ServerMessage


@attrs.frozen(kw_only=True, weakref_slot=False)
class BadMessageReceived:
    """A frame could not be decoded; it is reported and the socket stays up."""

    operation_id: str
    generation: int
    error: str


@attrs.frozen(kw_only=True, weakref_slot=False)
class SendFailed:
    """A frame could not be written to this generation's socket."""

    operation_id: str
    generation: int
    message: ClientMessage


TransportAction: TypeAlias = (
    SocketOpened | SocketClosed | SocketFailed | MessageReceived | BadMessageReceived | SendFailed
)

# --------------------------------------------------------------------------- effect results


@attrs.frozen(kw_only=True, weakref_slot=False)
class TokenRefreshed:
    """A `RefreshToken` effect returned a fresh token."""

    operation_id: str
    token: str = attrs.field(repr=redacted)


@attrs.frozen(kw_only=True, weakref_slot=False)
class TokenRefreshFailed:
    """A `RefreshToken` effect failed; `not_found` means the operation is gone."""

    operation_id: str
    error: str
    not_found: bool = False


@attrs.frozen(kw_only=True, weakref_slot=False)
class TimerFired:
    """A timer from the operation's resources elapsed."""

    operation_id: str
    timer: Timer


@attrs.frozen(kw_only=True, weakref_slot=False)
class ToolFinished:
    """An `ExecuteTool` effect produced its result (success or structured failure)."""

    operation_id: str
    result: ToolResult


@attrs.frozen(kw_only=True, weakref_slot=False)
class InterruptConfirmed:
    """The server confirmed the interrupt requested by a stop."""

    operation_id: str


@attrs.frozen(kw_only=True, weakref_slot=False)
class InterruptFailed:
    """The interrupt was not confirmed; the run goes on untouched."""

    operation_id: str
    error: str


EffectResult: TypeAlias = (
    TokenRefreshed
    | TokenRefreshFailed
    | TimerFired
    | ToolFinished
    | InterruptConfirmed
    | InterruptFailed
)

Action: TypeAlias = AppAction | TransportAction | EffectResult
