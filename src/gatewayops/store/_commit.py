"""The commit of one step, and the safety net under every handler.

Owns: `Step` (what `reduce` returns), `commit` (a session and its link after an
action, written back into the state: a session no longer followed leaves its link -- a
v1 link closes, a v2 link sends `unsubscribe` -- a transcript that has come to need the
server's list asks for it once, and a session that has just finished clears its topic's
marker if the marker still names it and is retired, see `_retention`), and
`fail_internally` with `internal_error_detail` (PROTOCOL.md 11.24: if handling an action
raises, its operation ends once as failed, `FinishSource.INTERNAL_ERROR`, instead).
Must not know: what the actions mean.
"""

from __future__ import annotations

import os
import traceback
from typing import TYPE_CHECKING, NamedTuple

import attrs

from gatewayops._frozen import copier
from gatewayops._secrets import redact_secrets
from gatewayops.store import _link_v2, _retention
from gatewayops.store._actions import Action
from gatewayops.store._config import Protocol
from gatewayops.store._effects import Effect
from gatewayops.store._endings import finish
from gatewayops.store._link import closed
from gatewayops.store._link_v1 import PairStep
from gatewayops.store._refetch import ask_for_the_list
from gatewayops.store._state import (
    ConnectionStatus,
    FinishSource,
    GatewayState,
    Link,
    Operation,
    OperationStatus,
    Result,
    ResumeState,
)

__all__ = ["Step", "commit", "fail_internally", "internal_error_detail", "new_step"]

if TYPE_CHECKING:  # mypy checks the copy like attrs.evolve (see gatewayops._frozen)
    from attrs import evolve as _with_operations
else:
    _with_operations = copier(GatewayState, "operations")
new_step = tuple.__new__
"""`new_step(Step, (state, effects))`: a `Step` without NamedTuple's Python-level
`__new__` (one is built per action)."""
_FINISHED = OperationStatus.FINISHED
_RUNNING = OperationStatus.RUNNING
_DISCONNECTED = ConnectionStatus.DISCONNECTED
_V2 = Protocol.V2


class Step(NamedTuple):
    """The result of one `reduce`: the next state and the effects to carry out, in order.

    A named tuple rather than an attrs class: one is built per action, and a tuple
    costs a fraction of a frozen attrs instance on the streaming hot path.
    """

    state: GatewayState
    effects: tuple[Effect, ...] = ()


def internal_error_detail(what: str, error: BaseException) -> str:
    """The outcome detail of an operation ended by an internal error: what failed, the
    exception, and where it was raised (``file.py:line``), with secrets redacted."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f"{os.path.basename(frames[-1].filename)}:{frames[-1].lineno}" if frames else "?"
    return redact_secrets(f"internal error {what}: {type(error).__name__}: {error} (at {where})")


def fail_internally(link: Link, op: Operation, action: Action, error: Exception) -> PairStep:
    """End `op` as failed because handling `action` raised (PROTOCOL.md 11.24)."""
    detail = internal_error_detail(f"handling {type(action).__name__}", error)
    try:
        op, effects = finish(op, Result.FAILED, FinishSource.INTERNAL_ERROR, detail)
    except Exception:  # even the replay buffer could not be shown: end without it
        op, effects = finish(
            attrs.evolve(op, resume=ResumeState()),
            Result.FAILED,
            FinishSource.INTERNAL_ERROR,
            detail,
        )
    return link, op, effects


def commit(
    state: GatewayState,
    old_link: Link,
    old_op: Operation,
    link: Link,
    op: Operation,
    effects: tuple[Effect, ...],
) -> Step:
    """`state` with a session and its link as an action left them (`old_*` as it found
    them; unchanged parts are the same objects, so nothing is copied for them)."""
    if op.status is not _RUNNING:
        if link.protocol is _V2:  # the user's link carries others: the session leaves it
            link, left = _link_v2.released(link, op)
            effects = (*effects, *left) if left else effects
        elif link.status is not _DISCONNECTED:
            link = closed(link)  # a v1 link lives exactly as long as its session is followed
    if op.transcript is not old_op.transcript and op.transcript.needs_refetch:
        op, effects = ask_for_the_list(op, effects)  # once, when the server's list is needed
    if link is old_link:
        if op is old_op:
            return new_step(Step, (state, effects))
        state = _with_operations(state, operations=state.operations.set(op.id, op))
    else:
        state = attrs.evolve(
            state,
            operations=state.operations if op is old_op else state.operations.set(op.id, op),
            links=state.links.set(link.id, link),
        )
    if op.status is _FINISHED and old_op.status is not _FINISHED:
        topic = state.topics.get(op.topic_id)
        if topic is not None and topic.running_operation == op.id:
            topic = attrs.evolve(topic, running_operation=None)
            state = attrs.evolve(state, topics=state.topics.set(topic.id, topic))
        state = _retention.retire(state, op.id)
    return new_step(Step, (state, effects))
