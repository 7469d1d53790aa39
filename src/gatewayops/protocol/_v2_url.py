"""The protocol v2 socket URL of a user (PROTOCOL.md 7.1).

Owns: turning a configured gateway base URL, a user-level token and a client id into
``ws(s)://.../v2/ws?token=<jwt>&clientId=<id>``. The scheme is derived as for v1
(``http`` -> ``ws``, ``https`` -> ``wss``); unlike v1, trailing slashes are stripped in
both branches. The URL carries a secret: `gatewayops._secrets.redact_secrets` hides its
``token=`` value wherever a URL is logged or shown. Must not know: sockets.
"""

from __future__ import annotations

from urllib.parse import quote

from gatewayops._secrets import redact_secrets
from gatewayops.exceptions import InvalidGatewayUrl
from gatewayops.protocol._url import check_authority

__all__ = ["MUX_PATH", "mux_url"]

MUX_PATH = "/v2/ws"
"""The path of the v2 endpoint, beside v1's ``/ws``."""

_SCHEMES = (("ws://", "ws://"), ("wss://", "wss://"), ("https://", "wss://"), ("http://", "ws://"))


def mux_url(gateway_url: str, token: str, client_id: str) -> str:
    """The v2 WebSocket URL on the gateway at `gateway_url`, for `token`'s user.

    Args:
        gateway_url: the gateway's base URL (``ws``, ``wss``, ``http`` or ``https``).
        token: the user-level JWT (percent-encoded into the query).
        client_id: this client's id, so the hub can tell its sockets apart.

    Raises:
        InvalidGatewayUrl: the token or client id is empty, the base has another
            scheme, no host or a port outside 1-65535, or it is already a socket URL (it
            has a query, or its path ends in ``/ws``).
    """
    if not token:
        raise InvalidGatewayUrl("token: must not be empty (v2 authenticates at the upgrade)")
    if not client_id:
        raise InvalidGatewayUrl("client id: must not be empty")
    base = gateway_url.rstrip("/")
    shown = redact_secrets(gateway_url)  # a socket URL passed by mistake may hold one
    if "?" in gateway_url or base.endswith("/ws"):
        raise InvalidGatewayUrl(
            f"gateway URL {shown!r}: expected the gateway's base URL, not a socket "
            f"URL (the client adds {MUX_PATH}?token=... itself)"
        )
    query = f"{MUX_PATH}?token={quote(token, safe='')}&clientId={quote(client_id, safe='')}"
    for prefix, scheme in _SCHEMES:
        if gateway_url.startswith(prefix):
            check_authority(gateway_url)  # no query here, so no token to quote
            return scheme + base[len(prefix) :] + query
    raise InvalidGatewayUrl(
        f"gateway URL {shown!r}: expected a ws://, wss://, http:// or https:// URL"
    )
