"""The client methods that take several strings refuse them by position (issue 16, item 9).

An operation id, a topic id, a URL and a token are all strings: passed by position they
are easily swapped, and a swapped call would be accepted silently. `Client.start`,
`Client.attach` and `Client.update_token`'s token are keyword-only; a call by position
raises `KeywordArgumentsRequired`, whose message shows the keyword form.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio

from gatewayops.exceptions import KeywordArgumentsRequired, LocalUsageError
from gatewayops.transport import MemoryTransport

from .helpers import GATEWAY, OP, TOKEN, TOPIC, client_on

_SHAPES = [
    (
        "start",
        (OP, TOPIC, GATEWAY, TOKEN),
        "Client.start takes keyword arguments: "
        "start(operation_id=..., topic_id=..., gateway_url=...)",
    ),
    (
        "attach",
        (OP, TOPIC, GATEWAY, TOKEN),
        "Client.attach takes keyword arguments: "
        "attach(operation_id=..., topic_id=..., gateway_url=...)",
    ),
    (
        "attach",
        (OP,),
        "Client.attach takes keyword arguments: "
        "attach(operation_id=..., topic_id=..., gateway_url=...)",
    ),
]


@pytest.mark.parametrize(("method", "args", "message"), _SHAPES)
async def test_a_positional_call_is_refused_with_the_keyword_form(
    transport: MemoryTransport,
    autojump_clock: trio.testing.MockClock,
    method: str,
    args: tuple[str, ...],
    message: str,
) -> None:
    """`start`/`attach` called by position raise `KeywordArgumentsRequired` naming the
    keyword form, and nothing is dispatched (no operation exists afterwards)."""
    async with client_on(transport) as client:
        call: Any = getattr(client, method)
        with pytest.raises(KeywordArgumentsRequired) as refused:
            call(*args)
        assert str(refused.value) == message
        assert OP not in client.state.operations


def test_the_refusal_is_a_type_error_and_a_usage_error() -> None:
    """Code that catches `TypeError` (the usual error of a wrong call) or gatewayops'
    `LocalUsageError` both catch it."""
    assert issubclass(KeywordArgumentsRequired, TypeError)
    assert issubclass(KeywordArgumentsRequired, LocalUsageError)


async def test_update_token_refuses_the_token_by_position(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """`update_token(op, token)` is refused (the operation id alone may be positional),
    and the operation keeps its token."""
    async with client_on(transport) as client:
        client.start(operation_id=OP, topic_id=TOPIC, gateway_url=GATEWAY, token=TOKEN)
        update: Any = client.update_token
        with pytest.raises(
            KeywordArgumentsRequired, match=r"update_token\(operation_id, token=\.\.\.\)"
        ):
            update(OP, "fresh-token")
        assert client.state.operations[OP].token == TOKEN
        client.update_token(OP, token="fresh-token")
        assert client.state.operations[OP].token == "fresh-token"
