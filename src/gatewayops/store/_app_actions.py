"""The application's actions: what the application asked for, in the past tense.

Owns: the actions the application dispatches (start, attach, stop, detach, a new
token, a reconnect, a forget, an intervention answered or declined, the network back,
and the user's v2 link disconnected or connected again), `AppAction`, their union, and
`LINK_REQUESTS`, those about a v2 link as a whole. `_actions` adds the transport's and
the runtime's and re-exports these. Must not know: how any of them is produced, or what
the reducer does with them.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import attrs

from gatewayops.protocol import redacted

__all__ = [
    "LINK_REQUESTS",
    "AppAction",
    "InterventionAnswered",
    "InterventionDeclined",
    "LinkConnectRequested",
    "LinkDisconnectRequested",
    "NetworkRestored",
    "OperationAttached",
    "OperationDetached",
    "OperationForgotten",
    "OperationStarted",
    "ReconnectRequested",
    "StopRequested",
    "TokenReplaced",
]


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

LINK_REQUESTS: frozenset[type[AppAction]] = frozenset(
    {LinkDisconnectRequested, LinkConnectRequested}
)
"""The application's requests about a v2 link as a whole (named by its gateway URL)."""
