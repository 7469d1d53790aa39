"""`gatewayops replay` never says OK about nothing, names the flag a file was meant for,
and shows the state (transcript included) at the record `--until` names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gatewayops.protocol import AgentEvent, AgentEventMessage, AuthSuccess, ServerMessage
from gatewayops.replay import Header, Record, open_recorder, read_log, write_log
from gatewayops.store import (
    GatewayState,
    MessageReceived,
    OperationStarted,
    SocketOpened,
    Store,
)

from .helpers import run_main

HAR_FIXTURE = Path(__file__).parents[1] / "replay" / "fixtures" / "session.har"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcC0xIn0.c2lnbmF0dXJlLXNlY3JldA"
"""Shaped like a JWT: what prints it must redact it."""


def _chunk(text: str, event_id: str) -> MessageReceived:
    data = {"chunkType": "text", "content": text}
    event = AgentEvent(type="stream_chunk", operation_id="op-1", data=data)
    message: ServerMessage = AgentEventMessage(event=event, id=event_id)
    return MessageReceived(link_id="op-1", generation=1, message=message)


def _record(path: Path, *chunks: str) -> dict[str, int]:
    """Record op-1 authenticating and streaming `chunks` to `path`; the record number
    of each chunk's frame, by its text."""
    seqs: dict[str, int] = {}
    with open_recorder(path) as recorder:
        store = Store(GatewayState(), middleware=[recorder])
        store.dispatch(
            OperationStarted(
                operation_id="op-1", topic_id="t-1", gateway_url="ws://gw.test", token=TOKEN
            )
        )
        store.dispatch(SocketOpened(link_id="op-1", generation=1))
        store.dispatch(MessageReceived(link_id="op-1", generation=1, message=AuthSuccess()))
        for number, text in enumerate(chunks, start=1):
            seqs[text] = recorder.records + 1
            store.dispatch(_chunk(text, str(number)))
    return seqs


def _last_seq(path: Path) -> int:
    return max(item.seq for item in read_log(path) if isinstance(item, Record))


def _header_only(path: Path) -> Path:
    write_log(path, [Header(started_at="2026-01-01T00:00:00.000+00:00")])
    return path


def _har(path: Path, entries: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}))
    return path


def _assert_error(result: tuple[int, str, str], *needles: str) -> str:
    """The run exited 2 with nothing on stdout and one line on stderr holding `needles`."""
    code, out, err = result
    assert (code, out) == (2, ""), err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("flags", [[], ["--json"], ["--check"], ["--until", "1"]])
