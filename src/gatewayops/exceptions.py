"""Every exception gatewayops raises, named for the condition.

Two families, as in h11: `RemoteProtocolError` is the peer's fault (a frame the
server sent that we cannot use); `LocalUsageError` is the caller's (an argument or a
call that makes no sense in the current state). Effect failures never escape as
exceptions: the runtime turns them into actions (see `gatewayops.effects`).
"""

from __future__ import annotations

__all__ = [
    "FrameTooLarge",
    "GatewayOpsError",
    "InvalidGatewayUrl",
    "LocalUsageError",
    "OperationAlreadyExists",
    "OperationFinished",
    "OperationNotFound",
    "ProtocolError",
    "RemoteProtocolError",
    "TopicBusy",
    "UnknownOperation",
]


class GatewayOpsError(Exception):
    """Base class of every error gatewayops raises."""


class RemoteProtocolError(GatewayOpsError):
    """The peer sent something that breaks the protocol."""


class ProtocolError(RemoteProtocolError):
    """A frame could not be decoded; the message names the field and what was expected.

    Attributes:
        path: dotted path of the offending field (``"agent_event.event.operationId"``),
            or ``""`` when the frame as a whole is unusable.
    """

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class FrameTooLarge(ProtocolError):
    """A frame is larger than the configured limit; it was not parsed."""


class LocalUsageError(GatewayOpsError):
    """The caller asked for something that cannot be done."""


class InvalidGatewayUrl(LocalUsageError, ValueError):
    """A gateway URL that is empty or has a scheme other than ws, wss, http or https."""


class OperationAlreadyExists(LocalUsageError):
    """An operation with this id is already known to the store."""


class UnknownOperation(LocalUsageError, KeyError):
    """No operation with this id is known to the store."""


class OperationFinished(LocalUsageError):
    """The operation already reached its terminal state; it cannot be followed again."""


class TopicBusy(LocalUsageError):
    """The topic already has a live operation; a new run cannot start on it."""


class OperationNotFound(GatewayOpsError):
    """Raised by a ``refresh_token`` dependency: the gateway no longer knows the operation.

    The store ends the operation cleanly (no socket, topic marker cleared) instead of
    retrying, so the upstream infinite-404 loop cannot happen.
    """
