"""The v1 socket URL of an operation (PROTOCOL.md 1.1).

Owns: turning a configured gateway base URL into ``ws(s)://.../ws?operationId=...``.
Must not know: sockets. The token is never in the URL for v1.
"""

from __future__ import annotations

from urllib.parse import quote

from gatewayops.exceptions import InvalidGatewayUrl

__all__ = ["operation_url"]


def operation_url(gateway_url: str, operation_id: str) -> str:
    """The WebSocket URL for `operation_id` on the gateway at `gateway_url`.

    A ``ws://``/``wss://`` base keeps its scheme and loses trailing slashes; an
    ``http(s)://`` base becomes ``ws(s)://`` (trailing slashes kept, as upstream).

    Raises:
        InvalidGatewayUrl: the base is empty, has another scheme, or is already an
            operation's socket URL (it has a query, or its path ends in ``/ws``), which
            would otherwise be extended into a URL naming the wrong operation.
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
        return gateway_url.rstrip("/") + query
    for prefix, scheme in (("https://", "wss://"), ("http://", "ws://")):
        if gateway_url.startswith(prefix):
            return scheme + gateway_url[len(prefix) :] + query
    raise InvalidGatewayUrl(
        f"gateway URL {gateway_url!r}: expected a ws://, wss://, http:// or https:// URL"
    )
