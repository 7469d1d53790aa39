"""HAR import: a browser capture becomes a replayable log; malformed input names the entry."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gatewayops.cli import main
from gatewayops.protocol import Auth, Resume, ToolResult
from gatewayops.replay import (
    REDACTED,
    Header,
    Record,
    ReplayFormatError,
    from_har,
    read_log,
    replay,
)
from gatewayops.replay._safety import MAX_NESTING
from gatewayops.store import (
    BadMessageReceived,
    OperationStarted,
    Result,
    SendMessage,
    SocketOpened,
    TokenRefreshed,
    ToolFinished,
)

FIXTURE = Path(__file__).parent / "fixtures" / "session.har"


def _har() -> dict[str, Any]:
    har: dict[str, Any] = json.loads(FIXTURE.read_text())
    return har


def _write(tmp_path: Path, har: dict[str, Any]) -> Path:
    path = tmp_path / "edited.har"
    path.write_text(json.dumps(har))
    return path


def test_har_import_synthesises_only_what_the_har_lacks() -> None:
    """Start, socket opens, the tool result and the refresh are synthesised; frames are kept."""
    header, *records = from_har(FIXTURE)
    assert isinstance(header, Header)
    assert header.source == "har"
    items = [record.item for record in records if isinstance(record, Record)]
    start = items[0]
    assert start == OperationStarted(
        operation_id="op-h1",
        topic_id="har-topic:op-h1",
        gateway_url="wss://gw.example.com",
        token=REDACTED,
    )
    assert items[1] == SocketOpened(link_id="op-h1", generation=1)
    assert items[2] == SendMessage(link_id="op-h1", generation=1, message=Auth(token=REDACTED))
    assert isinstance(items[7], ToolFinished)
    assert isinstance(items[8], SendMessage)
    assert isinstance(items[8].message, ToolResult)
    assert any(isinstance(item, BadMessageReceived) for item in items)
    assert TokenRefreshed(operation_id="op-h1", token=REDACTED) in items
    assert SocketOpened(link_id="op-h1", generation=2) in items


def test_har_round_trip_through_a_written_log_replays_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--from-har FILE -o LOG`, then `replay LOG`: exit 0, no token in the log, run completed."""
    log = tmp_path / "from-har.jsonl"
    assert main(["replay", "--from-har", str(FIXTURE), "-o", str(log)]) == 0
    assert "wrote 20 records" in capsys.readouterr().out
    text = log.read_text()
    assert "browser-secret" not in text
    assert '"source":"har"' in text.splitlines()[0]
    assert main(["replay", str(log), "--check"]) == 0
    report = replay(read_log(log))
    assert report.ok, report.to_text()
    assert report.state == replay(from_har(FIXTURE)).state
    outcome = report.state.operations["op-h1"].outcome
    assert outcome is not None
    assert outcome.result is Result.COMPLETED


def test_a_browser_resume_from_the_wrong_cursor_is_a_divergence(tmp_path: Path) -> None:
    """The second socket resuming from "1" instead of "2" is caught at that sent frame."""
    har = _har()
    sent = har["log"]["entries"][2]["_webSocketMessages"][2]
    sent["data"] = sent["data"].replace('"lastEventId":"2"', '"lastEventId":"1"')
    report = replay(from_har(_write(tmp_path, har)))
    divergence = report.divergence
    assert divergence is not None
    assert divergence.expected == (
        SendMessage(link_id="op-h1", generation=2, message=Resume(last_event_id="1")),
    )
    assert divergence.actual == (
        SendMessage(link_id="op-h1", generation=2, message=Resume(last_event_id="2")),
    )
    assert divergence.seq == 18


def test_a_second_tool_result_from_the_browser_breaks_one_tool_result(tmp_path: Path) -> None:
    """The browser sending a tool call's result twice is a violation at the second frame."""
    har = _har()
    messages = har["log"]["entries"][1]["_webSocketMessages"]
    messages.insert(6, dict(messages[5], time=messages[5]["time"] + 0.01))
    report = replay(from_har(_write(tmp_path, har)))
    assert [v.invariant for v in report.violations] == ["one-tool-result"]
    assert report.divergence is not None  # today's reducer would not send it again


