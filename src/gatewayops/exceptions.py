"""Every exception gatewayops raises, named for the condition.

Two families, as in h11: `RemoteProtocolError` is the peer's fault (a frame the
server sent that we cannot use); `LocalUsageError` is the caller's (an argument or a
call that makes no sense in the current state). Effect failures never escape as
exceptions: the runtime turns them into actions (see `gatewayops.effects`).
"""

from __future__ import annotations

__all__ = [
    "ClientClosed",
    "ConnectFailed",
    "ConnectionEnded",
    "FrameTooLarge",
    "GatewayOpsError",
    "HandshakeRejected",
    "InterventionClosed",
    "InterventionRefused",
    "InvalidGatewayUrl",
    "KeywordArgumentsRequired",
    "LocalUsageError",
    "OperationAlreadyExists",
    "OperationFinished",
    "OperationNotFinished",
    "OperationNotFound",
    "ProtocolError",
    "ProtocolV2Required",
    "RemoteProtocolError",
    "ReplayFormatError",
    "TokenRequired",
    "TokenUnavailable",
    "TopicBusy",
    "TransportError",
    "UnknownIntervention",
    "UnknownOperation",
    "UserTokenUnavailable",
    "is_retryable_status",
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


class TokenRequired(LocalUsageError, ValueError):
    """A v1 operation was started or attached without its token (v1 authenticates each
    operation's socket with it; only v2 may do without, using the user token)."""


class KeywordArgumentsRequired(LocalUsageError, TypeError):
    """A method whose arguments are easy to swap (several strings) was called with them
    by position; the message shows the keyword form to use."""


class OperationAlreadyExists(LocalUsageError):
    """An operation with this id is already known to the store."""


class UnknownOperation(LocalUsageError, KeyError):
    """No operation with this id is known to the store."""


class OperationFinished(LocalUsageError):
    """The operation already reached its terminal state; it cannot be followed again."""


class OperationNotFinished(LocalUsageError):
    """The operation has not finished (it is running or detached), so it cannot be
    forgotten: only an operation whose one end was notified may be."""


class TopicBusy(LocalUsageError):
    """The topic already has a live operation; a new run cannot start on it."""


class ProtocolV2Required(LocalUsageError):
    """`Client.disconnect()` or `Client.connect()` on a client that speaks protocol v1:
    only v2 has one link per gateway that several runs share (on v1 each run has its
    own link: `detach` or `reconnect` that run)."""


class UserTokenUnavailable(GatewayOpsError):
    """A user-level token (protocol v2) could not be had: the token service refused or
    failed (the reference gateway's `fail_user_tokens` fault raises it)."""


class UnknownIntervention(LocalUsageError, KeyError):
    """The operation was never asked for an intervention with this tool call id."""


class InterventionClosed(LocalUsageError):
    """The intervention cannot take this answer: it ended, or another answer of it is
    being resolved (a repeat of that answer, with its resolution id, is no error)."""


class InterventionRefused(GatewayOpsError):
    """Raised by the reference gateway: the agent does not take this answer (nothing asks
    that tool call, its deadline passed, or another answer was taken)."""


class OperationNotFound(GatewayOpsError):
    """Raised by a ``refresh_token`` dependency: the gateway no longer knows the operation.

    The store ends the operation cleanly (no socket, topic marker cleared) instead of
    retrying, so the upstream infinite-404 loop cannot happen.
    """


class TokenUnavailable(GatewayOpsError):
    """Raised by a ``refresh_token`` dependency that cannot get a fresh token, for a
    reason the user can act on: its message becomes the operation's problem as it is,
    without the class name (other exceptions are shown as ``Name: message``). The
    refresh counts as failed, within the refresh budget."""


# --------------------------------------------------------------------------- transport


def is_retryable_status(status_code: int) -> bool:
    """Whether a handshake rejected with this HTTP status may succeed if tried again.

    Client errors (4xx) are fatal -- the same request will be refused again -- except
    408 (request timeout) and 429 (too many requests), which say "later". Everything
    else (5xx, odd codes) is retryable.
    """
    return not (400 <= status_code < 500) or status_code in (408, 429)


class TransportError(GatewayOpsError):
    """Base class of the errors a transport raises."""

    @property
    def retryable(self) -> bool:
        """Whether a new attempt may succeed."""
        return True


class ConnectFailed(TransportError):
    """No connection was established.

    Attributes:
        fatal: True when retrying can never help (see the module docstring).
    """

    def __init__(self, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.fatal = fatal

    @property
    def retryable(self) -> bool:
        """Whether a new attempt may succeed."""
        return not self.fatal


class HandshakeRejected(ConnectFailed):
    """The server answered the upgrade request with an HTTP status other than 101.

    Attributes:
        status_code: the HTTP status of the answer.
    """

    def __init__(self, status_code: int, message: str = "") -> None:
        text = f"handshake rejected with HTTP {status_code}"
        super().__init__(
            f"{text}: {message}" if message else text,
            fatal=not is_retryable_status(status_code),
        )
        self.status_code = status_code


class ConnectionEnded(TransportError):
    """An open connection is over; raised by `receive` (after pending frames) and `send`.

    Attributes:
        code: the close code, or None when the connection ended without one.
        reason: the close reason (may be empty).
    """

    def __init__(self, code: int | None, reason: str = "") -> None:
        super().__init__(f"connection ended (code {code}, {reason!r})")
        self.code = code
        self.reason = reason


# --------------------------------------------------------------------------- runtime


class ClientClosed(LocalUsageError):
    """The client was closed; it no longer follows operations or accepts actions."""


class ReplayFormatError(GatewayOpsError, ValueError):
    """A log or HAR file cannot be read; the message names the line or entry.

    Attributes:
        line: 1-based line of the log at fault, if the input is a log.
        entry: 0-based index of the HAR entry at fault, if the input is a HAR.
    """

    def __init__(self, message: str, *, line: int | None = None, entry: int | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.entry = entry
