"""`OperationChanges`: one operation's snapshots as an async iterator (`Client.changes`).

Owns: delivering the latest snapshot of an operation (and its link) each time either
changed, skipping intermediate ones for a consumer that falls behind, always
delivering the finished one last, and ending when the operation finished or the client
closed. Must not know: how the client dispatches, or the runtime (it only subscribes to
the client, and reads its state).
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

import trio

from gatewayops.store import Action, GatewayState, Link, Operation

if TYPE_CHECKING:
    from gatewayops.effects._client import Client

__all__ = ["OperationChanges"]


class OperationChanges:
    """Async iterator over one operation's snapshots, ending after it finishes.

    The first snapshot is the operation as it is when iteration starts; another comes
    whenever the operation or its link changed (read the link's status with
    `gatewayops.store.connection_status(client.state, operation_id)`, or
    `client.state.link_of(op)`). A consumer that falls behind skips intermediate
    snapshots (each is the whole operation, so the latest says everything); the
    finished snapshot is always delivered, last. Iteration also ends when the client
    closes. Use it as an async context manager, or call `aclose`, to stop listening early.
    """

    def __init__(self, client: Client, operation_id: str, current: Operation) -> None:
        self._operation_id = operation_id
        self._latest = (current, client.state.links.get(current.link_id))
        self._delivered: tuple[Operation, Link | None] | None = None
        self._wakeup = trio.Event()
        self._closed = False
        self._unsubscribe = client.subscribe(self._on_dispatch)

    def _on_dispatch(self, old: GatewayState, new: GatewayState, action: Action) -> None:
        op = new.operations.get(self._operation_id)
        if op is None:
            return
        link = new.links.get(op.link_id)
        if op is self._latest[0] and link is self._latest[1]:
            return
        self._latest = (op, link)
        if op.is_finished:
            self._unsubscribe()
        self._wakeup.set()

    def __aiter__(self) -> OperationChanges:
        return self

    async def __anext__(self) -> Operation:
        while True:
            if self._latest is not self._delivered:
                self._delivered = self._latest
                return self._latest[0]
            if self._closed or self._latest[0].is_finished:
                self._unsubscribe()
                raise StopAsyncIteration
            self._wakeup = trio.Event()
            await self._wakeup.wait()

    async def __aenter__(self) -> OperationChanges:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def close(self) -> None:
        """Stop listening; a pending `__anext__` ends after the last unseen snapshot."""
        self._closed = True
        self._unsubscribe()
        self._wakeup.set()

    async def aclose(self) -> None:
        """Stop listening (see `close`)."""
        self.close()
        await trio.lowlevel.checkpoint()
