"""The Trio runtime: the pure store, made live (DESIGN.md section 3).

`open_client(...)` yields a `Client` that owns a nursery, a `Store`, a transport and
the application's dependencies (`refresh_token`, `interrupt`, `submit_intervention`,
`fetch_messages`, tool handlers). Every dispatch is synchronous; the sockets and timers
the state calls for are opened and cancelled as it changes, and one-shot effects run as
tasks whose results come back as actions.
"""

from gatewayops.effects._changes import OperationChanges
from gatewayops.effects._client import Client, ClientStatistics
from gatewayops.effects._handlers import (
    FetchMessagesFn,
    InterruptFn,
    RefreshTokenFn,
    SubmitInterventionFn,
    ToolHandler,
    UserTokenFn,
)
from gatewayops.effects._open import open_client
from gatewayops.exceptions import ClientClosed

__all__ = [
    "Client",
    "ClientClosed",
    "ClientStatistics",
    "FetchMessagesFn",
    "InterruptFn",
    "OperationChanges",
    "RefreshTokenFn",
    "SubmitInterventionFn",
    "ToolHandler",
    "UserTokenFn",
    "open_client",
]
