"""The lifecycle tables are total over the pairs that can happen.

Every (status, event) pair of every table is either in the table (a move, or `IGNORED`
with its reason beside it) or listed here as unreachable, with the reason no input can
reach it. `transition` raises `KeyError` for an unreachable pair, and the reducer's
safety net turns that bug into an internal-error ending. The model-based state machine
is run with `transition` watched, to check that it never looks an unreachable pair up.
The moves of `REFRESH_TABLE` and `RESUME_TABLE` are pinned through the reducer.
"""

from __future__ import annotations

import enum
import itertools
import json
import sys
from collections.abc import Mapping
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

import gatewayops.store._lifecycle as lifecycle
import gatewayops.store._link as link_module
from gatewayops.protocol import ResumeComplete, SessionStatus
from gatewayops.store import (
    CONNECTION_TABLE,
    IGNORED,
    INTERVENTION_TABLE,
    OPERATION_TABLE,
    REFETCH_TABLE,
    REFRESH_TABLE,
    RESUME_TABLE,
    TOOL_TABLE,
    ConnectionEvent,
    ConnectionStatus,
    FinishSource,
    GatewayState,
    InterventionDeclined,
    InterventionEvent,
    InterventionStatus,
    MessageReceived,
    NotifyFinished,
    OperationDetached,
    OperationEvent,
    OperationStatus,
    RefetchEvent,
    RefetchStatus,
    RefreshEvent,
    RefreshState,
    RefreshStatus,
    RefreshToken,
    Result,
    ResumeEvent,
    ResumeState,
    ResumeStatus,
    TimerKind,
    TokenRefreshed,
    TokenRefreshFailed,
    ToolEvent,
    ToolFinished,
    ToolStatus,
    reduce,
    transition,
)
from gatewayops.testing.state_machine import GatewayMachine

from .helpers import (
    AUTH_EXPIRED,
    AUTH_SUCCESS,
    FRESH_TOKEN,
    OP,
    TOPIC,
    attached,
    chunk,
    connected_store,
    event,
    fired,
    fold,
    link_of,
    op_of,
    opened,
    received,
    resources_of,
    resume_complete,
    started,
    timer,
    tool_execute,
    tool_result,
)

Table = Mapping[tuple[Any, Any], Any]

_O, _OE = OperationStatus, OperationEvent
_C, _CE = ConnectionStatus, ConnectionEvent
_R, _RE = RefreshStatus, RefreshEvent
_S, _SE = ResumeStatus, ResumeEvent
_T, _TE = ToolStatus, ToolEvent
_I, _IE = InterventionStatus, InterventionEvent
_SOCKET = (_C.CONNECTING, _C.AUTHENTICATING, _C.CONNECTED, _C.EXPIRED)
_NO_SOCKET = (_C.DISCONNECTED, _C.RECONNECTING)

UNREACHABLE: dict[str, dict[tuple[Any, Any], str]] = {
    "OPERATION_TABLE": {
        (_O.RUNNING, _OE.ATTACH): "attaching a followed operation is skipped before",
        (_O.FINISHED, _OE.ATTACH): "attach and reconnect raise OperationFinished first",
        (_O.FINISHED, _OE.DETACH): "the reducer drops every action of a finished operation",
    },
    "CONNECTION_TABLE": {
        **{
            (status, _CE.DIAL): "only a link not followed (DISCONNECTED) is dialled"
            for status in (*_SOCKET, _C.RECONNECTING)
        },
        **{
            (status, event): "news of a socket that is gone is stale and dropped"
            for status in _NO_SOCKET
            for event in (_CE.OPENED, _CE.AUTH_SUCCEEDED, _CE.AUTH_EXPIRED, _CE.LOST)
        },
        **{
            (status, _CE.BACKOFF_ELAPSED): "the backoff timer exists only while reconnecting"
            for status in (_C.DISCONNECTED, *_SOCKET)
        },
        (_C.DISCONNECTED, _CE.REDIAL): "a followed operation's link is never DISCONNECTED",
        **{
            (status, _CE.RELEASE): "only a held link is released, and it is DISCONNECTED"
            for status in (*_SOCKET, _C.RECONNECTING)
        },
    },
    "REFRESH_TABLE": {
        (status, _RE.RETRY_ELAPSED): "the retry timer exists only in RETRY_WAIT"
        for status in (_R.IDLE, _R.IN_FLIGHT)
    },
    "RESUME_TABLE": {
        (_S.BUFFERING, _SE.REPLAY_STARTS): "authenticating again flushes the replay first",
    },
    "TOOL_TABLE": {
        **{
            (status, event): "results and deadlines look up only calls still owed a result"
            for status in (_T.SENT, _T.EXPIRED)
            for event in (_TE.FINISHED_ONLINE, _TE.FINISHED_OFFLINE, _TE.DEADLINE_PASSED)
        },
        **{
            (status, _TE.FLUSHED): "only queued results are flushed"
            for status in (_T.RUNNING, _T.SENT, _T.EXPIRED)
        },
        **{
            (status, _TE.WRITE_FAILED): "a failed write looks up only settled calls"
            for status in (_T.RUNNING, _T.QUEUED)
        },
    },
    "REFETCH_TABLE": {},
    "INTERVENTION_TABLE": {
        **{
            (status, _IE.ANSWERED): "answering an ended intervention raises before reduce"
            for status in (_I.RESOLVED, _I.CANCELLED)
        },
        **{
            (status, event): "deadlines and the session's end look up only open ones"
            for status in (_I.RESOLVED, _I.CANCELLED)
            for event in (_IE.DEADLINE_PASSED, _IE.SESSION_ENDED)
        },
    },
}

