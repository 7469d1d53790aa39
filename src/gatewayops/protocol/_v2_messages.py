"""The protocol v2 ("mux") wire vocabulary: one socket per user, many operations on it.

Owns: the frozen classes of every v2 frame of PROTOCOL.md 7.2 (client -> hub) and 7.3
(hub -> client) that v1 has no class for, the `SubscribeFailure` reasons, `MUX_PROTOCOL`
and `sequence_number` (the numeric value of an id, which the client's per-operation
dedup compares). v2 reuses v1's `Heartbeat`, `HeartbeatAck`, `AgentEvent`, `ToolResult`,
`SessionStatus` and `UnknownMessage` as they are, and the human-in-the-loop frames of
`_v2_human` (`ToolConfirmation`, `UserInput`, `ToolConfirmationRequest`,
`InputRequest`). Names that v1 already uses for a frame of the same `type` take a
``Mux`` prefix (`MuxAgentEvent`, `MuxSessionComplete`, `MuxResumeComplete`,
`MuxToolResult`); the rest are v2's own.

Every operation-scoped frame carries the envelope's `operation_id`, by which the client
routes it; a hub -> client message also carries `problems` (see `Problems`), the detail
its decoder could not read. Must not know: JSON (see `_v2_codec`), sockets, or what a
client does with a frame.
"""

from __future__ import annotations

import enum
from typing import Any, TypeAlias

import attrs

from gatewayops.protocol._messages import (
    AgentEvent,
    Heartbeat,
    HeartbeatAck,
    Problems,
    SessionStatus,
    ToolResult,
    UnknownMessage,
)
from gatewayops.protocol._v2_human import (
    InputRequest,
    ToolConfirmation,
    ToolConfirmationRequest,
    UserInput,
)

__all__ = [
    "GONE_STATUS",
    "MUX_PROTOCOL",
    "HubError",
    "MuxAgentEvent",
    "MuxClientMessage",
    "MuxResumeComplete",
    "MuxServerMessage",
    "MuxSessionComplete",
    "MuxToolResult",
    "OpLifecycle",
    "Ready",
    "StatusChange",
    "Subscribe",
    "SubscribeFailed",
    "SubscribeFailure",
    "Unsubscribe",
    "sequence_number",
]

MUX_PROTOCOL = 2
"""The `protocol` a v2 hub announces in `ready`."""

GONE_STATUS = "gone"
"""What `op_lifecycle.status` says of an operation the hub forgot (`OpLifecycle.gone`)."""


def sequence_number(event_id: str | None) -> int | None:
    """The numeric value of an envelope id, or None when it has none.

    Per-operation dedup (PROTOCOL.md 7.4) compares only numeric ids: ``"12"`` is 12,
    while ``None``, ``""``, ``"x1"`` or ``"1.5"`` bypass dedup and do not move a cursor.
    """
    if event_id is None or not event_id.isascii() or not event_id.isdecimal():
        return None
    return int(event_id)


# --------------------------------------------------------------------------- client -> hub


@attrs.frozen(kw_only=True, weakref_slot=False)
class Subscribe:
    """Follow `operation_id` on this socket: replay after `last_event_id`, then live.

    On the wire each optional field is present only when set: `lastEventId` when
    `last_event_id` is not empty, `executor` when it is true (only an executor
    subscription is sent `tool_execute` and may answer it).
    """

    operation_id: str
    last_event_id: str = ""
    executor: bool = False


@attrs.frozen(kw_only=True, weakref_slot=False)
class Unsubscribe:
    """Stop following `operation_id` (sent when the last local subscription of it ends)."""

    operation_id: str


@attrs.frozen(kw_only=True, weakref_slot=False)
class MuxToolResult:
    """A v1 `tool_result` for `operation_id`: the v1 fields beside the envelope's id."""

    operation_id: str
    result: ToolResult


MuxClientMessage: TypeAlias = (
    Subscribe | Unsubscribe | Heartbeat | MuxToolResult | ToolConfirmation | UserInput
)


