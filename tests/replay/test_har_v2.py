"""HAR import of protocol v2: a browser's ``/v2/ws`` sockets become the operations they
carried, each replayed as a session of the v2 link (the capture: `har_v2`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gatewayops.cli import main
from gatewayops.protocol import (
    Heartbeat,
    HeartbeatAck,
    MuxAgentEvent,
    MuxToolResult,
    OpLifecycle,
    Ready,
    Subscribe,
)
from gatewayops.replay import REDACTED, Header, LogItem, LogWarning, Record, from_har, replay
from gatewayops.store import (
    FinishSource,
    MessageReceived,
    OperationAttached,
    OperationDetached,
    OperationStarted,
    OperationStatus,
    Protocol,
    Result,
    SendMessage,
    SocketOpened,
    ToolFinished,
)

from .har_v2 import GATEWAY, SOCKET_1, SOCKET_2, TOOL_RESULT, USER_TOKEN, Frame, v2_har

LINK = f"v2:{GATEWAY}"


def _write(tmp_path: Path, har: dict[str, Any]) -> Path:
    path = tmp_path / "v2.har"
    path.write_text(json.dumps(har))
    return path


def _imported(tmp_path: Path, *sockets: tuple[Frame, ...]) -> list[LogItem]:
    return from_har(_write(tmp_path, v2_har(*sockets)))


def _items(log: list[LogItem]) -> list[object]:
    return [item.item for item in log if isinstance(item, Record)]


def test_a_v2_har_is_split_into_the_operations_its_frames_name(tmp_path: Path) -> None:
    """Each operation the browser subscribed to is started (attached from the cursor of
    its first subscribe, with its executor flag); nothing is started for the others."""
    header, *log = _imported(tmp_path)
    assert isinstance(header, Header)
    assert header.source == "har"
    assert header.protocol is Protocol.V2
    starts = [i for i in _items(log) if isinstance(i, OperationStarted | OperationAttached)]
    assert [start.operation_id for start in starts] == ["op-a", "op-b", "op-c", "op-d"]
    assert starts[1] == OperationAttached(
        operation_id="op-b",
        topic_id="har-topic:op-b",
        gateway_url=GATEWAY,
        token=REDACTED,
        last_event_id="2",
    )
    assert all(start.gateway_url == GATEWAY and start.executor for start in starts)


def test_the_operations_subscribed_on_ready_start_before_their_socket_opens(
    tmp_path: Path,
) -> None:
    """op-a and op-b (subscribed right after ``ready``) start before the first socket
    opens, so the reducer subscribes them on ``ready``; op-c (later) just before its
    ``subscribe``; each socket opens as the next generation of the one v2 link."""
    items = _items(_imported(tmp_path))
    first_open = items.index(SocketOpened(link_id=LINK, generation=1))
    assert [type(item) for item in items[:first_open]] == [OperationStarted, OperationAttached]
    later = next(i for i, item in enumerate(items) if getattr(item, "operation_id", "") == "op-c")
    assert items[later + 1] == SendMessage(
        link_id=LINK, generation=1, message=Subscribe(operation_id="op-c", executor=True)
    )
    assert SocketOpened(link_id=LINK, generation=2) in items


def test_the_browsers_tool_result_and_unsubscribe_get_what_the_reducer_needs(
    tmp_path: Path,
) -> None:
    """A `ToolFinished` comes before the browser's ``tool_result``; an `OperationDetached`
    before its ``unsubscribe`` of an operation still running (op-d), not of one ended."""
    items = _items(_imported(tmp_path))
    tool = items.index(ToolFinished(operation_id="op-a", result=TOOL_RESULT))
    assert items[tool + 1] == SendMessage(
        link_id=LINK, generation=1, message=MuxToolResult(operation_id="op-a", result=TOOL_RESULT)
    )
    detached = [item for item in items if isinstance(item, OperationDetached)]
    assert detached == [OperationDetached(operation_id="op-d")]


def test_every_operation_of_a_v2_har_replays_over_the_v2_link(tmp_path: Path) -> None:
    """The import replays clean; each operation ended as its frames say, its text once."""
    report = replay(_imported(tmp_path))
    assert report.ok, report.to_text()
    ops = report.state.operations
    assert ops["op-a"].outcome is not None
    assert ops["op-a"].outcome.result is Result.COMPLETED
    assert ops["op-a"].transcript.text == "Hello world"
    assert ops["op-b"].outcome is not None
    assert ops["op-b"].outcome.source is FinishSource.SESSION_COMPLETE
    assert ops["op-c"].transcript.text == "before the drop and after"
    assert ops["op-d"].status is OperationStatus.DETACHED
    assert {op.link_id for op in ops.values()} == {LINK}
    assert [timeline.operation_id for timeline in report.operations] == [
        "op-a",
        "op-b",
        "op-c",
        "op-d",
    ]


def test_link_frames_and_frames_for_unknown_operations_replay_without_error(
    tmp_path: Path,
) -> None:
    """``ready``, the user feed, heartbeat acks and op-x's event are kept as frames of the
    link; the reducer keeps them off every session: no warning, no operation for them."""
    log = _imported(tmp_path)
    assert not [item for item in log if isinstance(item, LogWarning)]
    received = [item.message for item in _items(log) if isinstance(item, MessageReceived)]
    kinds = {type(message) for message in received}
    assert {Ready, OpLifecycle, HeartbeatAck, MuxAgentEvent} <= kinds
    assert any(getattr(message, "operation_id", "") == "op-x" for message in received)
    report = replay(log)
    assert report.ok, report.to_text()
    assert set(report.state.operations) == {"op-a", "op-b", "op-c", "op-d"}


def test_a_browser_resubscribing_in_its_own_order_is_no_divergence(tmp_path: Path) -> None:
    """On ``ready`` the browser subscribes op-b before op-a; the reducer may do it in
    another order: the ``subscribe``s of one step are compared in any order."""
    first, second, *rest = SOCKET_1[1:3]
    swapped = (SOCKET_1[0], second, first, *rest, *SOCKET_1[3:])
    report = replay(_imported(tmp_path, swapped, SOCKET_2))
    assert report.ok, report.to_text()


def test_a_resubscribe_from_a_cursor_the_reducer_does_not_hold_diverges(
    tmp_path: Path,
) -> None:
    """The frames are still checked: a browser resubscribing op-c from cursor 0 (the
    reducer holds 1) diverges at that ``subscribe``."""
    wrong = Subscribe(operation_id="op-c", last_event_id="0", executor=True)
    socket_2 = (SOCKET_2[0], ("send", wrong), *SOCKET_2[2:])
    log = _imported(tmp_path, SOCKET_1, socket_2)
    report = replay(log)
    assert report.divergence is not None
    record = next(
        r
        for r in log
        if isinstance(r, Record) and isinstance(r.item, SendMessage) and r.item.message == wrong
    )
    assert report.divergence.seq == record.seq
    assert not report.ok


def test_a_v1_socket_in_a_v2_capture_is_left_out_with_a_note(tmp_path: Path) -> None:
    """A capture with a ``/v2/ws`` socket is imported as v2; a v1 socket in it is noted."""
    har = v2_har()
    v1 = {
        "startedDateTime": har["log"]["entries"][1]["startedDateTime"],
        "request": {"url": "wss://gw.example.com/ws?operationId=op-v1"},
        "_webSocketMessages": [],
    }
    har["log"]["entries"].append(v1)
    log = from_har(_write(tmp_path, har))
    notes = [item.message for item in log if isinstance(item, LogWarning)]
    assert notes == ["HAR entry 3: a v1 socket in a capture of protocol v2 is left out"]
    assert "op-v1" not in {getattr(item, "operation_id", "") for item in _items(log)}


def test_the_user_token_of_v2_socket_urls_is_in_no_log_or_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--from-har`` writes a log without the token of the ``/v2/ws?token=`` URLs, and
    replaying it prints none, naming protocol v2."""
    har = _write(tmp_path, v2_har())
    log = tmp_path / "from-har.jsonl"
    assert main(["replay", "--from-har", str(har), "-o", str(log)]) == 0
    assert USER_TOKEN not in log.read_text()
    assert main(["replay", str(log)]) == 0
    assert main(["replay", "--json", "--from-har", str(har)]) == 0
    printed = capsys.readouterr()
    assert USER_TOKEN not in printed.out + printed.err
    assert "har recording of protocol v2" in printed.out


def test_a_v2_socket_that_carried_no_operation_is_noted_and_replays_clean(
    tmp_path: Path,
) -> None:
    """A ``/v2/ws`` socket with only the link's own frames (``ready``, the feed, a
    heartbeat) starts nothing: a note says so, and its frames replay without error."""
    idle = (SOCKET_1[0], SOCKET_1[3], ("send", Heartbeat()), ("receive", HeartbeatAck()))
    log = _imported(tmp_path, idle)
    notes = [item.message for item in log if isinstance(item, LogWarning)]
    assert notes == ["HAR entry 1: a v2 socket that carried no operation"]
    report = replay(log)
    assert report.ok, report.to_text()
    assert not report.state.operations
    assert report.records == 5
