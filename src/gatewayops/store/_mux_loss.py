"""The user's v2 link losing its socket, and v2 being unavailable: what the sessions get.

Owns, for a v2 link (PROTOCOL.md 7.6): losing the socket (`lost_socket`: backoff with
full jitter, the dial counting against `StoreConfig.v2_dial_budget` if it never reached
`ready`; a lazy link with no session left closes instead; with `auto_reconnect` off
every session is detached); a close with code 4401 (`refused`: redialled at once with a
fresh user token, `MAX_AUTH_RETRIES` times in a row, then every session ends as an
authentication failure, or v2 counts as unavailable when the fallback is on); v2 being
unavailable (`unavailable`: the link dials no more, and every live session moves to a
v1 link of its own from its cursor, carrying its queued tool results, with
`StoreConfig.v2_fallback`, or ends once as `Result.UNREACHABLE`); and applying one
change to every session, each committed as `_commit` does for one (`each_session`).
Must not know: frames, `ready`, timers, sockets or clocks (`_mux` sorts the news out).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import attrs
import immutables

from gatewayops.store._actions import Action
from gatewayops.store._commit import commit, fail_internally
from gatewayops.store._config import MAX_AUTH_RETRIES
from gatewayops.store._delivery import NO_EFFECTS
from gatewayops.store._effects import Effect
from gatewayops.store._endings import finish, stop_following
from gatewayops.store._lifecycle import ConnectionEvent
from gatewayops.store._link import closed, dialled, lost
from gatewayops.store._link_v1 import PairStep, v1_link
from gatewayops.store._refresh import on_token_expired
from gatewayops.store._state import (
    ConnectionStatus,
    FinishSource,
    GatewayState,
    Link,
    Operation,
    OperationStatus,
    Result,
)

__all__ = [
    "NO_SESSIONS",
    "UNAUTHORIZED",
    "Placed",
    "each_session",
    "lost_socket",
    "moved_to_v1",
    "refused",
    "unavailable",
    "with_link",
]

UNAUTHORIZED = 4401
"""The close code of a v2 socket whose user token the hub refused at the upgrade."""

Placed = tuple[GatewayState, tuple[Effect, ...]]
"""A state and the effects that placed sessions in it."""
NO_SESSIONS: immutables.Map[str, bool] = immutables.Map()
_RUNNING = OperationStatus.RUNNING
_CONNECTED = ConnectionStatus.CONNECTED


def with_link(state: GatewayState, link: Link) -> GatewayState:
    """`state` with `link` written back."""
    return attrs.evolve(state, links=state.links.set(link.id, link))


def each_session(
    state: GatewayState,
    link: Link,
    action: Action,
    change: Callable[[Link, Operation], PairStep],
    ids: Iterable[str],
) -> Placed:
    """Apply `change` to every live session named in `ids`, committing each (a failure
    ends that session alone, PROTOCOL.md 11.24)."""
    effects: list[Effect] = []
    for operation_id in ids:
        op = state.operations.get(operation_id)
        if op is None or op.status is not _RUNNING:
            continue
        try:
            new_link, new_op, done = change(link, op)
        except Exception as error:
            new_link, new_op, done = fail_internally(link, op, action, error)
        state, committed = commit(state, link, op, new_link, new_op, done)
        effects.extend(committed)
    return state, tuple(effects)


def moved_to_v1(state: GatewayState, mux: Link, op: Operation) -> Placed:
    """`op` leaves v2 for a v1 link of its own, from its cursor; its queued tool results
    go out after that link's `auth_success`. Without a v1 token it asks for one first."""
    link = v1_link(op.id, mux.url)
    moved = attrs.evolve(op, link_id=link.id, status=_RUNNING)
    effects: tuple[Effect, ...] = NO_EFFECTS
    if moved.token:
        dial = dialled(link, ConnectionEvent.DIAL)
        assert dial is not None  # DIAL applies to a new link
        link = dial
    else:
        moved, effects = on_token_expired(moved, state.config)  # dials once the token came
    return commit(state, mux, op, link, moved, effects)