TABLES: dict[str, tuple[Table, type[enum.Enum], type[enum.Enum]]] = {
    "OPERATION_TABLE": (OPERATION_TABLE, OperationStatus, OperationEvent),
    "CONNECTION_TABLE": (CONNECTION_TABLE, ConnectionStatus, ConnectionEvent),
    "REFRESH_TABLE": (REFRESH_TABLE, RefreshStatus, RefreshEvent),
    "RESUME_TABLE": (RESUME_TABLE, ResumeStatus, ResumeEvent),
    "TOOL_TABLE": (TOOL_TABLE, ToolStatus, ToolEvent),
    "INTERVENTION_TABLE": (INTERVENTION_TABLE, InterventionStatus, InterventionEvent),
    "REFETCH_TABLE": (REFETCH_TABLE, RefetchStatus, RefetchEvent),
}


def _entries() -> list[tuple[str, tuple[Any, Any], Any]]:
    return [
        (name, key, target)
        for name, (table, _, _) in TABLES.items()
        for key, target in table.items()
    ]


def _unreachable() -> list[tuple[str, tuple[Any, Any]]]:
    return [(name, key) for name, pairs in UNREACHABLE.items() for key in pairs]


# --------------------------------------------------------------------------- totality


@pytest.mark.parametrize("name", list(TABLES))
def test_every_pair_is_in_the_table_or_known_unreachable(name: str) -> None:
    """The table and the unreachable pairs partition every (status, event) pair."""
    table, statuses, events = TABLES[name]
    every = set(itertools.product(statuses, events))
    written, unreachable = set(table), set(UNREACHABLE[name])
    assert not written & unreachable, f"listed as unreachable but in {name}"
    assert written | unreachable == every, f"{name} misses {sorted(every - written - unreachable)}"


@pytest.mark.parametrize("name", list(TABLES))
def test_every_entry_is_a_status_or_ignored(name: str) -> None:
    """A table's value is a status of the same lifecycle, or IGNORED."""
    table, statuses, _ = TABLES[name]
    for target in table.values():
        assert target is IGNORED or isinstance(target, statuses)


@pytest.mark.parametrize(("name", "key", "target"), _entries())
def test_transition_follows_the_entry(name: str, key: tuple[Any, Any], target: Any) -> None:
    """`transition` gives the entry's status, or None for an IGNORED one."""
    table = TABLES[name][0]
    expected = None if target is IGNORED else target
    assert transition(table, *key) is expected


@pytest.mark.parametrize(("name", "key"), _unreachable())
def test_transition_raises_for_a_missing_pair(name: str, key: tuple[Any, Any]) -> None:
    """A pair no input can reach is a bug when looked up: `transition` raises KeyError."""
    with pytest.raises(KeyError):
        transition(TABLES[name][0], *key)


