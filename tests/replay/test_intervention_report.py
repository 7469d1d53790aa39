"""A replay says which of the agent's questions were answered, how, and which timed out."""

from __future__ import annotations

import json
from pathlib import Path

import immutables
import pytest

from gatewayops.cli import main
from gatewayops.protocol import CancelReason, Refusal
from gatewayops.replay._human_report import intervention_lines
from gatewayops.store import HumanLoop, Intervention, InterventionStatus, Operation


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's asking scenarios, recorded (one log each)."""
    where = tmp_path_factory.mktemp("asking")
    only = ["--only", "ask", "--only", "confirm-tool"]
    assert main(["demo", *only, "--record", str(where), "--plain"]) == 0
    return where


def test_an_answered_question_is_reported_with_its_answer(
    recordings: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The report's timeline and summary say the question was answered, and with what."""
    capsys.readouterr()
    assert main(["replay", str(recordings / "ask.jsonl")]) == 0
    out = capsys.readouterr().out
    assert "interventions: 1 asked, 1 answered, 0 timed out" in out
    assert '(question): resolved, answer {"answers"' in out
    assert "asked (question)" in out


def test_a_declined_confirmation_is_reported_as_user_cancelled(
    recordings: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A declined tool confirmation shows as cancelled by the user, not answered."""
    capsys.readouterr()
    assert main(["replay", str(recordings / "confirm-tool.jsonl")]) == 0
    out = capsys.readouterr().out
    assert "interventions: 1 asked, 0 answered, 0 timed out" in out
    assert "(permission): cancelled (user_cancelled)" in out


def test_the_json_report_lists_each_intervention(
    recordings: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--json` carries every intervention's kind, status and answer."""
    capsys.readouterr()
    assert main(["replay", str(recordings / "ask.jsonl"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    (operation,) = report["operations"]
    (item,) = operation["interventions"]
    assert (item["kind"], item["status"], item["declined"]) == ("question", "resolved", False)
    assert item["result"]["answers"][0]["selected"] == ["eu"]


def test_a_timed_out_request_is_counted_and_named() -> None:
    """An intervention cancelled by its deadline counts as timed out in the summary."""
    timed_out = Intervention(
        tool_call_id="ask-9",
        review=Refusal(tool_call_id="ask-9", reason="apiName 'x' is not 'askUserQuestion'"),
        order=0,
        deadline_ms=1_000,
        status=InterventionStatus.CANCELLED,
        cancel_reason=CancelReason.TIMEOUT,
    )
    op = Operation(
        id="op-1",
        topic_id="t",
        link_id="op-1",
        token="-",
        human=HumanLoop(settled=immutables.Map({"ask-9": timed_out})),
    )
    assert intervention_lines(op) == [
        "  interventions: 1 asked, 0 answered, 1 timed out",
        "    ask-9 (unreviewable): cancelled (timeout)",
    ]
