"""The client side of a token endpoint: trade a run's token for a fresh one over HTTP.

Owns: `fetch_token`, one ``POST`` of ``{"token": "..."}`` to a token URL (through
`_http_client`), and what its answers mean for the run: 200 ``{"token": "..."}`` is the
fresh token; 404 means the gateway no longer knows the run (`OperationNotFound`: the
run ends as gone); any other answer, or no answer, is a `TokenUnavailable` whose message
says what happened, so the refresh is retried within the refresh budget. This is the
protocol of the reference gateway's endpoint (``gatewayops serve`` prints its URL); a
real backend's token service may speak it too.

Must not know: the reference gateway, the store. Never logs or shows a token.
"""

from __future__ import annotations

from gatewayops.cli._http_client import EndpointUnreachable, check_http_url, post_json, refusal
from gatewayops.exceptions import OperationNotFound, TokenUnavailable

__all__ = ["check_token_url", "fetch_token"]


def check_token_url(url: str) -> tuple[str, int, str]:
    """The host, port and path of an ``http://HOST[:PORT]/PATH`` token URL.

    Raises:
        ValueError: another scheme, no host, or a port outside 1-65535.
    """
    return check_http_url(url, "token URL")


async def fetch_token(url: str, token: str) -> str:
    """A fresh token for the run `token` belongs to, from the token endpoint at `url`.

    Raises:
        OperationNotFound: the endpoint answered 404 (the run is unknown or forgotten).
        TokenUnavailable: no answer, or another one; the message says which.
    """
    check_token_url(url)
    try:
        status, answer = await post_json(url, {"token": token}, what="token endpoint")
    except EndpointUnreachable as error:
        raise TokenUnavailable(str(error)) from None
    fresh = answer.get("token")
    if status == 200 and isinstance(fresh, str) and fresh:
        return fresh
    if status == 404:
        raise OperationNotFound(f"token endpoint: {refusal(status, answer)}")
    raise TokenUnavailable(f"token endpoint {url} refused a fresh token: {refusal(status, answer)}")
