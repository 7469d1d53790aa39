"""A replay forgets finished operations past the recorded `retain_finished`, as the live
client did, and keeps of each only a summary (outcome and counts); with
``keep_transcripts`` it keeps them all."""

from __future__ import annotations

from pathlib import Path

from gatewayops.replay import (
    OperationSummary,
    OperationTimeline,
    open_recorder,
    read_log,
    replay,
)
from gatewayops.store import (
    GatewayState,
    OperationForgotten,
    OperationStarted,
    Result,
    SocketOpened,
    Store,
    StoreConfig,
)

from .helpers import GATEWAY, SECRET, chunk, event, received, redacted

CONFIG = StoreConfig(retain_finished=2)


def _record(path: Path, runs: int, *, forget: str | None = None) -> GatewayState:
    """Record `runs` operations, one after another, each streaming two chunks and ending
    cleanly (then forget `forget`, if given); the live state at the end."""
    with open_recorder(path) as recorder:
        store = Store(GatewayState(config=CONFIG), middleware=[recorder])
        for number in range(runs):
            op = f"op-{number}"
            store.dispatch(
                OperationStarted(
                    operation_id=op, topic_id=f"t-{number}", gateway_url=GATEWAY, token=SECRET
                )
            )
            store.dispatch(SocketOpened(link_id=op, generation=1))
            for index, text in enumerate(("Hello, ", "world")):
                store.dispatch(received(op, 1, chunk(op, text, id=str(index + 1))))
            store.dispatch(received(op, 1, event(op, "agent_runtime_end", {}, id="3")))
        if forget is not None:
            store.dispatch(OperationForgotten(operation_id=forget))
    return store.state


def test_operations_past_the_recorded_retention_become_summaries(tmp_path: Path) -> None:
    """Of five runs with `retain_finished=2`, the first three are summaries with their
    outcome and counts, the last two full timelines; the state is the live one."""
    live = _record(tmp_path / "log.jsonl", 5)
    report = replay(read_log(tmp_path / "log.jsonl"))
    assert report.ok, report.to_text()
    kinds = [type(timeline) for timeline in report.operations]
    assert kinds == [OperationSummary] * 3 + [OperationTimeline] * 2
    first = report.operations[0]
    assert isinstance(first, OperationSummary)
    assert first.outcome.result is Result.COMPLETED
    assert (first.events, first.cursor) == (3, "3")
    assert first.to_json()["inputs"] == {"app": 1, "socket": 1, "frame": 3}
    assert report.state == redacted(live)


def test_a_summary_says_it_was_forgotten_and_shows_its_counts(tmp_path: Path) -> None:
    """The text of a summarised operation names the record it was forgotten after, its
    outcome, and its records by kind."""
    _record(tmp_path / "log.jsonl", 3)
    text = replay(read_log(tmp_path / "log.jsonl")).to_text()
    assert "operation op-0\n  forgotten after record" in text
    assert "now: finished: completed via agent_event; cursor 3; 3 events shown" in text
    assert "records in: 1 app, 3 frame, 1 socket; out: 1 effect, 1 frame" in text


def test_keep_transcripts_keeps_every_finished_operation(tmp_path: Path) -> None:
    """With ``keep_transcripts`` all five runs stay in the state with full timelines."""
    _record(tmp_path / "log.jsonl", 5)
    report = replay(read_log(tmp_path / "log.jsonl"), keep_transcripts=True)
    assert report.ok, report.to_text()
    assert all(type(timeline) is OperationTimeline for timeline in report.operations)
    assert sorted(report.state.operations) == [f"op-{n}" for n in range(5)]
    assert report.state.operations["op-0"].transcript.events == 3


def test_an_operation_the_app_forgot_is_summarised_at_its_record(tmp_path: Path) -> None:
    """A recorded `OperationForgotten` replays without divergence and leaves a summary,
    even with ``keep_transcripts``."""
    _record(tmp_path / "log.jsonl", 2, forget="op-1")
    report = replay(read_log(tmp_path / "log.jsonl"), keep_transcripts=True)
    assert report.ok, report.to_text()
    last = report.operations[-1]
    assert isinstance(last, OperationSummary)
    assert last.operation_id == "op-1"
    assert "op-1" not in report.state.operations


def test_equal_outcomes_and_counts_are_shared_between_summaries(tmp_path: Path) -> None:
    """Summaries of runs that ended alike hold one shared outcome and count tuple."""
    _record(tmp_path / "log.jsonl", 4)
    first, second = replay(read_log(tmp_path / "log.jsonl")).operations[:2]
    assert isinstance(first, OperationSummary)
    assert isinstance(second, OperationSummary)
    assert first.outcome is second.outcome
    assert first.inputs is second.inputs
