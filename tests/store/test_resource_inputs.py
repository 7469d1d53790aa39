"""`resources_may_differ`: which `Operation` fields resources depend on.

The runtime skips the resource diff when none of `RESOURCE_INPUTS` changed. This pins
that list against `operation_resources`: if `Operation` gains a field, or
`operation_resources` starts reading another one, this fails and the list (and
`resources_may_differ`) must be revisited.
"""

from __future__ import annotations

import itertools

import attrs
import immutables
import pytest

from gatewayops.store import (
    RESOURCE_INPUTS,
    Connection,
    ConnectionStatus,
    EchoGuard,
    FinishSource,
    Operation,
    OperationStatus,
    Outcome,
    RefreshState,
    RefreshStatus,
    Result,
    ResumeState,
    StoreConfig,
    Tool,
    ToolStatus,
    Transcript,
    operation_resources,
    resources_may_differ,
)

OTHER_VALUES = {
    "topic_id": "another-topic",
    "token": "another-token",
    "outcome": Outcome(result=Result.FAILED, source=FinishSource.AGENT_EVENT),
    "last_event_id": "99",
    "echo": EchoGuard(owed_echoes=2),
    "transcript": Transcript(events=5, ended=True),
    "stop_requested": True,
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
    """Operations in every status, connection status, resume and refresh state."""
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
            url="ws://gateway.test/ws?operationId=op-1",
            token="jwt",
            status=status,
            connection=Connection(status=connection, generation=2, attempt=3, heartbeat_ticks=4),
            resume=ResumeState(on_connect=True, buffering=buffering),
            refresh=RefreshState(status=refresh, attempts=1),
            tools=tools,
        )
        for status, connection, buffering, refresh in itertools.product(
            OperationStatus, ConnectionStatus, (False, True), RefreshStatus
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
    changed_inputs = {
        "id": "op-2",
        "url": "ws://gateway.test/ws?operationId=op-2",
        "status": OperationStatus.DETACHED,
        "connection": attrs.evolve(op.connection),
        "resume": attrs.evolve(op.resume),
        "refresh": attrs.evolve(op.refresh),
        "tools": immutables.Map(op.tools),
    }
    assert resources_may_differ(op, attrs.evolve(op, **{field: changed_inputs[field]}))
    assert not resources_may_differ(op, attrs.evolve(op, transcript=Transcript(events=9)))
