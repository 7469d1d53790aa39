"""The bounds the reference gateway puts on every connection, and why a socket was cut off.

Owns: `GatewayLimits` (frame size, handshake time, the two auth deadlines and the outbox
bound, checked once when a gateway is opened, with an error naming the bad setting),
their defaults, `CloseCause` (which of those limits closed a socket, as counted in
`GatewayStatistics`), and `check_loopback` (the gateway and its token endpoint bind to
loopback addresses only, unless told otherwise).

A hostile or broken client meets each limit in turn: it must finish its HTTP upgrade
within `handshake_timeout`, send an `auth` frame within `auth_timeout` of the upgrade,
authenticate again within `expired_auth_timeout` of an `auth_expired`, and keep reading
so that its outbox never holds more than `max_outbox_frames` frames or
`max_outbox_chars` characters.

Must not know: sockets, tokens, operations or how a limit is enforced.
"""

from __future__ import annotations

import enum
import ipaddress
import math
from typing import Any

import attrs

from gatewayops.protocol import DEFAULT_MAX_FRAME_CHARS

__all__ = [
    "DEFAULT_AUTH_TIMEOUT",
    "DEFAULT_EXPIRED_AUTH_TIMEOUT",
    "DEFAULT_HANDSHAKE_TIMEOUT",
    "DEFAULT_MAX_OUTBOX_CHARS",
    "DEFAULT_MAX_OUTBOX_FRAMES",
    "CloseCause",
    "GatewayLimits",
    "check_loopback",
]

DEFAULT_HANDSHAKE_TIMEOUT = 10.0
"""Seconds a client has to send its HTTP upgrade request."""

DEFAULT_AUTH_TIMEOUT = 10.0
"""Seconds an upgraded socket has to send its `auth` frame."""

DEFAULT_EXPIRED_AUTH_TIMEOUT = 30.0
"""Seconds a socket told `auth_expired` has to authenticate again."""

DEFAULT_MAX_OUTBOX_FRAMES = 10_000
"""Frames a socket may have queued but not yet written."""

DEFAULT_MAX_OUTBOX_CHARS = 2 * DEFAULT_MAX_FRAME_CHARS
"""Characters (bytes, for the ASCII JSON the codec writes) a socket may have queued: 8 MiB."""


def _positive_seconds(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not (0 < value < math.inf):
        raise ValueError(
            f"{attribute.name}: expected a positive, finite number of seconds, got {value!r}"
        )


def _positive_count(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{attribute.name}: expected a positive integer, got {value!r}")


@attrs.frozen(kw_only=True)
class GatewayLimits:
    """Every bound one gateway puts on its connections (see `open_gateway`).

    Attributes:
        max_frame_chars: client frames longer than this are refused.
        handshake_timeout: seconds a client has to send its HTTP upgrade request.
        auth_timeout: seconds an upgraded socket has to send an `auth` frame; then 1008.
        expired_auth_timeout: seconds a socket may stay unauthenticated after its first
            `auth_expired` (further expired tokens do not extend it); then 1008.
        max_outbox_frames: frames a socket may have queued but not yet written; one
            more closes it with 1008.
        max_outbox_chars: characters a socket may have queued; one more closes it.

    Raises:
        ValueError: a setting is not positive (timeouts: a finite number of seconds;
            sizes: an integer), naming the setting.
    """

    max_frame_chars: int = attrs.field(default=DEFAULT_MAX_FRAME_CHARS, validator=_positive_count)
    handshake_timeout: float = attrs.field(
        default=DEFAULT_HANDSHAKE_TIMEOUT, validator=_positive_seconds
    )
    auth_timeout: float = attrs.field(default=DEFAULT_AUTH_TIMEOUT, validator=_positive_seconds)
    expired_auth_timeout: float = attrs.field(
        default=DEFAULT_EXPIRED_AUTH_TIMEOUT, validator=_positive_seconds
    )
    max_outbox_frames: int = attrs.field(
        default=DEFAULT_MAX_OUTBOX_FRAMES, validator=_positive_count
    )
    max_outbox_chars: int = attrs.field(default=DEFAULT_MAX_OUTBOX_CHARS, validator=_positive_count)


class CloseCause(enum.Enum):
    """Which limit made the gateway close a socket with 1008 (`auth_failed` is not a limit)."""

    AUTH_TIMEOUT = "auth_timeout"
    """No `auth` frame within `auth_timeout` of the upgrade."""

    EXPIRED_AUTH_TIMEOUT = "expired_auth_timeout"
    """No successful `auth` within `expired_auth_timeout` of an `auth_expired`."""

    OUTBOX_OVERFLOW = "outbox_overflow"
    """The client stopped reading and its outbox reached its bound."""


def check_loopback(host: str, allow_remote: bool = False) -> None:
    """Refuse to bind `host` unless it is a loopback address (or `allow_remote`).

    Raises:
        ValueError: `host` is not ``localhost`` or a loopback IP address.
    """
    if allow_remote or host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(
            f"host {host!r}: the reference gateway binds to loopback only "
            "(pass allow_remote=True to override)"
        )
