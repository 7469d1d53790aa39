"""Lines a log may not hold (nested too deeply, too long): refused naming the line when
read (exit 2, one line, never a traceback), and never written by the recorder."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from gatewayops.cli import main
from gatewayops.replay import ReplayFormatError, open_recorder, read_log, replay
from gatewayops.replay._safety import MAX_LINE_LENGTH, MAX_NESTING
from gatewayops.store import GatewayState, OperationStarted, SocketOpened, Store

from .helpers import CONFIG, GATEWAY, event, lines, received, record_session, rewrite

# A record nests its frame's `data` 5 levels down: record, payload, frame, event, data.
_ABOVE_DATA = 4


def _nested(levels: int) -> Any:
    value: Any = []
    for _ in range(levels - 1):
        value = [value]
    return value


def _with_data(line: str, levels: int) -> str:
    """`line` (a recorded stream_chunk) with its event data nested `levels` deep."""
    data = "[" * levels + "]" * levels
    start = line.index('"data":') + len('"data":')
    end = line.index("}", start) + 1  # the chunk's data object
    return line[:start] + data + line[end:]


@pytest.fixture
def log(tmp_path: Path) -> Path:
    """A freshly recorded session."""
    return record_session(tmp_path / "session.jsonl").path


@pytest.mark.parametrize("newline", ["\n", ""], ids=["mid-file", "last-line"])
def test_a_line_nested_100000_deep_is_exit_2_naming_it(
    log: Path, newline: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """JSON nested 100,000 deep (the parser would overflow the stack) is one line on
    stderr naming the line and exit 2, also as a last line without its newline."""
    kept = lines(log)
    deep = "[" * 100_000 + "]" * 100_000 + newline
    path = rewrite(log, [*kept[:4], deep, *(kept[4:] if newline else [])])
    assert main(["replay", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == f"gatewayops replay: line 5: nested more than {MAX_NESTING} levels deep\n"


def test_nesting_up_to_the_limit_replays_and_one_more_level_is_refused(log: Path) -> None:
    """A record nested exactly `MAX_NESTING` levels replays; one level more is an error."""
    edited = lines(log)
    index = next(i for i, text in enumerate(edited) if '"stream_chunk"' in text)
    original = edited[index]
    edited[index] = _with_data(original, MAX_NESTING - _ABOVE_DATA)
    assert replay(read_log(rewrite(log, edited))).records == len(edited) - 1
    edited[index] = _with_data(original, MAX_NESTING - _ABOVE_DATA + 1)
    with pytest.raises(ReplayFormatError, match=f"^line {index + 1}: nested more than") as info:
        replay(read_log(rewrite(log, edited)))
    assert info.value.line == index + 1


def test_a_line_longer_than_the_limit_is_exit_2_naming_it(
    log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A line over `MAX_LINE_LENGTH` characters is refused naming it, without a traceback."""
    edited = lines(log)
    edited.insert(2, '"' + "x" * MAX_LINE_LENGTH + '"\n')
    assert main(["replay", "--check", str(rewrite(log, edited))]) == 2
    err = capsys.readouterr().err
    assert (
        err
        == f"gatewayops replay: line 3: longer than the limit of {MAX_LINE_LENGTH:,} characters\n"
    )


@pytest.mark.parametrize(
    ("levels", "error"),
    [(MAX_NESTING, ValueError), (100_000, RecursionError)],
    ids=["past-the-log-limit", "past-the-encoder"],
)
def test_the_recorder_stops_rather_than_write_a_record_nested_too_deeply(
    tmp_path: Path, levels: int, error: type[Exception], caplog: pytest.LogCaptureFixture
) -> None:
    """A frame whose data nests too deeply for a log stops the recording (logged once,
    the store goes on); the log written so far replays."""
    path = tmp_path / "deep.jsonl"
    deep = event("op-1", "stream_chunk", _nested(levels), "1")
    start = OperationStarted(operation_id="op-1", topic_id="t", gateway_url=GATEWAY, token="x")
    with open_recorder(path, config=CONFIG) as recorder, caplog.at_level(logging.ERROR):
        store = Store(GatewayState(config=CONFIG), middleware=[recorder])
        for action in (start, SocketOpened(link_id="op-1", generation=1)):
            store.dispatch(action)
        store.dispatch(received("op-1", 1, deep))
    assert isinstance(recorder.error, error)
    assert [r.message for r in caplog.records] == [
        "recording stopped: MessageReceived could not be written"
    ]
    assert replay(read_log(path)).records == recorder.records == 3
