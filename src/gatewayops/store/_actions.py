"""Actions: what happened, in the past tense, as frozen data.

Owns: every input of `reduce`. They come from three places: the application
(`OperationStarted`, `OperationAttached`, `StopRequested`, `OperationDetached`,
`TokenReplaced`, `ReconnectRequested`, `OperationForgotten`, `InterventionAnswered`,
`InterventionDeclined`, `NetworkRestored`, `LinkDisconnectRequested`,
`LinkConnectRequested`), the transport (socket lifecycle and frames,
each naming its `link_id` and carrying the socket's `generation`, so a stale socket's
late news is dropped), and the runtime (the results of effects -- token refresh, timers, tools,
interrupts, interventions, the server's message list -- and `HandlingFailed` when
carrying something out failed).
Application and effect actions name their `operation_id` (but `NetworkRestored`, which
is about every link, and the v2 link requests, which name their gateway's base URL and
are about its link); `TimerFired` its timer, whose `owner` is a link or an operation.
`subject(action)` is that id, whichever it is. Must
not know: how any of them is produced.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import attrs

from gatewayops.protocol import ClientMessage, ServerMessage, ToolResult, redacted
from gatewayops.protocol._v2_messages import MuxClientMessage, MuxServerMessage
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

# --------------------------------------------------------------------------- application


@attrs.frozen(kw_only=True, weakref_slot=False)
class OperationStarted:
    """The app started a new run on `topic_id`; follow it from the first event.

    `token` is the run's v1 token (v2 authenticates with the user token instead, and
    uses this one only if it falls back to v1; "" then asks `refresh_token` for one).
    `executor`: this client runs the run's client-side tools.
    """

    operation_id: str
    topic_id: str
    gateway_url: str
    token: str = attrs.field(repr=redacted)
    executor: bool = True


@attrs.frozen(kw_only=True, weakref_slot=False)
class OperationAttached:
    """The app reattaches to an operation already running (page revisit, second device).

    With no `last_event_id` the replay is buffered, deduplicated and flushed in order
    (v1; a v2 hub replays in order before `resume_complete`, and the client drops ids it
    has seen). `token` and `executor` as for `OperationStarted`.
    """

    operation_id: str
    topic_id: str
    gateway_url: str
    token: str = attrs.field(repr=redacted)
    last_event_id: str = ""
    executor: bool = True


@attrs.frozen(kw_only=True, weakref_slot=False)
class StopRequested:
    """The user pressed stop: ask the server to interrupt; keep following until it ends."""

    operation_id: str


@attrs.frozen(kw_only=True, weakref_slot=False)
class OperationDetached:
    """The app stops following the operation without finishing it (no notification)."""

    operation_id: str


@attrs.frozen(kw_only=True, weakref_slot=False)
class TokenReplaced:
    """The app holds a fresh token for the operation; the next `auth` frame carries it.

    Nothing is sent now (upstream `updateToken`); pair it with `ReconnectRequested` to
    use it at once.
    """

    operation_id: str
    token: str = attrs.field(repr=redacted)


@attrs.frozen(kw_only=True, weakref_slot=False)
class ReconnectRequested:
    """The app asks for a fresh socket now (upstream `reconnect()`).

    The current socket closes, a new one dials at once with the backoff started again,
    and the cursor is kept (no event is shown twice). A detached operation is followed
    again.
    """

    operation_id: str


@attrs.frozen(kw_only=True, weakref_slot=False)
class OperationForgotten:
    """The app no longer needs a finished operation: the store drops it (and its link).

    Only a finished operation may be forgotten; its one `NotifyFinished` was emitted
    when it finished. Later news for it is dropped without reviving it.
    """

    operation_id: str


@attrs.frozen(kw_only=True, weakref_slot=False)
class InterventionAnswered:
    """The user answered an intervention; `resolution_request_id` (minted by the client)
    makes the answer idempotent: the same id again changes nothing."""

    operation_id: str
    tool_call_id: str
    resolution_request_id: str
    result: Any


@attrs.frozen(kw_only=True, weakref_slot=False)
class InterventionDeclined:
    """The user declined to answer an intervention (`cancelReason: user_cancelled`)."""

    operation_id: str
    tool_call_id: str
    resolution_request_id: str


@attrs.frozen(kw_only=True, weakref_slot=False)
class NetworkRestored:
    """The network came back (a browser's ``online``, or a page made visible again):
    every link waiting out a backoff dials at once, the backoff started again."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class LinkDisconnectRequested:
    """The application disconnected the v2 link to the gateway at `gateway_url`
    (PROTOCOL.md 7.6 `disconnect()`): its socket closes and nothing dials, its sessions
    are kept, each waiting with its cursor and its queued tool results."""

    gateway_url: str


@attrs.frozen(kw_only=True, weakref_slot=False)
class LinkConnectRequested:
    """The application connected the v2 link to the gateway at `gateway_url` again: a
    disconnected link dials (if it carries a session, or is kept alive) and on `ready`
    every session subscribes from its own cursor."""

    gateway_url: str


AppAction: TypeAlias = (
    OperationStarted
    | OperationAttached
    | StopRequested
    | OperationDetached
    | TokenReplaced
    | ReconnectRequested
    | OperationForgotten
    | InterventionAnswered
    | InterventionDeclined
    | NetworkRestored
    | LinkDisconnectRequested
    | LinkConnectRequested
)

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

LINK_REQUESTS: frozenset[type[AppAction]] = frozenset(
    {LinkDisconnectRequested, LinkConnectRequested}
)
"""The application's requests about a v2 link as a whole (named by its gateway URL)."""


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
