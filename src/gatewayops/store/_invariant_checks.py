"""The invariants of PROTOCOL.md section 11, one pure check each.

Owns: the list of invariants below and, for each one a single step can show, a pure
function of what it needs of that step (the action, the operation before and after, its
link, the effects or their count) returning what is wrong or None, plus `finishes`.
`_invariants.InvariantChecker` decides which checks a step needs and runs them; what
needs more than one operation's step is elsewhere: ``forgets-only-finished`` is
`_retention.forgets_only_finished`, and ``one-tool-result``'s counts and ``notify-once``
for an effect naming another operation are the checker's own. Must not know: which
steps are checked, any state kept between steps, `Violation`, logging, files or
Hypothesis.

The invariants (numbers are PROTOCOL.md section 11's):

* ``notify-once`` (1): an operation gets exactly one `NotifyFinished`, in the step in
  which it finishes, and none before or after.
* ``absorbing`` (2, 15, 16): a finished operation never changes again (being forgotten
  is no change) and no effect is produced for it -- but for its transcript, which the
  answer to its fetch of the server's message list may still change (and ask again,
  PROTOCOL.md 7.8).
* ``forgets-only-finished`` (1): only finished operations leave the state, and at most
  `retain_finished` finished ones are kept (see `_retention`).
* ``no-resources-when-finished`` (2, 3): a finished operation has no timer, and its own
  link (v1) no socket or timer.
* ``nothing-pending-when-finished`` (2; PROTOCOL.md 6.2): a finished operation has no
  open intervention and does not wait for the user (each was cancelled with
  `session_ended`).
* ``closed-unless-followed`` (2): the own link (v1) of an operation not followed
  (finished or detached) has no socket or timer.
* ``silence-never-completes`` (5): no timer firing finishes an operation (except a
  token refresh that never answered, once the refresh budget is spent, and a v2 dial
  that never reached `ready`, once the v2 dial budget is spent).
* ``cursor-follows-server`` (10): after an agent event the operation accepted, the resume
  cursor is that event's envelope id when it has one (v1: even one that goes back: that
  is reported as a problem of the operation, not dropped; v2: a numeric one, 7.4), and
  unchanged when it has none.
* ``authentication-decides`` (4): an `auth_expired` alone never ends an operation (only
  a refresh budget spent on it does); an `auth_failed` on a followed link's live socket
  always does.
* ``one-socket`` (12): a link has at most one socket.
* ``backoff-capped`` (13): no reconnect delay is longer than `max_backoff_ms`.
* ``one-tool-result`` (14): at most one `tool_result` frame per tool call (a frame whose
  write failed, reported by `SendFailed`, may be sent again).
* ``refresh-single-flight`` (section 12): no `RefreshToken` while one is in flight.

The checks v2's shared link adds are in `_invariant_checks_v2`.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from gatewayops.protocol import AgentEventMessage, AuthExpired, AuthFailed
from gatewayops.protocol._v2_messages import MuxAgentEvent
from gatewayops.store._actions import (
    Action,
    MessageReceived,
    MessagesFetched,
    MessagesFetchFailed,
    TimerFired,
)
from gatewayops.store._config import StoreConfig
from gatewayops.store._effects import Effect, FetchMessages, RefreshToken
from gatewayops.store._link import carries
from gatewayops.store._link_v2 import dedup_id
from gatewayops.store._resources import (
    Socket,
    Timer,
    TimerKind,
    link_resources,
    operation_resources,
)
from gatewayops.store._state import (
    FinishSource,
    Link,
    Operation,
    OperationStatus,
    RefreshStatus,
)

__all__ = [
    "FETCH_ANSWERS",
    "absorbing",
    "authentication_decides",
    "backoff_capped",
    "closed_unless_followed",
    "cursor_follows_server",
    "finishes",
    "no_resources_when_finished",
    "nothing_pending_when_finished",
    "notify_once",
    "one_socket",
    "refresh_single_flight",
    "silence_never_completes",
]


def finishes(old: Operation | None, new: Operation | None) -> bool:
    """Whether this step finishes the operation (it was not finished before)."""
    return new is not None and new.is_finished and (old is None or not old.is_finished)


def notify_once(old: Operation | None, new: Operation | None, notifications: int) -> str | None:
    """Invariant 1: one `NotifyFinished` exactly in the step that finishes the operation
    (which may forget it too: a v2 step that ends many keeps only `retain_finished`)."""
    if new is None and old is not None and not old.is_finished:
        # finished and forgotten in one step, or forgotten alive (forgets-only-finished)
        return None if notifications <= 1 else f"vanished with {notifications} NotifyFinished"
    if finishes(old, new):
        if notifications != 1:
            return f"finished with {notifications} NotifyFinished effects (expected exactly 1)"
    elif notifications:
        state = "already finished" if old is not None and old.is_finished else "not finished"
        return f"{notifications} NotifyFinished for an operation {state}"
    return None


FETCH_ANSWERS = frozenset({MessagesFetched, MessagesFetchFailed})
"""The news a finished operation may still hear: the answer to its fetch of its list."""


def absorbing(
    action: Action,
    old: Operation | None,
    new: Operation | None,
    changed_link: bool,
    effects: Sequence[Effect],
) -> str | None:
    """A finished operation neither changes (nor its link) nor produces effects; the one
    exception is the answer to its transcript's fetch (`_refetch`), which may change the
    transcript alone and ask again (`FetchMessages`)."""
    if old is None or not old.is_finished or new is None:  # None: forgotten, not changed
        return None
    fetched = type(action) in FETCH_ANSWERS
    allowed = attrs.evolve(old, transcript=new.transcript) if fetched else old
    if changed_link or new != allowed:
        return "a finished operation changed"
    if fetched:
        effects = [effect for effect in effects if type(effect) is not FetchMessages]
    if effects:
        return f"{len(effects)} effects for a finished operation"
    return None


def no_resources_when_finished(
    new: Operation, link: Link | None, config: StoreConfig
) -> str | None:
    """Invariant 2: nothing survives a finished operation (checked when it finishes):
    no timer of its own, and no socket or timer of its link if the link is its own (v1;
    the user's v2 link carries other sessions)."""
    left = set(operation_resources(new, config))
    if link is not None and link.operation_id == new.id:
        left |= link_resources(link, config)
    if left:
        return f"finished with resources still wanted: {sorted(map(repr, left))}"
    return None


def nothing_pending_when_finished(new: Operation) -> str | None:
    """Nothing waits for the user after a terminal (checked when the operation finishes)."""
    human = new.human
    if human.open:
        return f"finished with interventions still open: {sorted(human.open)}"
    if human.approval_step:
        return "finished while still waiting for the user's approval"
    return None


def closed_unless_followed(op: Operation, link: Link, config: StoreConfig) -> str | None:
    """Invariant 2: an operation that is not followed keeps no socket or timer of its
    own link open (v1; on v2 it leaves the user's link: ``sessions-live``)."""
    if op.status is OperationStatus.RUNNING or link.operation_id != op.id:
        return None
    left = link_resources(link, config)
    if left:
        return f"{op.status.value}, but its link still wants {sorted(map(repr, left))}"
    return None


_CONNECT_FAILURES = frozenset(
    {
        (TimerKind.REFRESH_TIMEOUT, FinishSource.REFRESH_FAILED),
        (TimerKind.CONNECT_WATCHDOG, FinishSource.V2_UNAVAILABLE),
    }
)


def silence_never_completes(
    action: Action, old: Operation | None, new: Operation | None
) -> str | None:
    """Invariant 5: a timer firing never finishes an operation.

    The exceptions are failures to connect, never a guess at how the run went: a token
    refresh that never answered (its timeout counts as a failed refresh), once the
    refresh budget is spent, ends the run as an auth failure; and a v2 dial that never
    reached `ready` (its connect watchdog), once the v2 dial budget is spent without a
    fallback, ends it as unreachable.
    """
    if not isinstance(action, TimerFired) or not finishes(old, new):
        return None
    assert new is not None  # it finished
    source = None if new.outcome is None else new.outcome.source
    if (action.timer.kind, source) in _CONNECT_FAILURES:
        return None
    return f"the {action.timer.kind.value} timer finished the operation"


def cursor_follows_server(
    action: Action, old: Operation | None, new: Operation | None
) -> str | None:
    """Invariant 10: the cursor follows the envelope ids of the events accepted (v1: any
    id; v2: a numeric one, PROTOCOL.md 7.4; an event without one leaves it)."""
    if type(action) is not MessageReceived or old is None or new is None or new is old:
        return None  # not an event, or dropped (stale, repeated, or for a finished operation)
    message = action.message
    kind = type(message)
    if kind is MuxAgentEvent:
        moved_to = dedup_id(message.id)  # type: ignore[union-attr]
    elif kind is AgentEventMessage:
        moved_to = message.id or None  # type: ignore[union-attr]
    else:
        return None
    if moved_to is not None:
        if new.last_event_id != moved_to:
            return f"resume cursor is {new.last_event_id!r}, not the event's id {moved_to!r}"
    elif new.last_event_id != old.last_event_id:
        return f"resume cursor moved from {old.last_event_id!r} on an event without an id"
    return None


def authentication_decides(
    action: Action, old: Operation | None, new: Operation | None, old_link: Link | None
) -> str | None:
    """Invariant 4: `auth_expired` alone never ends a run; `auth_failed` always does (on a
    followed link's live socket)."""
    if type(action) is not MessageReceived or old is None or new is None or old_link is None:
        return None
    message = action.message
    if type(message) is AuthExpired and finishes(old, new):
        assert new.outcome is not None
        if new.outcome.source is not FinishSource.REFRESH_BUDGET:
            return f"auth_expired alone ended the operation ({new.outcome.source.value})"
    if (
        type(message) is AuthFailed
        and old.status is OperationStatus.RUNNING
        and carries(old_link, action.generation)
        and not new.is_finished
    ):
        return "auth_failed on the live socket did not end the operation"
    return None


def one_socket(link: Link, config: StoreConfig) -> str | None:
    """Invariant 12: at most one socket per link."""
    sockets = sum(isinstance(resource, Socket) for resource in link_resources(link, config))
    return None if sockets <= 1 else f"{sockets} sockets at once"


def backoff_capped(link: Link, config: StoreConfig) -> str | None:
    """Invariant 13: no reconnect delay is longer than the cap."""
    for resource in link_resources(link, config):
        if (
            isinstance(resource, Timer)
            and resource.kind is TimerKind.BACKOFF
            and resource.delay_ms > config.max_backoff_ms
        ):
            return f"backoff of {resource.delay_ms} ms is over the cap"
    return None


def refresh_single_flight(old: Operation | None, effects: Sequence[Effect]) -> str | None:
    """No `RefreshToken` while one is already in flight (and at most one per step)."""
    refreshes = sum(isinstance(effect, RefreshToken) for effect in effects)
    in_flight = old is not None and old.refresh.status is RefreshStatus.IN_FLIGHT
    if refreshes and (in_flight or refreshes > 1):
        return "RefreshToken while a refresh was already in flight"
    return None
