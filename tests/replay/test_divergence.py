"""Edited logs are caught at the right record; the CLI names it and exits 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gatewayops.cli import main
from gatewayops.replay import read_log, replay
from gatewayops.store import NotifyFinished, SendMessage

from .helpers import line_of, lines, record_session, rewrite, seq_of


@pytest.fixture
def log(tmp_path: Path) -> Path:
    """A freshly recorded session."""
    return record_session(tmp_path / "session.jsonl").path


def test_dropped_session_complete_is_caught_at_the_orphaned_notification(log: Path) -> None:
    """Without its session_complete, the NotifyFinished that followed it is the divergence."""
    dropped = seq_of(log, "session_complete")
    notify_line = line_of(log, dropped + 1)
    edited = [line for number, line in enumerate(lines(log), 1) if number != notify_line - 1]
    report = replay(read_log(rewrite(log, edited)))
    divergence = report.divergence
    assert divergence is not None
    assert (divergence.seq, divergence.line) == (dropped + 1, notify_line - 1)
    assert divergence.action_seq == dropped - 1  # the chunk before it, which ends nothing
    assert divergence.actual == ()
    assert isinstance(divergence.expected[0], NotifyFinished)
    assert not report.ok


def test_two_reordered_frames_are_caught_at_the_one_moved_first(log: Path) -> None:
    """Swapping session_complete with the chunk before it diverges at session_complete."""
    complete = seq_of(log, "session_complete")
    at = line_of(log, complete)
    edited = lines(log)
    edited[at - 2], edited[at - 1] = edited[at - 1], edited[at - 2]
    report = replay(read_log(rewrite(log, edited)))
    divergence = report.divergence
    assert divergence is not None
    assert (divergence.seq, divergence.line) == (complete, at - 1)
    assert divergence.expected == ()
    assert isinstance(divergence.actual[0], NotifyFinished)
    assert report.divergences == 2  # and the chunk now carries the orphaned notification


def test_a_field_level_diff_names_the_differing_field(log: Path) -> None:
    """A resume cursor edited in an outbound frame shows up as that one field's change."""
    target = line_of(log, seq_of(log, "auth_success", nth=2) + 1)  # op-1's second resume
    edited = lines(log)
    assert '"lastEventId":"4"' in edited[target - 1]
    edited[target - 1] = edited[target - 1].replace('"lastEventId":"4"', '"lastEventId":"3"')
    divergence = replay(read_log(rewrite(log, edited))).divergence
    assert divergence is not None
    assert divergence.line == target
    assert isinstance(divergence.actual[0], SendMessage)
    assert [str(change) for change in divergence.changes] == [
        "[0].message.last_event_id: '3' -> '4'"
    ]


def test_flipped_frame_makes_the_cli_exit_1_naming_the_record(
    log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """auth_success flipped to auth_failed: exit 1, and the output names that record."""
    flipped = seq_of(log, "auth_success", nth=2)
    at = line_of(log, flipped)
    edited = lines(log)
    edited[at - 1] = edited[at - 1].replace('{"type":"auth_success"}', '{"type":"auth_failed"}')
    assert main(["replay", str(rewrite(log, edited)), "--check"]) == 1
    out = capsys.readouterr().out
    assert f"after record {flipped} (line {at}): MessageReceived" in out
    assert f"DIVERGENCE at record {flipped + 1} (line {at + 1})" in out
    assert "FAILED" in out


def test_clean_log_makes_the_cli_exit_0_with_a_timeline(
    log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A clean recording: exit 0, a timeline per operation, and an OK verdict."""
    assert main(["replay", str(log)]) == 0
    out = capsys.readouterr().out
    assert "operation op-1 on topic t-1" in out
    assert "finished: ended via session_complete" in out
    assert out.rstrip().endswith("no invariant broken")


def test_until_in_the_cli_shows_the_state_there_as_json(
    log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--until N --json`: the operations as they stood right after record N."""
    expired = seq_of(log, "auth_expired")
    assert main(["replay", str(log), "--until", str(expired), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["until"] == expired
    op = next(op for op in report["operations"] if op["operation"] == "op-1")
    assert (op["status"], op["connection"], op["cursor"]) == ("running", "expired", "4")


def test_an_injected_second_notification_is_an_invariant_violation(log: Path) -> None:
    """A NotifyFinished copied after a later action breaks notify-once at that record."""
    notify_seq = seq_of(log, "session_complete") + 1
    edited = lines(log)
    copy = edited[line_of(log, notify_seq) - 1]
    edited.append(copy.replace(f'"seq":{notify_seq},', '"seq":999,'))
    report = replay(read_log(rewrite(log, edited)))
    assert [(v.invariant, v.seq) for v in report.violations] == [("notify-once", 999)]
    assert report.divergence is not None
    assert report.divergence.seq == 999
