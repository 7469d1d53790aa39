"""The client side of an answer endpoint: the user's answer, posted over HTTP.

Owns: `check_answer_url` and `answer_poster`, a `submit_intervention` dependency for
`open_client` that posts each `SubmitIntervention` to an answer URL (``POST /answer`` of
the reference gateway's HTTP endpoint; ``gatewayops serve`` prints it) as
``{operationId, toolCallId, resolutionRequestId, result}``, or ``"cancelled": true`` for
a decline, with the run's latest token as ``Authorization: Bearer``. A 200 means the
agent has it; anything else raises `InterventionRefused` naming the endpoint's reason,
and no answer raises `EndpointUnreachable`: either way the store keeps the intervention
answerable and says why (``submit_error``).

Must not know: the reference gateway, the store's rules, terminals. Never logs or shows
a token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from gatewayops.cli._http_client import check_http_url, post_json, refusal
from gatewayops.exceptions import InterventionRefused
from gatewayops.store import SubmitIntervention

__all__ = ["answer_poster", "check_answer_url"]


def check_answer_url(url: str) -> None:
    """Raises ValueError unless `url` is an ``http://HOST[:PORT]/PATH`` answer URL."""
    check_http_url(url, "answer URL")


def _body(effect: SubmitIntervention) -> dict[str, Any]:
    body: dict[str, Any] = {
        "operationId": effect.operation_id,
        "toolCallId": effect.tool_call_id,
        "resolutionRequestId": effect.resolution_request_id,
    }
    if effect.cancelled:
        body["cancelled"] = True
    else:
        body["result"] = effect.result
    return body


def answer_poster(
    url: str, token: Callable[[], str]
) -> Callable[[SubmitIntervention], Awaitable[None]]:
    """The `submit_intervention` dependency posting to `url` with the token `token()`
    gives at the time (the latest, once refreshed).

    Raises:
        ValueError: `url` is not an ``http://`` URL.
    """
    check_answer_url(url)

    async def submit(effect: SubmitIntervention) -> None:
        status, answer = await post_json(url, _body(effect), bearer=token(), what="answer endpoint")
        if status != 200:
            raise InterventionRefused(f"answer endpoint refused it: {refusal(status, answer)}")

    return submit
