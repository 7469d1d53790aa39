"""The v1 socket URL of an operation (PROTOCOL.md 1.1).

Owns: turning a configured gateway base URL into ``ws(s)://.../ws?operationId=...``, and
the one check of a base URL (scheme, a host, a port in 1-65535, not already a socket
URL), which `operation_url` applies and the command line uses for its URL arguments.
Must not know: sockets. The token is never in the URL for v1.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from gatewayops.exceptions import InvalidGatewayUrl

__all__ = ["check_authority", "check_gateway_url", "operation_url"]

_MAX_PORT = 65_535


def check_authority(gateway_url: str) -> None:
    """A host, and a port (if any) in 1-65535 (v2's `mux_url` checks it too).

    Raises:
        InvalidGatewayUrl: no host, or a port outside 1-65535.
    """
    parts = urlsplit(gateway_url)
    if not parts.hostname:
        raise InvalidGatewayUrl(f"gateway URL {gateway_url!r}: no host (expected ws://HOST:PORT)")
    try:
        port = parts.port
    except ValueError:
        port = -1  # not a number, or outside 0-65535
    if port is not None and not 1 <= port <= _MAX_PORT:
        raise InvalidGatewayUrl(
            f"gateway URL {gateway_url!r}: expected a port from 1 to {_MAX_PORT}"
        )


def check_gateway_url(gateway_url: str) -> str:
    """`gateway_url` itself, if it is a usable gateway base URL (see `operation_url`).

    Raises:
        InvalidGatewayUrl: as `operation_url`.
    """
    operation_url(gateway_url, "-")
    return gateway_url


def operation_url(gateway_url: str, operation_id: str) -> str:
    """The WebSocket URL for `operation_id` on the gateway at `gateway_url`.

    A ``ws://``/``wss://`` base keeps its scheme and loses trailing slashes; an
    ``http(s)://`` base becomes ``ws(s)://`` (trailing slashes kept, as upstream).

    Raises:
        InvalidGatewayUrl: the base is empty, has another scheme, has no host or a
            port outside 1-65535, or is already an operation's socket URL (it has a
            query, or its path ends in ``/ws``), which would otherwise be extended into
            a URL naming the wrong operation.
    """
    if not operation_id:
        raise InvalidGatewayUrl("operation id: must not be empty")
    if "?" in gateway_url or gateway_url.rstrip("/").endswith("/ws"):
        raise InvalidGatewayUrl(
            f"gateway URL {gateway_url!r}: expected the gateway's base URL, not an "
            "operation's socket URL (the client adds /ws?operationId=... itself)"
        )
    query = f"/ws?operationId={quote(operation_id, safe='')}"
    if gateway_url.startswith(("ws://", "wss://")):
        check_authority(gateway_url)
        return gateway_url.rstrip("/") + query
    for prefix, scheme in (("https://", "wss://"), ("http://", "ws://")):
        if gateway_url.startswith(prefix):
            check_authority(gateway_url)
            return scheme + gateway_url[len(prefix) :] + query
    raise InvalidGatewayUrl(
        f"gateway URL {gateway_url!r}: expected a ws://, wss://, http:// or https:// URL"
    )