def test_heartbeats_are_not_checked_in_a_har(tmp_path: Path) -> None:
    """A browser heartbeat the reducer could not predict (no timers in a HAR) is no divergence."""
    har = _har()
    messages = har["log"]["entries"][1]["_webSocketMessages"]
    messages.insert(4, dict(messages[6], time=messages[3]["time"] + 0.01))
    assert replay(from_har(_write(tmp_path, har))).ok


def test_har_that_is_not_json_names_the_line(tmp_path: Path) -> None:
    """A HAR with a syntax error: ReplayFormatError with the line of the error."""
    path = tmp_path / "broken.har"
    path.write_text('{"log": {\n  "entries": [\n    oops\n]}}')
    with pytest.raises(ReplayFormatError, match="HAR: not JSON") as info:
        from_har(path)
    assert info.value.line == 3


def test_malformed_har_entry_is_exit_2_naming_the_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A WebSocket message of an unknown direction: exit 2, and the entry and field named."""
    har = _har()
    har["log"]["entries"][2]["_webSocketMessages"][1]["type"] = "sideways"
    path = _write(tmp_path, har)
    with pytest.raises(ReplayFormatError) as info:
        from_har(path)
    assert info.value.entry == 2
    assert main(["replay", "--from-har", str(path), "-o", str(tmp_path / "x.jsonl")]) == 2
    assert capsys.readouterr().err == (
        "gatewayops replay: HAR entry 2: _webSocketMessages[1].type: "
        "expected 'send' or 'receive', got 'sideways'\n"
    )


def test_a_socket_url_the_client_cannot_follow_names_the_entry(tmp_path: Path) -> None:
    """A socket URL whose gateway base the client would refuse: the entry is named."""
    har = _har()
    har["log"]["entries"][1]["request"]["url"] = "ftp://gw.example.com/ws?operationId=op-h1"
    with pytest.raises(ReplayFormatError, match=r"^HAR entry 1: cannot follow op-h1") as info:
        from_har(_write(tmp_path, har))
    assert info.value.entry == 1


def _deep_har(har: dict[str, Any]) -> str:
    return '{"log":' + "[" * 100_000 + "]" * 100_000 + "}"


def _deep_frame(har: dict[str, Any]) -> str:
    har["log"]["entries"][1]["_webSocketMessages"][1]["data"] = "[" * 100_000 + "]" * 100_000
    return json.dumps(har)


def _log_not_an_object(har: dict[str, Any]) -> str:
    return json.dumps({"log": "entries"})


def _huge_direction(har: dict[str, Any]) -> str:
    har["log"]["entries"][1]["_webSocketMessages"][1]["type"] = ["send" * 10_000] * 100
    return json.dumps(har)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_deep_har, "HAR: nested too deeply to read"),
        (
            _deep_frame,
            f"HAR entry 1: _webSocketMessages[1].data: nested more than {MAX_NESTING} levels deep",
        ),
        (_log_not_an_object, "HAR: expected an object with log.entries (an array)"),
        (
            _huge_direction,
            "HAR entry 1: _webSocketMessages[1].type: expected 'send' or 'receive', got "
            "['sendsendsend",
        ),
    ],
    ids=["har-100000-deep", "frame-100000-deep", "log-not-an-object", "huge-value"],
)
def test_a_har_the_importer_cannot_read_is_one_short_line_and_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    edit: Callable[[dict[str, Any]], str],
    message: str,
) -> None:
    """Too deep to parse, a frame too deep for a log, the wrong shape, a huge value: one
    short line naming what is wrong (a value shortened), exit 2, never a traceback."""
    path = tmp_path / "bad.har"
    path.write_text(edit(_har()))
    assert main(["replay", "--from-har", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"gatewayops replay: {message}")
    assert err.endswith("\n")
    assert err.count("\n") == 1
    assert len(err) < 200
