"""`message_patch` revisions (PROTOCOL.md 7.8): the last revision held, drop at or
below it, apply the next (deletes, then upserts after `afterId`, null = head); a gap,
an unknown anchor or a patch that did not read whole sets `needs_refetch`, never a
guess; the server's list clears it.
"""

from __future__ import annotations

from typing import Any

from gatewayops.store import OperationStatus, ToolCallStatus, Transcript

from .helpers import connected_store, event, fold, op_of, received


def _patch(revision: int, *upserts: tuple[str | None, dict[str, Any]], deletes: Any = ()) -> Any:
    data = {
        "revision": revision,
        "deletes": list(deletes),
        "upserts": [{"afterId": after, "message": message} for after, message in upserts],
    }
    return received(event("message_patch", data))


def _user(message_id: str, text: str = "q") -> dict[str, Any]:
    return {"id": message_id, "role": "user", "content": text}


def _assistant(message_id: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"id": message_id, "role": "assistant", "content": text, **extra}


def _shown(*actions: Any) -> Transcript:
    return op_of(fold(connected_store().state, *actions)).transcript


def _ids(transcript: Transcript) -> list[str]:
    return [entry.id for entry in transcript.entries]


def test_the_next_revision_is_applied_in_order() -> None:
    """Revision 1 then 2: upserts placed at the head and after their anchor."""
    shown = _shown(
        _patch(1, (None, _user("u1"))),
        _patch(2, ("u1", _assistant("a1", "answer")), (None, _user("u0"))),
    )
    assert _ids(shown) == ["u0", "u1", "a1"]
    assert shown.revision == 2
    assert not shown.needs_refetch


def test_a_revision_at_or_below_the_last_is_dropped() -> None:
    """A repeated or older patch changes nothing (but counts as an event)."""
    applied = _shown(_patch(1, (None, _user("u1"))), _patch(2, ("u1", _assistant("a1", "x"))))
    again = _shown(
        _patch(1, (None, _user("u1"))),
        _patch(2, ("u1", _assistant("a1", "x"))),
        _patch(2, (None, _user("zz"))),
        _patch(1, (None, _user("yy"))),
    )
    assert again.entries == applied.entries
    assert again.events == applied.events + 2


def test_deletes_come_before_upserts_and_an_upsert_replaces() -> None:
    """A deleted message's entries go; an upserted message that exists is replaced (its
    calls keep what was known of them); an anchor deleted in the same patch is unknown."""
    calling = {"id": "c1", "identifier": "web", "apiName": "search"}
    answer = {"id": "t1", "role": "tool", "content": "3 hits", "tool_call_id": "c1"}
    first = (
        _patch(1, (None, _user("u1")), ("u1", _assistant("a1", "draft", tools=[calling]))),
        _patch(2, ("a1", answer)),
    )
    shown = _shown(
        *first,
        _patch(
            3,
            (None, _assistant("a1", "final", tools=[calling])),
            ("t1", _assistant("a2", "more")),
            deletes=["u1"],
        ),
    )
    assert _ids(shown) == ["a1", "c1", "a2"]
    assert [message.text for message in shown.messages] == ["final", "more"]
    assert shown.tool_calls[0].status is ToolCallStatus.SUCCEEDED
    assert shown.revision == 3
    orphan = _shown(*first, _patch(3, ("u1", _assistant("a9", "x")), deletes=["u1"]))
    assert (orphan.revision, orphan.needs_refetch) == (2, True)


def test_a_tool_message_answers_its_call() -> None:
    """A `tool` message upserted by a patch marks the call it answers succeeded."""
    calling = {"id": "c1", "identifier": "web", "apiName": "search"}
    shown = _shown(
        _patch(1, (None, _assistant("a1", "looking", tools=[calling]))),
        _patch(2, ("a1", {"id": "t1", "role": "tool", "content": "ok", "tool_call_id": "c1"})),
    )
    (call,) = shown.tool_calls
    assert (call.status, call.result) == (ToolCallStatus.SUCCEEDED, "ok")


def test_a_gap_needs_a_refetch_and_applies_nothing() -> None:
    """Revision 3 after 1 is a gap: nothing applied, `needs_refetch` set; later patches
    wait for the server's list."""
    shown = _shown(
        _patch(1, (None, _user("u1"))),
        _patch(3, ("u1", _assistant("a1", "x"))),
        _patch(2, ("u1", _assistant("a2", "y"))),
    )
    assert _ids(shown) == ["u1"]
    assert (shown.revision, shown.needs_refetch) == (1, True)


def test_an_unknown_anchor_needs_a_refetch() -> None:
    """An upsert after a message nobody has is not guessed at: the patch is not applied."""
    shown = _shown(_patch(1, (None, _user("u1")), ("nope", _assistant("a1", "x"))))
    assert (_ids(shown), shown.revision, shown.needs_refetch) == ([], None, True)


def test_a_patch_that_did_not_read_whole_needs_a_refetch() -> None:
    """A delete that is not a message id makes the patch unreadable in part: refetch."""
    state = fold(connected_store().state, _patch(1, (None, _user("u1")), deletes=[5]))
    op = op_of(state)
    assert op.transcript.needs_refetch
    assert op.last_problem == "event.data.deletes[0]: expected str, got int"
    assert op.status is OperationStatus.RUNNING


def test_the_servers_list_clears_the_refetch() -> None:
    """A `uiMessages` snapshot is the server's list: it is adopted and the flag cleared."""
    shown = _shown(
        _patch(2, (None, _user("u1"))),
        received(event("step_start", {"uiMessages": [_user("u1"), _assistant("a1", "x")]})),
    )
    assert (_ids(shown), shown.needs_refetch) == (["u1", "a1"], False)


def test_an_end_at_a_revision_not_held_needs_a_refetch() -> None:
    """`agent_runtime_end{messagePatchMode, messageRevision}` above the revision held:
    the transcript says it needs the server's list; the run still ends once."""
    end = {"messagePatchMode": True, "messageRevision": 2}
    state = fold(
        connected_store().state,
        _patch(1, (None, _user("u1"))),
        received(event("agent_runtime_end", end)),
    )
    op = op_of(state)
    assert op.transcript.needs_refetch
    assert op.transcript.ended
    assert op.status is OperationStatus.FINISHED
    held = fold(
        connected_store().state,
        _patch(1, (None, _user("u1"))),
        received(event("agent_runtime_end", {"messagePatchMode": True, "messageRevision": 1})),
    )
    assert not op_of(held).transcript.needs_refetch