def unavailable(state: GatewayState, link: Link, action: Action, problem: str) -> Placed:
    """v2 cannot be had: the link stops dialling; each session moves to v1 (fallback)
    or ends as unreachable."""
    ids = tuple(link.sessions)
    link = attrs.evolve(
        closed(link),
        sessions=NO_SESSIONS,
        unavailable=True,
        last_problem=problem,
        failed_dials=0,
        auth_failures=0,
    )
    state = with_link(state, link)
    if state.config.v2_fallback:
        placed: list[Effect] = []
        for operation_id in ids:
            op = state.operations.get(operation_id)
            if op is not None and op.status is _RUNNING:
                state, moved = moved_to_v1(state, link, op)
                placed.extend(moved)
        return state, tuple(placed)
    detail = f"protocol v2 unavailable: {problem}"

    def unreachable(link: Link, op: Operation) -> PairStep:
        return link, *finish(op, Result.UNREACHABLE, FinishSource.V2_UNAVAILABLE, detail)

    return each_session(state, link, action, unreachable, ids)


def _ended_all(
    state: GatewayState, link: Link, action: Action, result: Result, detail: str
) -> Placed:
    ids = tuple(link.sessions)
    link = attrs.evolve(closed(link), sessions=NO_SESSIONS, last_problem=detail)

    def ended(link: Link, op: Operation) -> PairStep:
        return link, *finish(op, result, FinishSource.AUTH_FAILED, detail)

    return each_session(with_link(state, link), link, action, ended, ids)


def _detached_all(state: GatewayState, link: Link, action: Action, problem: str) -> Placed:
    ids = tuple(link.sessions)
    link = attrs.evolve(closed(link), sessions=NO_SESSIONS, last_problem=problem)

    def detached(link: Link, op: Operation) -> PairStep:
        op, effects = stop_following(op, OperationStatus.DETACHED, last_problem=problem)
        return link, op, effects

    return each_session(with_link(state, link), link, action, detached, ids)


def _idle(state: GatewayState, link: Link) -> bool:
    """A lazy link that carries nothing: it closes rather than redial."""
    return not link.sessions and not state.config.v2_keep_alive


def lost_socket(state: GatewayState, link: Link, action: Action, problem: str) -> Placed:
    config = state.config
    link = attrs.evolve(link, last_problem=problem)
    if _idle(state, link):
        return with_link(state, closed(link)), NO_EFFECTS
    if not config.auto_reconnect:
        return _detached_all(state, link, action, problem)
    if link.status is not _CONNECTED:  # this dial never reached `ready`
        failed = link.failed_dials + 1
        if failed >= config.v2_dial_budget:
            return unavailable(state, link, action, f"{problem} ({failed} dials without ready)")
        link = attrs.evolve(link, failed_dials=failed)
    return with_link(state, lost(link)), NO_EFFECTS


def refused(state: GatewayState, link: Link, action: Action, reason: str) -> Placed:
    """Close 4401: the hub refused the user token at the upgrade."""
    failures = link.auth_failures + 1
    problem = f"close 4401 {reason or 'auth_failed'} ({failures} in a row)"
    link = attrs.evolve(link, auth_failures=failures, last_problem=problem)
    if _idle(state, link):
        return with_link(state, closed(link)), NO_EFFECTS
    if failures < MAX_AUTH_RETRIES:
        dial = dialled(link, ConnectionEvent.REDIAL)  # at once: the runtime fetches a token
        assert dial is not None  # REDIAL applies while a socket exists
        return with_link(state, dial), NO_EFFECTS
    if state.config.v2_fallback:
        return unavailable(state, link, action, problem)
    return _ended_all(state, link, action, Result.AUTH_FAILED, problem)
