"""`resources_may_differ`: which `Operation` fields its own resources depend on.

The runtime skips the resource diff when none of `RESOURCE_INPUTS` changed. This pins
that list against `operation_resources`: if `Operation` gains a field, or
`operation_resources` starts reading another one, this fails and the list (and
`resources_may_differ`) must be revisited. The socket and the link timers are the
link's (`link_resources`), so no field of the link is an input here; which `Link`
fields `link_resources` reads is pinned at the end.
"""

from __future__ import annotations

import itertools
from typing import Any

import attrs
import immutables
import pytest

from gatewayops.store import (
    RESOURCE_INPUTS,
    ConnectionStatus,
    EchoGuard,
    FinishSource,
    Link,
    Operation,
    OperationStatus,
    Outcome,
    Protocol,
    RefreshState,
    RefreshStatus,
    Result,
    ResumeState,
    ResumeStatus,
    StoreConfig,
    Timer,
    TimerKind,
    Tool,
    ToolStatus,
    Transcript,
    link_resources,
    operation_resources,
    resources_may_differ,
)

OTHER_VALUES: dict[str, Any] = {
    "topic_id": "another-topic",
    "link_id": "another-link",
    "token": "another-token",
    "outcome": Outcome(result=Result.FAILED, source=FinishSource.AGENT_EVENT),
    "last_event_id": "99",
    "echo": EchoGuard(owed_echoes=2),
    "transcript": Transcript(events=5, ended=True),
    "stop_requested": True,
    "executor": False,
    "bad_frames": 3,
    "problems": 4,
    "last_problem": "something",
    "settled_tools": immutables.Map(
        {"t3": Tool(id="t3", order=2, deadline_ms=5_000, status=ToolStatus.SENT)}
    ),
}


def test_every_operation_field_is_classified() -> None:
    """Each field of `Operation` is either a resource input or known not to be one."""
    fields = set(attrs.fields_dict(Operation))
    assert fields == set(RESOURCE_INPUTS) | set(OTHER_VALUES)


def sample_operations() -> list[Operation]:
    """Operations in every status, resume and refresh state."""
    tools = immutables.Map(
        {
            "t1": Tool(id="t1", order=0, deadline_ms=5_000, status=ToolStatus.RUNNING),
            "t2": Tool(id="t2", order=1, deadline_ms=5_000, status=ToolStatus.QUEUED),
        }
    )
    return [
        Operation(
            id="op-1",
            topic_id="topic-1",
            link_id="op-1",
            token="jwt",
            status=status,
            resume=ResumeState(on_connect=True, status=resume, generation=2, arrivals=3),
            refresh=RefreshState(status=refresh, attempts=1),
            tools=tools,
        )
        for status, resume, refresh in itertools.product(
            OperationStatus, ResumeStatus, RefreshStatus
        )
    ]


@pytest.mark.parametrize("field", list(OTHER_VALUES))
def test_resources_ignore_the_fields_outside_the_inputs(field: str) -> None:
    """Changing a non-input field never changes `operation_resources`."""
    config = StoreConfig()
    for op in sample_operations():
        changed = attrs.evolve(op, **{field: OTHER_VALUES[field]})
        assert operation_resources(changed, config) == operation_resources(op, config)


@pytest.mark.parametrize("field", RESOURCE_INPUTS)
def test_a_changed_input_is_reported(field: str) -> None:
    """Replacing any resource input makes `resources_may_differ` true; a transcript
    change alone does not."""
    op = sample_operations()[0]
    changed_inputs: dict[str, Any] = {
        "id": "op-2",
        "status": OperationStatus.DETACHED,
        "resume": attrs.evolve(op.resume),
        "refresh": attrs.evolve(op.refresh),
        "tools": immutables.Map(op.tools),
        "human": attrs.evolve(op.human),
    }
    assert resources_may_differ(op, attrs.evolve(op, **{field: changed_inputs[field]}))
    assert not resources_may_differ(op, attrs.evolve(op, transcript=Transcript(events=9)))


def test_a_missing_operation_is_reported() -> None:
    """A new or removed operation always counts as a possible difference."""
    op = sample_operations()[0]
    assert resources_may_differ(None, op)
    assert resources_may_differ(op, None)
    assert not resources_may_differ(op, op)


LINK_INPUTS = ("id", "url", "status", "generation", "attempt", "heartbeat_ticks", "protocol")
"""The `Link` fields `link_resources` reads (and, for a v2 link, `sessions`: whether it
carries any, see `test_a_lazy_v2_link_with_no_session_arms_its_idle_close`)."""

LINK_OTHER_VALUES: dict[str, Any] = {
    "operation_id": "another-operation",
    "missed_heartbeats": 2,
    "quiet": True,
    "ever_opened": True,
    "auth_failures": 2,
    "failed_dials": 2,
    "unavailable": True,
    "last_problem": "something",
    "held": True,
}


def sample_links() -> list[Link]:
    """A link in every connection status."""
    return [
        Link(
            id="op-1",
            url="ws://gateway.test/ws?operationId=op-1",
            operation_id="op-1",
            status=status,
            generation=2,
            attempt=3,
            heartbeat_ticks=4,
        )
        for status in ConnectionStatus
    ]


def test_every_link_field_is_classified() -> None:
    """Each field of `Link` is either read by `link_resources` or known not to be."""
    assert set(attrs.fields_dict(Link)) == set(LINK_INPUTS) | set(LINK_OTHER_VALUES) | {"sessions"}


def test_a_lazy_v2_link_with_no_session_arms_its_idle_close() -> None:
    """A lazy v2 link (the default) that carries no session wants its idle close; one
    that carries a session, or a keep-alive one, does not."""
    link = attrs.evolve(sample_links()[0], status=ConnectionStatus.CONNECTED, protocol=Protocol.V2)
    idle = {timer.kind for timer in link_resources(link, StoreConfig()) if isinstance(timer, Timer)}
    assert TimerKind.IDLE_CLOSE in idle
    carrying = attrs.evolve(link, sessions=immutables.Map({"op-1": True}))
    kept = StoreConfig(v2_keep_alive=True)
    for config, candidate in ((StoreConfig(), carrying), (kept, link)):
        kinds = {t.kind for t in link_resources(candidate, config) if isinstance(t, Timer)}
        assert TimerKind.IDLE_CLOSE not in kinds


@pytest.mark.parametrize("field", list(LINK_OTHER_VALUES))
def test_link_resources_ignore_the_fields_outside_the_inputs(field: str) -> None:
    """Changing a link field that is not an input never changes `link_resources`."""
    config = StoreConfig()
    for link in sample_links():
        changed = attrs.evolve(link, **{field: LINK_OTHER_VALUES[field]})
        assert link_resources(changed, config) == link_resources(link, config)


@pytest.mark.parametrize("field", LINK_INPUTS)
def test_each_link_input_changes_the_resources_somewhere(field: str) -> None:
    """Every input is read: in some status, changing it changes `link_resources`."""
    config = StoreConfig()
    other: dict[str, Any] = {
        "id": "op-2",
        "url": "ws://gateway.test/ws?operationId=op-2",
        "status": ConnectionStatus.DISCONNECTED,
        "generation": 3,
        "attempt": 4,
        "heartbeat_ticks": 5,
        "protocol": Protocol.V2,
    }
    assert any(
        link_resources(attrs.evolve(link, **{field: other[field]}), config)
        != link_resources(link, config)
        for link in sample_links()
    )
