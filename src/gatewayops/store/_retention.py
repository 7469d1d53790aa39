"""Which finished operations the store still keeps, and forgetting them.

Owns: `Retention`, the finished operations kept, in the order they finished (a doubly
linked list held in a persistent map, so adding one, removing any one and finding the
oldest each cost O(1) whatever the number kept), `retire` (the reducer keeps an
operation that just finished; past `StoreConfig.retain_finished` the oldest kept one is
forgotten), and `forgotten`, the application's `OperationForgotten`. Forgetting removes
the operation, its link, and its topic when no marker is left on it (a topic without a
marker is the same as no topic), so the state holds live operations plus a bounded
number of finished ones. News for a forgotten operation finds no link and is dropped:
nothing revives it. Owns too the invariant that says so (``forgets-only-finished``,
run by `_invariants.InvariantChecker`). Must not know: how operations finish, sockets or timers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import immutables

from gatewayops.exceptions import OperationNotFinished, UnknownOperation

if TYPE_CHECKING:  # the state holds a Retention: these are imported for their types only
    from gatewayops.store._actions import OperationForgotten
    from gatewayops.store._effects import Effect
    from gatewayops.store._state import GatewayState, Link, Operation

__all__ = ["Retention", "forget", "forgets_only_finished", "forgotten", "retire"]

_Neighbours = tuple[str | None, str | None]
"""The ids of the operations that finished just before and just after one (None: none)."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class Retention:
    """The finished operations kept, oldest first (``len`` and ``in`` are O(1)).

    Attributes:
        neighbours: each kept operation's (older, newer) neighbours, by id.
        oldest: the id of the operation that finished first among those kept.
        newest: the id of the one that finished last.
    """

    neighbours: immutables.Map[str, _Neighbours] = immutables.Map()
    oldest: str | None = None
    newest: str | None = None

    def __len__(self) -> int:
        return len(self.neighbours)

    def __contains__(self, operation_id: object) -> bool:
        return operation_id in self.neighbours

    def added(self, operation_id: str) -> Retention:
        """Keep `operation_id` as the newest (it must not be kept already)."""
        neighbours = self.neighbours.set(operation_id, (self.newest, None))
        newest = self.newest
        if newest is not None:
            neighbours = neighbours.set(newest, (neighbours[newest][0], operation_id))
        return Retention(
            neighbours=neighbours, oldest=self.oldest or operation_id, newest=operation_id
        )

    def removed(self, operation_id: str) -> Retention:
        """Stop keeping `operation_id` (unchanged if it is not kept)."""
        found = self.neighbours.get(operation_id)
        if found is None:
            return self
        older, newer = found
        neighbours = self.neighbours.delete(operation_id)
        oldest, newest = self.oldest, self.newest
        if older is None:
            oldest = newer
        else:
            neighbours = neighbours.set(older, (neighbours[older][0], newer))
        if newer is None:
            newest = older
        else:
            neighbours = neighbours.set(newer, (older, neighbours[newer][1]))
        return Retention(neighbours=neighbours, oldest=oldest, newest=newest)


def _without_own_link(state: GatewayState, op: Operation) -> immutables.Map[str, Link]:
    """The links without `op`'s own (a v2 link is the user's: it stays)."""
    link = state.links.get(op.link_id)
    if link is None or link.operation_id != op.id:
        return state.links
    return state.links.delete(op.link_id)


def forget(state: GatewayState, operation_id: str) -> GatewayState:
    """`state` without the operation, its link, and its topic if no marker is left on it."""
    op = state.operations[operation_id]
    topics = state.topics
    topic = topics.get(op.topic_id)
    if topic is not None and topic.running_operation is None:
        topics = topics.delete(topic.id)
    return attrs.evolve(
        state,
        operations=state.operations.delete(operation_id),
        links=_without_own_link(state, op),
        topics=topics,
        retained=state.retained.removed(operation_id),
    )


def retire(state: GatewayState, operation_id: str) -> GatewayState:
    """Keep the operation that just finished; forget the oldest kept past the limit."""
    state = attrs.evolve(state, retained=state.retained.added(operation_id))
    if len(state.retained) > state.config.retain_finished:
        oldest = state.retained.oldest
        assert oldest is not None  # more are kept than the limit, which is at least 1
        state = forget(state, oldest)
    return state


def forgotten(
    state: GatewayState, action: OperationForgotten
) -> tuple[GatewayState, tuple[Effect, ...]]:
    """The application forgets a finished operation now (`OperationForgotten`).

    Raises:
        UnknownOperation: no operation with this id is kept (never known, or forgotten).
        OperationNotFinished: the operation is running or detached; only a finished one
            may be forgotten (its one `NotifyFinished` was already emitted).
    """
    op = state.operations.get(action.operation_id)
    if op is None:
        raise UnknownOperation(f"no operation {action.operation_id!r} is known to the store")
    if not op.is_finished:
        raise OperationNotFinished(
            f"operation {op.id!r} is {op.status.value}, not finished: only a finished "
            "operation can be forgotten (its end has not been notified yet)"
        )
    return forget(state, op.id), ()


def forgets_only_finished(
    old_state: GatewayState, new_state: GatewayState, op_id: str | None
) -> str | None:
    """Invariant: only finished operations leave the state (so each one's end was
    notified), and at most `retain_finished` finished ones are kept.

    The operations that can leave in one step are the one it is about (forgotten) and
    the oldest one kept (past the limit): both are looked at, nothing else (O(1)).
    """
    for gone in (op_id, old_state.retained.oldest):
        old = None if gone is None else old_state.operations.get(gone)
        if old is not None and not old.is_finished and old.id not in new_state.operations:
            return f"{old.id} left the state {old.status.value}, before its end was notified"
    kept, limit = len(new_state.retained), new_state.config.retain_finished
    if kept > limit:
        return f"{kept} finished operations kept (retain_finished is {limit})"
    return None
