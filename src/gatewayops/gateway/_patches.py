"""A run's message list as the server keeps it, and its `message_patch` revisions
(PROTOCOL.md 7.8).

Owns: the script step `PatchMessage` (put one message in the operation's list, after
the message `after_id` names or at the head, replacing one of the same id) and
`publish_patch`, which applies it to `Operation.messages`, counts the next revision and
publishes it as a `message_patch` -- unless the operation is set to skip patches
(`Operation.patches_to_skip`, armed by `Faults.skip_patches`): the revision is then
counted and the list changed, but nothing is sent, so the client sees a gap. Also
`patch_mode_end`, the data of an `agent_runtime_end` in patch mode
(`{messagePatchMode, messageRevision}`), and `message_list`, what a client's refetch
gets (`Gateway.fetch_messages`) -- for a run that sends no patches, the list its events
built (`_kept_messages`). Must not know: sockets, tokens, or the faults
themselves (a skip is the operation's own counter).
"""

from __future__ import annotations

from typing import Any

import attrs

from gatewayops._secrets import get_logger
from gatewayops.gateway._operation_state import Operation
from gatewayops.gateway._operations import OperationRegistry
from gatewayops.protocol import EventType

__all__ = ["PatchMessage", "message_list", "patch_mode_end", "publish_patch"]

_log = get_logger("gatewayops.gateway")


@attrs.frozen(kw_only=True)
class PatchMessage:
    """Put `message` (a server message as JSON: ``{id, role, content, ...}``) in the
    run's list after the message `after_id` names (None: at the head), and publish the
    revision as a `message_patch` in agent step `step`."""

    message: dict[str, Any] = attrs.field(hash=False)
    after_id: str | None = None
    step: int = 0


def _place(messages: list[dict[str, Any]], after_id: str | None) -> int:
    if after_id is None:
        return 0
    for at, message in enumerate(messages):
        if message["id"] == after_id:
            return at + 1
    raise ValueError(f"after_id: no message {after_id!r} in the run's list")


def publish_patch(registry: OperationRegistry, operation: Operation, step: PatchMessage) -> None:
    """Apply `step` to the operation's list and publish (or skip) the next revision.

    Raises:
        ValueError: `after_id` names no message of the list (a script's mistake).
    """
    kept = [m for m in operation.messages if m["id"] != step.message["id"]]
    kept.insert(_place(kept, step.after_id), step.message)
    operation.messages = kept
    operation.message_revision += 1
    revision = operation.message_revision
    if operation.patches_to_skip:
        operation.patches_to_skip -= 1
        _log.info("fault: %s: message_patch %d not sent", operation.operation_id, revision)
        return
    data = {
        "revision": revision,
        "deletes": [],
        "upserts": [{"afterId": step.after_id, "message": step.message}],
    }
    registry.publish(operation, EventType.MESSAGE_PATCH, data, step.step)


def patch_mode_end(operation: Operation) -> dict[str, Any]:
    """The data of the run's `agent_runtime_end` in patch mode: the revision it ends at."""
    return {"messagePatchMode": True, "messageRevision": operation.message_revision}


def message_list(operation: Operation) -> dict[str, Any]:
    """The run's list and its revision, as a refetch returns them (copies)."""
    return {
        "messages": [dict(message) for message in operation.messages],
        "revision": operation.message_revision,
    }
