"""The single-flight, budgeted token refresh of a v1 session (PROTOCOL.md 5, 12.2, 12.3).

Owns: the moves of `Operation.refresh` through `REFRESH_TABLE`: `auth_expired` starts
one refresh (further ones while it is in flight are ignored); a fresh token is kept and
tells the caller to redial; a failure is retried after a delay within the refresh budget,
a "not found" ends the run as gone, and one past the budget ends it as an auth failure
(so does an `auth_expired` once the budget is spent). Must not know: links or sockets
(the caller redials).
"""

from __future__ import annotations

import attrs

from gatewayops.store._config import StoreConfig
from gatewayops.store._delivery import NO_EFFECTS, OpStep
from gatewayops.store._effects import RefreshToken
from gatewayops.store._endings import finish
from gatewayops.store._lifecycle import REFRESH_TABLE, RefreshEvent, transition
from gatewayops.store._state import FinishSource, Operation, OperationStatus, RefreshState, Result

__all__ = ["on_refresh_failed", "on_refresh_retry", "on_token_expired", "on_token_refreshed"]


def _start(op: Operation, event: RefreshEvent) -> OpStep:
    status = transition(REFRESH_TABLE, op.refresh.status, event)
    if status is None:
        return op, NO_EFFECTS
    refresh = RefreshState(status=status, attempts=op.refresh.attempts + 1)
    effect = RefreshToken(operation_id=op.id, topic_id=op.topic_id)
    return attrs.evolve(op, refresh=refresh), (effect,)


def on_token_expired(op: Operation, config: StoreConfig) -> OpStep:
    """Only `exp` failed: refresh once, within the budget."""
    if transition(REFRESH_TABLE, op.refresh.status, RefreshEvent.START) is None:
        return op, NO_EFFECTS  # one is in flight, or a retry is scheduled
    if op.refresh.attempts >= config.refresh_budget:
        detail = f"token still expired after {op.refresh.attempts} refreshes"
        return finish(op, Result.AUTH_FAILED, FinishSource.REFRESH_BUDGET, detail)
    return _start(op, RefreshEvent.START)


def on_token_refreshed(op: Operation, token: str) -> tuple[Operation, bool]:
    """A fresh token: kept, and whether the caller must redial now to use it."""
    status = transition(REFRESH_TABLE, op.refresh.status, RefreshEvent.SUCCEEDED)
    if status is None:
        return op, False
    op = attrs.evolve(op, token=token, refresh=attrs.evolve(op.refresh, status=status))
    return op, op.status is OperationStatus.RUNNING


def on_refresh_failed(op: Operation, config: StoreConfig, error: str, *, not_found: bool) -> OpStep:
    """A failed (or timed-out) refresh: "not found" ends cleanly; others are retried."""
    status = transition(REFRESH_TABLE, op.refresh.status, RefreshEvent.FAILED)
    if status is None:
        return op, NO_EFFECTS
    if not_found:
        return finish(op, Result.GONE, FinishSource.REFRESH_NOT_FOUND, error)
    if op.refresh.attempts >= config.refresh_budget:
        return finish(op, Result.AUTH_FAILED, FinishSource.REFRESH_FAILED, error)
    refresh = attrs.evolve(op.refresh, status=status)
    return attrs.evolve(op, refresh=refresh, last_problem=error), NO_EFFECTS


def on_refresh_retry(op: Operation) -> OpStep:
    """The retry delay after a failed refresh elapsed: try again."""
    return _start(op, RefreshEvent.RETRY_ELAPSED)
