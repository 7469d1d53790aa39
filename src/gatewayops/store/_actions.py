"""Actions: what happened, in the past tense, as frozen data.

Owns: every input of `reduce`, the `Action` union. They come from three places: the
application (`_app_actions`, re-exported here), the transport (socket lifecycle and
frames, each naming its `link_id` and carrying the socket's `generation`, so a stale
socket's late news is dropped), and the runtime (the results of effects -- token
refresh, timers, tools, interrupts, interventions, the server's message list -- and
`HandlingFailed` when carrying something out failed). Application and effect actions
name their `operation_id` (but `NetworkRestored`, which is about every link, and the
v2 link requests, which name their gateway's base URL and are about its link);
`TimerFired` its timer, whose `owner` is a link or an operation. `subject(action)` is
that id, whichever it is. Must not know: how any of them is produced.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import attrs

from gatewayops.protocol import ClientMessage, ServerMessage, ToolResult, redacted
from gatewayops.protocol._v2_messages import MuxClientMessage, MuxServerMessage
from gatewayops.store._app_actions import (
    LINK_REQUESTS,
    AppAction,
    InterventionAnswered,
    InterventionDeclined,
    LinkConnectRequested,
    LinkDisconnectRequested,
    NetworkRestored,
    OperationAttached,
    OperationDetached,
    OperationForgotten,
    OperationStarted,
    ReconnectRequested,
    StopRequested,
    TokenReplaced,
)
from gatewayops.store._resources import Timer
from gatewayops.store._state import mux_link_id

__all__ = [
    "LINK_REQUESTS",
    "TRANSPORT_ACTIONS",
    "Action",
    "AppAction",
    "BadMessageReceived",
    "EffectResult",
    "HandlingFailed",
    "InterruptConfirmed",
    "InterruptFailed",
    "InterventionAnswered",
    "InterventionDeclined",
    "InterventionSubmitFailed",
    "InterventionSubmitted",
    "LinkConnectRequested",
    "LinkDisconnectRequested",
    "MessageReceived",
    "MessagesFetchFailed",
    "MessagesFetched",
    "NetworkRestored",
    "OperationAttached",
    "OperationDetached",
    "OperationForgotten",
    "OperationStarted",
    "ReconnectRequested",
    "SendFailed",
    "SocketClosed",
    "SocketFailed",
    "SocketOpened",
    "SocketWentQuiet",
    "StopRequested",
    "TimerFired",
    "TokenRefreshFailed",
    "TokenRefreshed",
    "TokenReplaced",
    "ToolFinished",
    "TransportAction",
    "is_about_a_link",
    "subject",
]

# --------------------------------------------------------------------------- transport


@attrs.frozen(kw_only=True, weakref_slot=False)
class SocketOpened:
    """The WebSocket handshake of this generation completed."""

    link_id: str
    generation: int


@attrs.frozen(kw_only=True, weakref_slot=False)
class SocketClosed:
    """The socket of this generation closed (`code` is None when no close frame came)."""

    link_id: str
    generation: int
    code: int | None = None
    reason: str = ""


@attrs.frozen(kw_only=True, weakref_slot=False)
class SocketFailed:
    """Dialing or running the socket failed; `retryable` False means it never will work."""

    link_id: str
    generation: int
    error: str
    retryable: bool = True


@attrs.frozen(kw_only=True, weakref_slot=False)
class MessageReceived:
    """A decoded server frame arrived on this generation's socket (a v2 hub frame on the
    socket of a v2 link)."""

    link_id: str
    generation: int
    message: ServerMessage | MuxServerMessage


@attrs.frozen(kw_only=True, weakref_slot=False)
class BadMessageReceived:
    """A frame could not be decoded; it is reported and the socket stays up."""

    link_id: str
    generation: int
    error: str


@attrs.frozen(kw_only=True, weakref_slot=False)
class SendFailed:
    """A frame could not be written to this generation's socket."""

    link_id: str
    generation: int
    message: ClientMessage | MuxClientMessage


@attrs.frozen(kw_only=True, weakref_slot=False)
class SocketWentQuiet:
    """This generation's socket carried nothing but heartbeat acks for `quiet_ms`."""

    link_id: str
    generation: int
    quiet_ms: int


TransportAction: TypeAlias = (
    SocketOpened
    | SocketClosed
    | SocketFailed
    | SocketWentQuiet
    | MessageReceived
    | BadMessageReceived
    | SendFailed
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
    """A timer from the resources elapsed (of a link or of an operation: `timer.owner`)."""

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


@attrs.frozen(kw_only=True, weakref_slot=False)
class InterventionSubmitted:
    """A `SubmitIntervention` effect handed the answer to the producer."""

    operation_id: str
    tool_call_id: str
    resolution_request_id: str


@attrs.frozen(kw_only=True, weakref_slot=False)
class InterventionSubmitFailed:
    """A `SubmitIntervention` effect failed: the intervention may be answered again."""

    operation_id: str
    tool_call_id: str
    resolution_request_id: str
    error: str


@attrs.frozen(kw_only=True, weakref_slot=False)
class MessagesFetched:
    """A `FetchMessages` effect brought the server's message list.

    `messages` is the list as JSON data (what a `uiMessages` snapshot holds);
    `revision` the `message_patch` revision it stands at, when the server says.
    """

    operation_id: str
    messages: Any
    revision: int | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class MessagesFetchFailed:
    """A `FetchMessages` effect failed: the transcript still needs the server's list."""

    operation_id: str
    error: str


@attrs.frozen(kw_only=True, weakref_slot=False)
class HandlingFailed:
    """Carrying out an action or effect of the operation failed unexpectedly.

    The operation ends, once, as failed (`FinishSource.INTERNAL_ERROR`) with its
    socket closed: no failure may leave a run open.
    """

    operation_id: str
    error: str


EffectResult: TypeAlias = (
    TokenRefreshed
    | TokenRefreshFailed
    | TimerFired
    | ToolFinished
    | InterruptConfirmed
    | InterruptFailed
    | InterventionSubmitted
    | InterventionSubmitFailed
    | MessagesFetched
    | MessagesFetchFailed
    | HandlingFailed
)

Action: TypeAlias = AppAction | TransportAction | EffectResult

TRANSPORT_ACTIONS: frozenset[type[TransportAction]] = frozenset(
    {
        SocketOpened,
        SocketClosed,
        SocketFailed,
        SocketWentQuiet,
        MessageReceived,
        BadMessageReceived,
        SendFailed,
    }
)
"""The classes of transport news: each names the link it is about."""


def is_about_a_link(action: Action) -> bool:
    """Whether `action` is news of a link (transport news, or a link's timer firing)."""
    kind = type(action)
    return kind in TRANSPORT_ACTIONS or (kind is TimerFired and action.timer.of_link)  # type: ignore[union-attr]


def subject(action: Action) -> str:
    """The id `action` is about: a link for transport actions and the v2 link requests,
    a timer's owner, "" for `NetworkRestored` (every link), else the operation."""
    kind = type(action)
    if kind in TRANSPORT_ACTIONS:
        return action.link_id  # type: ignore[union-attr]
    if kind is TimerFired:
        return action.timer.owner  # type: ignore[union-attr]
    if kind is NetworkRestored:
        return ""  # about every link, none in particular
    if kind in LINK_REQUESTS:
        return mux_link_id(action.gateway_url)  # type: ignore[union-attr]
    return action.operation_id  # type: ignore[union-attr]
