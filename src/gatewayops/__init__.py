"""gatewayops: a client for the agent gateway protocol, as a store with a pure reducer core.

Layers (DESIGN.md section 1): `gatewayops.protocol` (wire messages and codec) and
`gatewayops.store` (the pure reducer) are pure; `gatewayops.transport` and
`gatewayops.effects` run them on Trio.

The client API is re-exported here lazily (PEP 562), so importing a pure layer such as
`gatewayops.protocol` does not import Trio:

    async with gatewayops.open_client(refresh_token=fetch_token) as client:
        client.start(
            operation_id="op-1",
            topic_id="topic-1",
            gateway_url="https://gateway.example",
            token=token,
        )
        outcome = await client.wait_finished("op-1")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatewayops._gc import freeze_startup_objects
from gatewayops._lazy import LazyExports
from gatewayops._version import __version__

if TYPE_CHECKING:
    from gatewayops.effects import (
        Client,
        ClientClosed,
        ClientStatistics,
        OperationChanges,
        ToolHandler,
        open_client,
    )

__all__ = [
    "Client",
    "ClientClosed",
    "ClientStatistics",
    "OperationChanges",
    "ToolHandler",
    "__version__",
    "freeze_startup_objects",
    "open_client",
]

_LAZY = LazyExports(
    __name__,
    {
        "gatewayops.effects": (
            "Client",
            "ClientClosed",
            "ClientStatistics",
            "OperationChanges",
            "ToolHandler",
            "open_client",
        )
    },
)


def __getattr__(name: str) -> Any:
    return _LAZY.load(name)
