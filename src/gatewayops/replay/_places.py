"""Where every action and effect is filed in a log, and what it is about.

Owns: `Item` (what one record holds), `REDACTED`, `Direction` and `Kind`, `PLACES` (every
store action and effect class, with the direction and kind of its records), `CLASSES`
(those classes by name, as a record's payload names them), `SUBJECT_FIELDS` (the field
of each that names what it is about) and `item_subject` (the link or operation id a
record carries once, outside its payload). Must not know: JSON,
files, lines, or how an item is encoded.
"""

from __future__ import annotations

import enum
from typing import Any, TypeAlias, cast

import attrs

from gatewayops.store import (
    LINK_REQUESTS,
    Action,
    BadMessageReceived,
    Effect,
    ExecuteTool,
    FetchMessages,
    HandlingFailed,
    InterruptConfirmed,
    InterruptFailed,
    InterventionAnswered,
    InterventionDeclined,
    InterventionSubmitFailed,
    InterventionSubmitted,
    LinkConnectRequested,
    LinkDisconnectRequested,
    MessageReceived,
    MessagesFetched,
    MessagesFetchFailed,
    NetworkRestored,
    NotifyFinished,
    OperationAttached,
    OperationDetached,
    OperationForgotten,
    OperationStarted,
    ReconnectRequested,
    RefreshToken,
    RequestInterrupt,
    SendFailed,
    SendMessage,
    SocketClosed,
    SocketFailed,
    SocketOpened,
    SocketWentQuiet,
    StopRequested,
    SubmitIntervention,
    TimerFired,
    TokenRefreshed,
    TokenRefreshFailed,
    TokenReplaced,
    ToolFinished,
)
from gatewayops.store import subject as action_subject

__all__ = [
    "CLASSES",
    "PLACES",
    "REDACTED",
    "SUBJECT_FIELDS",
    "Direction",
    "Item",
    "Kind",
    "item_subject",
]

Item: TypeAlias = Action | Effect
"""What one record holds: an action the reducer saw, or an effect it produced."""

REDACTED = "<redacted>"
"""What every token is replaced by in a recording."""


class Direction(enum.StrEnum):
    """Where a record's item came from or went."""

    IN = "in"
    """From the network: frames received, socket lifecycle."""
    OUT = "out"
    """Produced by the reducer: frames to send, other effects."""
    LOCAL = "local"
    """From this process: app actions, timer firings, effect results."""


class Kind(enum.StrEnum):
    """What a record's item is."""

    FRAME = "frame"
    SOCKET = "socket"
    APP = "app"
    TIMER = "timer"
    EFFECT_RESULT = "effect_result"
    EFFECT = "effect"


_IN, _OUT, _LOCAL = Direction.IN, Direction.OUT, Direction.LOCAL
PLACES: dict[type[Any], tuple[Direction, Kind]] = {
    OperationStarted: (_LOCAL, Kind.APP),
    NetworkRestored: (_LOCAL, Kind.APP),
    LinkDisconnectRequested: (_LOCAL, Kind.APP),
    LinkConnectRequested: (_LOCAL, Kind.APP),
    OperationAttached: (_LOCAL, Kind.APP),
    StopRequested: (_LOCAL, Kind.APP),
    OperationDetached: (_LOCAL, Kind.APP),
    TokenReplaced: (_LOCAL, Kind.APP),
    ReconnectRequested: (_LOCAL, Kind.APP),
    OperationForgotten: (_LOCAL, Kind.APP),
    InterventionAnswered: (_LOCAL, Kind.APP),
    InterventionDeclined: (_LOCAL, Kind.APP),
    MessageReceived: (_IN, Kind.FRAME),
    BadMessageReceived: (_IN, Kind.FRAME),
    SocketOpened: (_IN, Kind.SOCKET),
    SocketClosed: (_IN, Kind.SOCKET),
    SocketFailed: (_IN, Kind.SOCKET),
    SocketWentQuiet: (_IN, Kind.SOCKET),
    SendFailed: (_IN, Kind.SOCKET),
    TimerFired: (_LOCAL, Kind.TIMER),
    TokenRefreshed: (_LOCAL, Kind.EFFECT_RESULT),
    TokenRefreshFailed: (_LOCAL, Kind.EFFECT_RESULT),
    ToolFinished: (_LOCAL, Kind.EFFECT_RESULT),
    InterruptConfirmed: (_LOCAL, Kind.EFFECT_RESULT),
    InterruptFailed: (_LOCAL, Kind.EFFECT_RESULT),
    InterventionSubmitted: (_LOCAL, Kind.EFFECT_RESULT),
    InterventionSubmitFailed: (_LOCAL, Kind.EFFECT_RESULT),
    MessagesFetched: (_LOCAL, Kind.EFFECT_RESULT),
    MessagesFetchFailed: (_LOCAL, Kind.EFFECT_RESULT),
    HandlingFailed: (_LOCAL, Kind.EFFECT_RESULT),
    SendMessage: (_OUT, Kind.FRAME),
    RefreshToken: (_OUT, Kind.EFFECT),
    RequestInterrupt: (_OUT, Kind.EFFECT),
    ExecuteTool: (_OUT, Kind.EFFECT),
    SubmitIntervention: (_OUT, Kind.EFFECT),
    FetchMessages: (_OUT, Kind.EFFECT),
    NotifyFinished: (_OUT, Kind.EFFECT),
}
"""Every action and effect class, with the direction and kind of its records."""

CLASSES: dict[str, type[Any]] = {cls.__name__: cls for cls in PLACES}
SUBJECT_FIELDS: dict[type[Any], str | None] = {
    cls: next(
        (name for name in ("link_id", "operation_id") if name in attrs.fields_dict(cls)), None
    )
    for cls in PLACES
}
"""The field naming what an item is about (a record carries it once, as ``"op"``);
None for `TimerFired`, whose timer names its owner, for `NetworkRestored`, about
every link (its records carry ""), and for the v2 link requests, whose records carry
their link's id (their gateway URL is in the payload)."""


def item_subject(item: Item) -> str:
    """The link or operation id a record of `item` carries."""
    field = SUBJECT_FIELDS[type(item)]
    if field is None:
        if isinstance(item, TimerFired):
            return item.timer.owner
        return action_subject(cast(Action, item)) if type(item) in LINK_REQUESTS else ""
    return cast(str, getattr(item, field))