# --------------------------------------------------------------------------- hub -> client


@attrs.frozen(kw_only=True, weakref_slot=False)
class Ready:
    """The hub's greeting; the client sends nothing before it (protocol 2)."""

    user_id: str
    connection_id: str
    protocol: int = MUX_PROTOCOL
    problems: Problems = ()


@attrs.frozen(kw_only=True, weakref_slot=False)
class MuxAgentEvent:
    """An agent event of `operation_id`; `id` is that operation's cursor.

    The hub omits `event.operationId` when it equals the envelope's; the decoder
    restores it, so `event.operation_id` is never empty here: an event whose id differs
    from `operation_id` is foreign (a group member's, mirrored onto its supervisor).
    """

    operation_id: str
    event: AgentEvent
    id: str | None = None
    problems: Problems = ()


@attrs.frozen(kw_only=True, weakref_slot=False)
class MuxSessionComplete:
    """The hub says `operation_id`'s session ended; `summary` is opaque (None: absent)."""

    operation_id: str
    id: str | None = None
    summary: Any = None
    problems: Problems = ()


@attrs.frozen(kw_only=True, weakref_slot=False)
class StatusChange:
    """`operation_id`'s persisted status changed (a terminal one ends the subscription).

    `status` is None when it could not be read (a problem says why); it then counts as
    not terminal, as v1's `resume_complete` does.
    """

    operation_id: str
    status: SessionStatus | None
    id: str | None = None
    problems: Problems = ()


@attrs.frozen(kw_only=True, weakref_slot=False)
class MuxResumeComplete:
    """The replay a `subscribe` asked for is done: the stored status, and what was lost.

    Attributes:
        operation_id: the subscription's operation.
        status: the persisted status; None when absent (a pending operation has none)
            or unreadable (a problem says so).
        gap: events after the subscription's cursor were lost (the hub's buffer was
            dropped); the client refetches.
        pending: the operation has not started yet; keep waiting, even for a terminal
            `status`.
    """

    operation_id: str
    status: SessionStatus | None = None
    gap: bool = False
    pending: bool = False
    problems: Problems = ()


class SubscribeFailure(enum.StrEnum):
    """Why the hub refused a `subscribe` (`SubscribeFailed.reason`)."""

    FORBIDDEN = "forbidden"
    """The operation belongs to another user."""
    INVALID = "invalid"
    """No such operation."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class SubscribeFailed:
    """The hub refused `subscribe{operation_id}`: the subscription ends as an auth failure.

    `reason` is kept raw (compare it with `SubscribeFailure`), so a reason this client
    does not know still ends the subscription; the decoder redacts anything shaped like
    a secret from it.
    """

    operation_id: str
    reason: str
    problems: Problems = ()


@attrs.frozen(kw_only=True, weakref_slot=False)
class OpLifecycle:
    """One entry of the user's operation feed: an operation started, changed or went.

    Attributes:
        operation_id: the operation.
        status: its status now; None when it is `gone` or the status was unreadable.
        gone: the hub forgot the operation (``status: "gone"`` on the wire).
        at: when, in epoch milliseconds.
        meta: opaque details (None: absent).
        summary: opaque summary of a finished operation (None: absent).
    """

    operation_id: str
    status: SessionStatus | None
    gone: bool = False
    at: float = 0
    meta: Any = None
    summary: Any = None
    problems: Problems = ()


@attrs.frozen(kw_only=True, weakref_slot=False)
class HubError:
    """An error the hub reports; with an `operation_id` it belongs to that subscription
    (and does not end it), otherwise to the whole link."""

    code: str
    message: str = ""
    operation_id: str | None = None
    problems: Problems = ()


MuxServerMessage: TypeAlias = (
    Ready
    | MuxAgentEvent
    | MuxSessionComplete
    | StatusChange
    | MuxResumeComplete
    | SubscribeFailed
    | OpLifecycle
    | HeartbeatAck
    | HubError
    | ToolConfirmationRequest
    | InputRequest
    | UnknownMessage
)
