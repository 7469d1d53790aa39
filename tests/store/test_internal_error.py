"""No failure leaves a run open: internal errors end the operation once (invariant 24)."""

from __future__ import annotations

from typing import Any

import pytest

import gatewayops.store._delivery as delivery
import gatewayops.store._link_v1 as link_v1
from gatewayops.exceptions import UnknownOperation
from gatewayops.store import (
    ConnectionStatus,
    FinishSource,
    GatewayState,
    HandlingFailed,
    NotifyFinished,
    OperationStatus,
    Outcome,
    Result,
    TokenReplaced,
    reduce,
)

from .helpers import (
    AUTH_SUCCESS,
    attached,
    chunk,
    connected_store,
    finished,
    fold,
    link_of,
    notify,
    op_of,
    opened,
    received,
    resources_of,
    runtime_end,
)


def test_handling_failed_ends_the_run_once_with_its_socket_closed() -> None:
    """The runtime's report of a failure ends the operation as failed (internal error),
    its link closed: neither holds a resource any more."""
    store = connected_store()
    ended = Outcome(result=Result.FAILED, source=FinishSource.INTERNAL_ERROR, detail="boom")
    store.send(
        HandlingFailed(operation_id="op-1", error="boom"), finished(ended), effects=[notify(ended)]
    )
    assert not resources_of(store.state)
    store.send(HandlingFailed(operation_id="op-1", error="again"), {}, effects=[])
    store.finish()


def test_a_raising_handler_ends_the_run_instead_of_raising(monkeypatch: pytest.MonkeyPatch) -> None:
    """If handling a frame raises, `reduce` still returns: the run ends as failed, and the
    detail names the action, the exception and where it was raised."""

    def broken(*args: Any) -> Any:
        raise ValueError("unplanned")

    state = connected_store().state
    monkeypatch.setattr(link_v1, "on_message", broken)
    step = reduce(state, received(chunk("x", id="1")))
    op = op_of(step.state)
    assert op.status is OperationStatus.FINISHED
    assert link_of(step.state).status is ConnectionStatus.DISCONNECTED
    assert not resources_of(step.state)
    assert op.outcome is not None
    assert op.outcome.source is FinishSource.INTERNAL_ERROR
    assert op.outcome.detail.startswith(
        "internal error handling MessageReceived: ValueError: unplanned (at test_internal_error.py:"
    )
    assert [type(effect) for effect in step.effects] == [NotifyFinished]
    assert step.state.topics["topic-1"].running_operation is None


def test_a_replay_that_cannot_be_shown_is_dropped_to_end_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If even flushing the buffered replay raises, the run still ends (without it)."""
    state = fold(GatewayState(), attached(), opened(), received(AUTH_SUCCESS))
    state = fold(state, received(chunk("buffered", id="1")))
    assert op_of(state).resume.buffering

    def broken(*args: Any) -> Any:
        raise RuntimeError("cannot show")

    monkeypatch.setattr(delivery, "deliver", broken)
    step = reduce(state, received(runtime_end(id="2")))
    op = op_of(step.state)
    assert op.status is OperationStatus.FINISHED
    assert op.outcome is not None
    assert op.outcome.source is FinishSource.INTERNAL_ERROR
    assert not op.resume.buffering
    assert sum(isinstance(effect, NotifyFinished) for effect in step.effects) == 1


def test_the_applications_misuse_still_raises() -> None:
    """The safety net is for news, not for misuse: an unknown operation is refused."""
    with pytest.raises(UnknownOperation):
        reduce(GatewayState(), TokenReplaced(operation_id="nope", token="t"))
