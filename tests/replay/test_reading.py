"""Reading logs: a truncated tail is a warning; anything else malformed is exit 2."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gatewayops.cli import main
from gatewayops.replay import Header, ReplayFormatError, read_log, replay
from gatewayops.store import Protocol

from .helpers import lines, record_session, redacted, rewrite


@pytest.fixture
def log(tmp_path: Path) -> Path:
    """A freshly recorded session."""
    return record_session(tmp_path / "session.jsonl").path


def test_truncated_last_line_is_a_warning_and_the_rest_replays(
    log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A crash mid-write: the cut line is reported, everything before it replays cleanly."""
    kept = lines(log)
    last = kept.pop()
    truncated = rewrite(log, [*kept, last[: len(last) // 2]])
    report = replay(read_log(truncated))
    assert report.ok, report.to_text()
    assert report.records == len(kept) - 1
    assert report.warnings[0].startswith(f"line {len(kept) + 1}: truncated last record ignored")
    assert main(["replay", str(truncated), "--check"]) == 0
    assert "warning: line" in capsys.readouterr().err


def test_effects_lost_with_a_truncated_line_are_not_a_divergence(tmp_path: Path) -> None:
    """If the cut line was an effect of the last action, the shorter log still agrees."""
    session = record_session(tmp_path / "session.jsonl")
    kept = lines(session.path)
    notify = kept.pop()  # op-2's NotifyFinished, the last effect of the last action
    assert '"NotifyFinished"' in notify
    report = replay(read_log(rewrite(session.path, [*kept, notify[:30]])))
    assert report.ok, report.to_text()
    assert "lost with the truncated line" in report.warnings[-1]
    assert report.state == redacted(session.store.state)


def test_garbage_line_mid_file_is_exit_2_naming_the_line(
    log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A broken line that is not the last: one clear line on stderr, exit 2."""
    edited = lines(log)
    edited[5] = "{this is not json\n"
    assert main(["replay", str(rewrite(log, edited))]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("gatewayops replay: line 6: not a JSON record")
    assert captured.err.count("\n") == 1
    assert "Traceback" not in captured.err


def test_a_record_with_a_mistyped_field_names_line_and_field(log: Path) -> None:
    """A well-formed JSON record with a wrong field type names the line and the field."""
    edited = lines(log)
    edited[2] = edited[2].replace('"generation":1', '"generation":"1"')
    with pytest.raises(
        ReplayFormatError, match=r"^line 3: payload.generation: expected int"
    ) as info:
        replay(read_log(rewrite(log, edited)))
    assert info.value.line == 3


@pytest.mark.parametrize("number", ["NaN", "-Infinity"])
def test_a_frame_with_a_non_json_number_names_the_line(log: Path, number: str) -> None:
    """Records are strict JSON, as frames on the wire: no NaN or infinities."""
    edited = lines(log)
    index = next(i for i, text in enumerate(edited) if '"timestamp":' in text)
    edited[index] = re.sub(r'"timestamp":[0-9.]+', f'"timestamp":{number}', edited[index])
    with pytest.raises(ReplayFormatError, match=rf"^line {index + 1}: ") as info:
        replay(read_log(rewrite(log, edited)))
    assert info.value.line == index + 1


def test_a_frame_with_a_number_python_cannot_hold_replays_as_the_client_read_it(
    log: Path,
) -> None:
    """1e400 is valid JSON: in a recorded frame it is read as the live client reads it
    (a `NumberText`, the field degraded), not refused."""
    edited = lines(log)
    index = next(i for i, text in enumerate(edited) if '"timestamp":' in text)
    edited[index] = re.sub(r'"timestamp":[0-9.]+', '"timestamp":1e400', edited[index])
    report = replay(read_log(rewrite(log, edited)))
    assert report.divergence is None


@pytest.mark.parametrize("tail", [" x", "\x0b", "{}"])
def test_a_record_with_extra_data_names_the_line(log: Path, tail: str) -> None:
    """Only JSON whitespace may follow a record on its line."""
    edited = lines(log)
    edited[4] = edited[4].rstrip("\n") + tail + "\n"
    with pytest.raises(ReplayFormatError, match=r"^line 5: not a JSON record"):
        replay(read_log(rewrite(log, edited)))


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ('{"format":"something-else"}\n', "line 1: not a gatewayops replay log"),
        ("not json at all\n", "line 1: the header is not JSON"),
        ('{"format":"gatewayops-replay","version":99}\n', "line 1: unsupported log version 99"),
        (  # version 1 named the operation in transport records; 2 names the link
            '{"format":"gatewayops-replay","version":1}\n',
            "line 1: unsupported log version 1 ",
        ),
    ],
)
def test_bad_header_is_exit_2(
    log: Path, capsys: pytest.CaptureFixture[str], header: str, message: str
) -> None:
    """A log whose first line is not a header of the version read (2) is refused with
    one line."""
    rewrite(log, [header, *lines(log)[1:]])
    assert main(["replay", str(log)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"gatewayops replay: {message}")
    assert err.count("\n") == 1
    with pytest.raises(ReplayFormatError, match=f"^{message}"):
        replay(read_log(log))


def test_missing_file_is_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A log that does not exist: exit 2, the path and the reason, no traceback."""
    missing = tmp_path / "nope.jsonl"
    assert main(["replay", str(missing)]) == 2
    assert capsys.readouterr().err == f"gatewayops replay: {missing}: No such file or directory\n"


def test_empty_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An empty file has no header: exit 2."""
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert main(["replay", str(empty)]) == 2
    assert "empty log (no header)" in capsys.readouterr().err


def test_replay_does_not_import_trio() -> None:
    """`gatewayops.replay` and the replay command are pure: Trio stays out of sys.modules."""
    code = "import sys, gatewayops.replay, gatewayops.cli._replay; print('trio' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_a_log_recorded_before_protocol_v2_reads_as_v1_and_replays(
    log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A header whose config has no ``protocol`` (an older recorder's) holds protocol v1,
    and says so in the report; one naming a protocol that does not exist is exit 2."""
    edited = lines(log)
    header = json.loads(edited[0])
    del header["config"]["protocol"]
    older = rewrite(log, [json.dumps(header) + "\n", *edited[1:]])
    first = next(iter(read_log(older)))
    assert isinstance(first, Header)
    assert first.protocol is Protocol.V1
    assert main(["replay", "--check", str(older)]) == 0
    assert "recording of protocol v1" in capsys.readouterr().out
    header["config"]["protocol"] = "v3"
    unknown = rewrite(log, [json.dumps(header) + "\n", *edited[1:]])
    assert main(["replay", str(unknown)]) == 2
    assert "line 1: header.config: StoreConfig.protocol" in capsys.readouterr().err
