"""The run's message list and its `message_patch` revisions (PROTOCOL.md 7.8): a patched
run publishes each revision in order and ends in patch mode at the last; a skipped patch
is counted and applied to the list but not sent; the list is what a refetch gets."""

from __future__ import annotations

from typing import Any

import pytest

from gatewayops.gateway import Gateway, patched_run
from gatewayops.protocol import EventType


def _patches_and_end(gateway: Gateway, operation_id: str) -> tuple[list[int], Any]:
    events = [message.event for message in gateway.events(operation_id)]
    revisions = [e.data["revision"] for e in events if e.type == EventType.MESSAGE_PATCH]
    (end,) = (e.data for e in events if e.type == EventType.AGENT_RUNTIME_END)
    return revisions, end


async def test_a_patched_run_sends_each_revision_and_ends_at_the_last(gateway: Gateway) -> None:
    """Revisions 1 (the prompt) and 2 (the answer after it), then an end in patch mode
    at revision 2; the list holds both, the answer after the prompt."""
    run = gateway.start_run(patched_run("hi there", prompt="say hi"))
    await gateway.wait_finished(run.operation_id)
    revisions, end = _patches_and_end(gateway, run.operation_id)
    assert revisions == [1, 2]
    assert end == {"messagePatchMode": True, "messageRevision": 2}
    listed = gateway.messages(run.operation_id)
    assert listed["revision"] == 2
    assert [(m["role"], m["content"]) for m in listed["messages"]] == [
        ("user", "say hi"),
        ("assistant", "hi there"),
    ]
    assert await gateway.fetch_messages(run.operation_id, run.topic_id) == listed


async def test_a_skipped_patch_is_counted_but_not_sent(gateway: Gateway) -> None:
    """With one patch to skip, revision 1 never goes out; revision 2 does, and the list
    still holds both messages."""
    run = gateway.start_run(patched_run())
    gateway.faults.skip_patches(run.operation_id)
    await gateway.wait_finished(run.operation_id)
    revisions, end = _patches_and_end(gateway, run.operation_id)
    assert revisions == [2]
    assert end["messageRevision"] == 2
    assert len(gateway.messages(run.operation_id)["messages"]) == 2


async def test_skipping_a_negative_number_of_patches_is_refused(gateway: Gateway) -> None:
    """`skip_patches` with a negative count names the argument."""
    run = gateway.start_run(patched_run())
    with pytest.raises(ValueError, match="count: expected a non-negative number, got -1"):
        gateway.faults.skip_patches(run.operation_id, -1)
