"""Effects: commands for the runtime, as frozen data compared with ``==``.

Owns: the one-shot outputs of `reduce` (long-lived sockets and timers are derived
from state instead, see `_resources`). Must not know: how they are carried out.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import attrs

from gatewayops.protocol import ClientMessage
from gatewayops.protocol._v2_messages import MuxClientMessage
from gatewayops.store._state import Outcome

__all__ = [
    "Effect",
    "ExecuteTool",
    "FetchMessages",
    "NotifyFinished",
    "RefreshToken",
    "RequestInterrupt",
    "SendMessage",
    "SubmitIntervention",
]


@attrs.frozen(kw_only=True, weakref_slot=False)
class SendMessage:
    """Write `message` on the socket of this generation of a link (dropped if it is gone);
    a v2 frame on a v2 link's socket."""

    link_id: str
    generation: int
    message: ClientMessage | MuxClientMessage


@attrs.frozen(kw_only=True, weakref_slot=False)
class RefreshToken:
    """Fetch a fresh JWT for the operation's topic; answer `TokenRefreshed`/`...Failed`."""

    operation_id: str
    topic_id: str


@attrs.frozen(kw_only=True, weakref_slot=False)
class RequestInterrupt:
    """Ask the server to interrupt the run; answer `InterruptConfirmed`/`...Failed`."""

    operation_id: str
    topic_id: str


@attrs.frozen(kw_only=True, weakref_slot=False)
class ExecuteTool:
    """Run a client tool within `timeout_ms`; answer exactly one `ToolFinished`.

    `arguments` is None when the server's arguments were not a JSON string: the tool is
    not run and the one result is an `arguments_parse_error`.
    """

    operation_id: str
    tool_call_id: str
    identifier: str
    api_name: str
    arguments: str | None
    timeout_ms: int


@attrs.frozen(kw_only=True, weakref_slot=False)
class SubmitIntervention:
    """Give the producer the user's answer to an intervention (or a decline, with
    `cancelled`); answer `InterventionSubmitted`/`...SubmitFailed`.

    `resolution_request_id` is the client-minted idempotency key the producer echoes:
    submitting the same one twice resolves the intervention once.
    """

    operation_id: str
    topic_id: str
    tool_call_id: str
    resolution_request_id: str
    result: Any = None
    cancelled: bool = False


@attrs.frozen(kw_only=True, weakref_slot=False)
class FetchMessages:
    """Fetch the server's message list for the operation's transcript (PROTOCOL.md 7.8:
    a patch could not be applied, or the run ended at a revision not held); answer
    `MessagesFetched`/`MessagesFetchFailed`. It may be carried out after the run ended:
    its answer changes only the transcript."""

    operation_id: str
    topic_id: str


@attrs.frozen(kw_only=True, weakref_slot=False)
class NotifyFinished:
    """The operation reached its one terminal state (emitted exactly once)."""

    operation_id: str
    topic_id: str
    outcome: Outcome


Effect: TypeAlias = (
    SendMessage
    | RefreshToken
    | RequestInterrupt
    | ExecuteTool
    | SubmitIntervention
    | FetchMessages
    | NotifyFinished
)
