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
        InvalidGatewayUrl: the base is empty or has another scheme.
    """
    if not operation_id:
        raise InvalidGatewayUrl("operation id: must not be empty")
    query = f"/ws?operationId={quote(operation_id, safe='')}"
    if gateway_url.startswith(("ws://", "wss://")):
        return gateway_url.rstrip("/") + query
    for prefix, scheme in (("https://", "wss://"), ("http://", "ws://")):
        if gateway_url.startswith(prefix):
            return scheme + gateway_url[len(prefix) :] + query
    raise InvalidGatewayUrl(
        f"gateway URL {gateway_url!r}: expected a ws://, wss://, http:// or https:// URL"
    )
