"""`gatewayops replay --keep-transcripts` keeps every finished operation's timeline and
transcript; without it, those past the recorded `retain_finished` are summaries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gatewayops.protocol import AgentEvent, AgentEventMessage
from gatewayops.replay import open_recorder
from gatewayops.store import (
    GatewayState,
    MessageReceived,
    OperationStarted,
    SocketOpened,
    Store,
    StoreConfig,
)

from .helpers import run_main


def _record(path: Path, runs: int) -> None:
    """`runs` operations that each end at once, recorded with `retain_finished=1`."""
    with open_recorder(path) as recorder:
        store = Store(GatewayState(config=StoreConfig(retain_finished=1)), middleware=[recorder])
        for number in range(runs):
            op = f"op-{number}"
            store.dispatch(
                OperationStarted(
                    operation_id=op, topic_id=f"t-{number}", gateway_url="ws://gw.test", token="x"
                )
            )
            store.dispatch(SocketOpened(link_id=op, generation=1))
            end = AgentEventMessage(event=AgentEvent(type="agent_runtime_end", operation_id=op))
            store.dispatch(MessageReceived(link_id=op, generation=1, message=end))


def test_replay_summarises_operations_past_the_retention(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without the flag, the first of three runs is reported as forgotten."""
    _record(tmp_path / "log.jsonl", 3)
    code, out, _ = run_main(["replay", str(tmp_path / "log.jsonl")], capsys)
    assert code == 0
    assert out.count("forgotten after record") == 2
    assert "replay --keep-transcripts keeps them" in out


def test_keep_transcripts_reports_every_operation_in_full(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With ``--keep-transcripts`` no operation is summarised, in text or JSON."""
    _record(tmp_path / "log.jsonl", 3)
    log = str(tmp_path / "log.jsonl")
    code, out, _ = run_main(["replay", log, "--keep-transcripts"], capsys)
    assert code == 0
    assert "forgotten" not in out
    code, out, _ = run_main(["replay", log, "--keep-transcripts", "--json"], capsys)
    assert [op["status"] for op in json.loads(out)["operations"]] == ["finished"] * 3
    assert all("forgotten_at" not in op for op in json.loads(out)["operations"])