def test_a_missing_pair_ends_the_operation_as_an_internal_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Were a reachable pair missing, the safety net would end the run once (not raise)."""
    broken = dict(CONNECTION_TABLE)
    del broken[(_C.CONNECTING, _CE.OPENED)]
    monkeypatch.setattr(link_module, "CONNECTION_TABLE", broken)
    step = reduce(fold(GatewayState(), started()), opened())
    op = op_of(step.state)
    assert op.outcome is not None
    assert (op.outcome.result, op.outcome.source) == (Result.FAILED, FinishSource.INTERNAL_ERROR)
    assert "KeyError" in op.outcome.detail
    assert [type(effect) for effect in step.effects] == [NotifyFinished]
    assert link_of(step.state).status is ConnectionStatus.DISCONNECTED
    assert resources_of(step.state) == frozenset()


Lookups = dict[str, set[tuple[Any, Any]]]
"""The pairs looked up in each table, by table name."""


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> Lookups:
    """Every lookup the reducer makes from now on, recorded: `transition` is watched in
    each module of the package that calls it."""
    real = lifecycle.transition
    names = {id(table): name for name, (table, _, _) in TABLES.items()}
    looked_up: Lookups = {name: set() for name in TABLES}

    def watched(table: Table, status: Any, event: Any) -> Any:
        looked_up[names[id(table)]].add((status, event))
        return real(table, status, event)

    patched = [
        module
        for name, module in sorted(sys.modules.items())
        if name.startswith("gatewayops.") and getattr(module, "transition", None) is real
    ]
    assert link_module in patched
    for module in patched:
        monkeypatch.setattr(module, "transition", watched)
    return looked_up


def _question() -> MessageReceived:
    """The agent asks the user one question (``ask-1``), to be answered in 30 s."""
    questions = [{"question": "Colour?", "options": [{"label": "Red", "id": "red"}]}]
    data = {
        "toolCallId": "ask-1",
        "apiName": "askUserQuestion",
        "identifier": "claude-code",
        "arguments": json.dumps({"questions": questions}),
        "deadline": 1_700_000_030_000,
        "interactionKind": "question",
        "provider": "claude-code",
    }
    return received(event("agent_intervention_request", data, timestamp=1_700_000_000_000))


def test_the_watch_sees_a_lookup_in_every_table(lookups: Lookups) -> None:
    """One run that goes through every lifecycle (a tool, a question, a resume gap, a
    refresh, a detach) is seen looking up every table: the watch misses none."""
    state = fold(
        connected_store().state,
        received(tool_execute()),
        ToolFinished(operation_id=OP, result=tool_result()),
        _question(),
        InterventionDeclined(operation_id=OP, tool_call_id="ask-1", resolution_request_id="r1"),
        received(ResumeComplete(status=SessionStatus.RUNNING, gap=True)),
        received(AUTH_EXPIRED),
        TokenRefreshed(operation_id=OP, token=FRESH_TOKEN),
        OperationDetached(operation_id=OP),
    )
    assert op_of(state).outcome is None
    assert {name for name, pairs in lookups.items() if not pairs} == set()


def test_the_state_machine_never_looks_up_an_unreachable_pair(lookups: Lookups) -> None:
    """Random interleavings of everything (GatewayMachine) look up only pairs in the
    tables, and none listed as unreachable."""
    run_state_machine_as_test(
        GatewayMachine,
        settings=settings(
            max_examples=100,
            stateful_step_count=100,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    assert any(lookups.values())
    for name, pairs in lookups.items():
        assert pairs <= set(TABLES[name][0]), f"{name}: {sorted(pairs - set(TABLES[name][0]))}"
        assert not pairs & set(UNREACHABLE[name])


# --------------------------------------------------------------------------- REFRESH_TABLE


def _expired() -> GatewayState:
    """Connected, then `auth_expired`: a refresh IN_FLIGHT (attempt 1)."""
    return fold(connected_store().state, received(AUTH_EXPIRED))


def _retry_wait() -> GatewayState:
    """The refresh failed within the budget: RETRY_WAIT."""
    return fold(_expired(), TokenRefreshFailed(operation_id=OP, error="503"))


REFRESH_TOKEN = RefreshToken(operation_id=OP, topic_id=TOPIC)
_FAILED = TokenRefreshFailed(operation_id=OP, error="late")
_REFRESHED = TokenRefreshed(operation_id=OP, token=FRESH_TOKEN)


def test_refresh_idle_start_goes_in_flight() -> None:
    """IDLE --start--> IN_FLIGHT: `auth_expired` asks for one fresh token."""
    step = reduce(connected_store().state, received(AUTH_EXPIRED))
    assert op_of(step.state).refresh == RefreshState(status=_R.IN_FLIGHT, attempts=1)
    assert step.effects == (REFRESH_TOKEN,)


@pytest.mark.parametrize("state", [_expired(), _retry_wait()], ids=["in_flight", "retry_wait"])
def test_refresh_start_is_ignored_unless_idle(state: GatewayState) -> None:
    """IN_FLIGHT/RETRY_WAIT --start--> IGNORED: single-flight, no second RefreshToken."""
    step = reduce(state, received(AUTH_EXPIRED))
    assert op_of(step.state).refresh == op_of(state).refresh
    assert step.effects == ()


def test_refresh_in_flight_succeeded_goes_idle_and_redials() -> None:
    """IN_FLIGHT --succeeded--> IDLE: the token is kept and the link redials at once."""
    state = _expired()
    step = reduce(state, _REFRESHED)
    op = op_of(step.state)
    assert op.refresh == RefreshState(status=_R.IDLE, attempts=1)
    assert op.token == FRESH_TOKEN
    assert (link_of(step.state).status, link_of(step.state).generation) == (_C.CONNECTING, 2)


@pytest.mark.parametrize(
    "state", [connected_store().state, _retry_wait()], ids=["idle", "retry_wait"]
)
@pytest.mark.parametrize("answer", [_REFRESHED, _FAILED], ids=["succeeded", "failed"])
def test_refresh_answers_nobody_waits_for_are_ignored(
    state: GatewayState, answer: TokenRefreshed | TokenRefreshFailed
) -> None:
    """IDLE/RETRY_WAIT --succeeded/failed--> IGNORED: nothing changes, not even the token."""
    step = reduce(state, answer)
    assert step.state == state
    assert step.effects == ()


def test_refresh_in_flight_failed_waits_to_retry() -> None:
    """IN_FLIGHT --failed--> RETRY_WAIT (within the budget), with its retry timer."""
    step = reduce(_expired(), TokenRefreshFailed(operation_id=OP, error="503"))
    assert op_of(step.state).refresh == RefreshState(status=_R.RETRY_WAIT, attempts=1)
    assert step.effects == ()
    assert timer(step.state, TimerKind.REFRESH_RETRY).seq == 1


def test_refresh_retry_elapsed_goes_in_flight_again() -> None:
    """RETRY_WAIT --retry_elapsed--> IN_FLIGHT: the next attempt is asked for."""
    state = _retry_wait()
    step = reduce(state, fired(timer(state, TimerKind.REFRESH_RETRY)))
    assert op_of(step.state).refresh == RefreshState(status=_R.IN_FLIGHT, attempts=2)
    assert step.effects == (REFRESH_TOKEN,)


@pytest.mark.parametrize(
    "state",
    [connected_store().state, _expired(), _retry_wait()],
    ids=["idle", "in_flight", "retry_wait"],
)
def test_refresh_stop_goes_idle_from_anywhere(state: GatewayState) -> None:
    """* --stop--> IDLE: a detached operation has no refresh pending (attempts are kept)."""
    step = reduce(state, OperationDetached(operation_id=OP))
    attempts = op_of(state).refresh.attempts
    assert op_of(step.state).refresh == RefreshState(status=_R.IDLE, attempts=attempts)
    assert not {TimerKind.REFRESH_RETRY, TimerKind.REFRESH_TIMEOUT} & {
        resource.kind for resource in resources_of(step.state) if hasattr(resource, "kind")
    }


# --------------------------------------------------------------------------- RESUME_TABLE


def _buffering() -> GatewayState:
    """Reattached with no cursor and authenticated: the replay is BUFFERING."""
    return fold(GatewayState(), attached(), opened(), received(AUTH_SUCCESS))


def test_resume_idle_replay_starts_buffering() -> None:
    """IDLE --replay_starts--> BUFFERING, keyed by the link generation authenticated."""
    state = fold(GatewayState(), attached(), opened())
    assert op_of(state).resume == ResumeState(on_connect=True)
    step = reduce(state, received(AUTH_SUCCESS))
    assert op_of(step.state).resume == ResumeState(
        on_connect=True, status=_S.BUFFERING, generation=link_of(step.state).generation
    )


def test_resume_buffering_flush_goes_idle() -> None:
    """BUFFERING --flush--> IDLE: the buffer is shown and forgotten."""
    state = fold(_buffering(), received(chunk("a", id="1")))
    step = reduce(state, fired(timer(state, TimerKind.RESUME_FLUSH)))
    op = op_of(step.state)
    assert op.resume == ResumeState(on_connect=True)
    assert op.transcript.text == "a"


def test_resume_flush_when_idle_is_ignored() -> None:
    """IDLE --flush--> IGNORED: a `resume_complete` with nothing buffered changes nothing."""
    state = connected_store().state
    step = reduce(state, received(resume_complete(SessionStatus.RUNNING)))
    assert step.state == state
    assert step.effects == ()


def test_authenticating_again_flushes_before_a_new_replay() -> None:
    """(BUFFERING, replay_starts) never happens: a second `auth_success` on the socket
    first shows what was buffered; with the cursor moved, nothing is buffered again."""
    state = fold(_buffering(), received(chunk("a", id="1")))
    step = reduce(state, received(AUTH_SUCCESS))
    op = op_of(step.state)
    assert op.resume == ResumeState(on_connect=True)
    assert op.transcript.text == "a"


def test_authenticating_again_with_nothing_buffered_starts_a_fresh_replay() -> None:
    """With the cursor still empty, the replay the new `auth_success` brings is buffered
    afresh (from IDLE, after the flush): the old debounce count is gone."""
    state = fold(_buffering(), received(chunk("no id")))
    assert op_of(state).resume.arrivals == 1
    step = reduce(state, received(AUTH_SUCCESS))
    resume = op_of(step.state).resume
    assert resume == ResumeState(on_connect=True, status=_S.BUFFERING, generation=1)
    assert op_of(step.state).transcript.text == "no id"
    assert attrs.evolve(resume, arrivals=0) == resume