def test_a_log_without_records_is_an_error(
    tmp_path: Path, flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A header-only log exits 2 with one line saying there is nothing to replay."""
    log = _header_only(tmp_path / "empty.jsonl")
    result = run_main(["replay", str(log), *flags], capsys)
    _assert_error(result, str(log), "no records after the header")


_NO_SOCKET_ENTRIES = {
    "no entries": [],
    "plain http": [
        {"startedDateTime": "2024-05-01T10:00:00Z", "request": {"url": "https://gw.test/api"}}
    ],
    "socket without operationId": [
        {
            "startedDateTime": "2024-05-01T10:00:00Z",
            "request": {"url": "wss://gw.test/ws"},
            "_webSocketMessages": [],
        }
    ],
}


@pytest.mark.parametrize("entries", _NO_SOCKET_ENTRIES.values(), ids=_NO_SOCKET_ENTRIES.keys())
@pytest.mark.parametrize("write", [False, True], ids=["replayed", "written"])
def test_a_har_without_a_websocket_entry_is_an_error(
    tmp_path: Path, entries: list[dict[str, Any]], write: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    """A HAR with no socket of an operation exits 2 with one line (and writes no log)."""
    har, output = _har(tmp_path / "capture.har", entries), tmp_path / "out.jsonl"
    argv = ["replay", "--from-har", str(har), *(["-o", str(output)] if write else [])]
    _assert_error(run_main(argv, capsys), str(har), "no WebSocket entry")
    assert not output.exists()


@pytest.mark.parametrize("until", ["0", "-1", "-20", "x", "1.5"])
def test_until_below_one_is_a_usage_error(
    tmp_path: Path, until: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--until` takes a record number, 1 or more; anything else is one line naming it."""
    log = tmp_path / "s.jsonl"
    _record(log, "hello")
    _assert_error(run_main(["replay", str(log), "--until", until], capsys), "--until", until)


def test_until_past_the_end_says_where_the_log_ends(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--until` beyond the last record exits 2 with one line naming the last record."""
    log = tmp_path / "s.jsonl"
    _record(log, "hello")
    last = _last_seq(log)
    line = _assert_error(run_main(["replay", str(log), "--until", str(last + 1)], capsys))
    assert line == (
        f"gatewayops replay: --until {last + 1}: {log} ends at record {last} "
        "(leave --until out for the state at its end)"
    )


def test_until_the_last_record_is_not_past_the_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--until` the log's last record replays all of it, exit 0."""
    log = tmp_path / "s.jsonl"
    _record(log, "hello")
    last = _last_seq(log)
    code, out, err = run_main(["replay", str(log), "--until", str(last)], capsys)
    assert (code, err) == (0, "")
    assert f"state after record {last}" in out


def test_until_between_two_records_is_not_past_the_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A record number missing from the log (records 1, 2, then 5 on) but before its end
    shows the state there (after record 2 and its effect, record 5), exit 0."""
    log = tmp_path / "s.jsonl"
    _record(log, "hello")
    items = list(read_log(log))
    header, records = items[0], [item for item in items if isinstance(item, Record)]
    write_log(log, [header, *(r._replace(seq=r.seq + 2) if r.seq > 2 else r for r in records)])
    code, out, err = run_main(["replay", str(log), "--until", "3"], capsys)
    assert (code, err) == (0, "")
    assert "; 3 records; state after record 3" in out


def test_until_shows_the_transcript_and_the_state_at_that_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--until N` shows what had streamed by record N, and that the input was loading."""
    log = tmp_path / "s.jsonl"
    seqs = _record(log, "hello ", "world")
    code, out, _ = run_main(["replay", str(log), "--until", str(seqs["hello "])], capsys)
    assert code == 0
    lines = out.splitlines()
    assert "    assistant  'hello '" in lines
    assert "  input      Stop (loading); no stop requested" in lines
    assert "  transcript 1 entry, 1 event; not ended" in lines
    assert any(line.startswith("  now: running; connection connected; cursor 1;") for line in lines)
    code, out, _ = run_main(["replay", str(log), "--until", str(seqs["world"])], capsys)
    assert "    assistant  'hello world'" in out.splitlines()


def test_until_in_json_carries_the_transcript(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With `--json`, each operation at record N has its transcript and input state."""
    log = tmp_path / "s.jsonl"
    seqs = _record(log, "hello ", "world")
    argv = ["replay", str(log), "--until", str(seqs["hello "]), "--json"]
    code, out, _ = run_main(argv, capsys)
    assert code == 0
    (operation,) = json.loads(out)["operations"]
    assert operation["input_loading"] is True
    entries = operation["transcript"]["entries"]
    assert [e["text"] for e in entries if e["entry"] == "assistant"] == ["hello "]


def test_without_until_the_report_has_no_snapshot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The full replay's report is unchanged: no transcript lines, no snapshot keys."""
    log = tmp_path / "s.jsonl"
    _record(log, "hello ")
    _, out, _ = run_main(["replay", str(log)], capsys)
    assert "transcript" not in out
    _, out, _ = run_main(["replay", str(log), "--json"], capsys)
    assert "transcript" not in json.loads(out)["operations"][0]


def test_the_state_at_a_record_holds_no_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A streamed text that quotes a token is shown redacted, in text and JSON."""
    log = tmp_path / "s.jsonl"
    seqs = _record(log, f"your token is {TOKEN}")
    for extra in ([], ["--json"]):
        argv = ["replay", str(log), "--until", str(seqs[f"your token is {TOKEN}"]), *extra]
        code, out, err = run_main(argv, capsys)
        assert code == 0
        assert "your token is <redacted>" in out
        assert TOKEN.rsplit(".", 1)[1] not in out + err


def test_a_har_given_as_log_names_from_har(capsys: pytest.CaptureFixture[str]) -> None:
    """A HAR capture passed as LOG is one line saying to use `--from-har` with it."""
    line = _assert_error(run_main(["replay", str(HAR_FIXTURE)], capsys))
    assert line == (
        f"gatewayops replay: {HAR_FIXTURE} is a HAR capture, not a recording: "
        f"use --from-har {HAR_FIXTURE}"
    )


@pytest.mark.parametrize("records", [True, False], ids=["recording", "header-only"])
def test_a_recording_given_to_from_har_names_log(
    tmp_path: Path, records: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    """A gatewayops recording passed to `--from-har` is one line saying to give it as LOG."""
    log = tmp_path / "s.jsonl"
    if records:
        _record(log, "hello")
    else:
        _header_only(log)
    line = _assert_error(run_main(["replay", "--from-har", str(log)], capsys))
    assert line == (
        f"gatewayops replay: {log} is a gatewayops recording, not a HAR: give it as LOG "
        f"(gatewayops replay {log})"
    )


def test_a_file_that_is_neither_keeps_the_reason_it_cannot_be_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Some other JSON file is reported as unreadable, with no flag suggested."""
    other = tmp_path / "other.json"
    other.write_text('{"hello": "world"}\n')
    line = _assert_error(run_main(["replay", str(other)], capsys), "not a gatewayops replay log")
    assert "--from-har" not in line
    line = _assert_error(run_main(["replay", "--from-har", str(other)], capsys), "HAR")
    assert "give it as LOG" not in line


def test_one_record_is_counted_in_the_singular(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A log of one record replays as "1 record", not "1 records"."""
    log = tmp_path / "one.jsonl"
    with open_recorder(log) as recorder:
        Store(GatewayState(), middleware=[recorder]).dispatch(
            OperationStarted(
                operation_id="op-1", topic_id="t-1", gateway_url="ws://gw.test", token="x"
            )
        )
    assert _last_seq(log) == 1
    code, out, _ = run_main(["replay", str(log)], capsys)
    assert code == 0
    assert out.splitlines()[-1] == "OK: 1 record replayed; no divergence; no invariant broken"
    assert out.splitlines()[0].endswith("; 1 record")
