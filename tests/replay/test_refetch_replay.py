"""A recorded refetch replays exactly: the `FetchMessages` effects, the fetched list
(JSON data) and a failure, including the answer that arrives after the run ended
(PROTOCOL.md 7.8)."""

from __future__ import annotations

from pathlib import Path

from gatewayops.protocol import AuthSuccess
from gatewayops.replay import open_recorder, read_log, replay
from gatewayops.store import (
    GatewayState,
    MessagesFetched,
    MessagesFetchFailed,
    OperationStarted,
    SocketOpened,
    Store,
)

from .helpers import CONFIG, GATEWAY, SECRET, event, received, record_objects, redacted

USER = {"id": "u1", "role": "user", "content": "q"}
ANSWER = {"id": "a1", "role": "assistant", "content": "done", "tools": [], "parentId": "u1"}


def _record(path: Path) -> Store:
    """Record patch 1, an end at revision 2, a failed fetch and the list after it."""
    patch = {"revision": 1, "upserts": [{"afterId": None, "message": USER}]}
    end = {"messagePatchMode": True, "messageRevision": 2}
    with open_recorder(path) as recorder:
        store = Store(GatewayState(config=CONFIG), middleware=[recorder])
        for action in (
            OperationStarted(
                operation_id="op-1", topic_id="t-1", gateway_url=GATEWAY, token=SECRET
            ),
            SocketOpened(link_id="op-1", generation=1),
            received("op-1", 1, AuthSuccess()),
            received("op-1", 1, event("op-1", "message_patch", patch, "1")),
            received("op-1", 1, event("op-1", "agent_runtime_end", end, "2")),
            MessagesFetchFailed(operation_id="op-1", error="HTTP 503"),
            MessagesFetched(operation_id="op-1", messages=[USER, ANSWER], revision=2),
        ):
            store.dispatch(action)
    assert recorder.error is None
    return store


def test_a_refetch_after_the_end_replays_exactly(tmp_path: Path) -> None:
    """Patch 1, an end at revision 2, a failed fetch and the list that follows it: the
    log replays with no divergence or violation to the live state, and records the
    list as the JSON it was."""
    path = tmp_path / "refetch.jsonl"
    store = _record(path)
    assert store.state.operations["op-1"].transcript.text == "done"
    report = replay(read_log(path))
    assert report.ok, report.to_text()
    assert report.state == redacted(store.state)
    payloads = [record["payload"] for record in record_objects(path)]
    assert [p["type"] for p in payloads].count("FetchMessages") == 2
    (fetched,) = (p for p in payloads if p["type"] == "MessagesFetched")
    assert fetched["messages"] == [USER, ANSWER]


def test_the_timeline_says_how_the_fetch_went(tmp_path: Path) -> None:
    """The report's timeline shows the list asked for (with the failure that asked
    again) and adopted, each at its record."""
    path = tmp_path / "refetch.jsonl"
    _record(path)
    text = replay(read_log(path)).to_text()
    assert "message list asked for (attempt 1)" in text
    assert "message list asked for (attempt 2) after fetching the message list failed" in text
    assert "message list adopted (revision 2)" in text
