"""A real protocol v2 session, recorded against the reference gateway, replays exactly.

The session is recorded once per module: a real client on ``protocol="v2"`` follows
three runs of the reference gateway on 127.0.0.1 (a clean answer, a provider error, a
client tool) over one socket, with a `Recorder`. The tests replay that log as it is,
and tampered with: an operation's end taken out, a frame doubled.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import trio

from gatewayops.cli import main
from gatewayops.effects import Client, open_client
from gatewayops.gateway import Gateway, clean_run, error_run, open_gateway, tool_run
from gatewayops.protocol import AgentEventMessage, MuxAgentEvent, Subscribe
from gatewayops.replay import (
    Header,
    LogItem,
    Record,
    ReplayReport,
    open_recorder,
    read_log,
    replay,
    write_log,
)
from gatewayops.store import (
    MessageReceived,
    NotifyFinished,
    OperationStarted,
    Protocol,
    Result,
    SendMessage,
    SocketOpened,
    StoreConfig,
)
from gatewayops.transport import WebSocketTransport

_CONFIG = StoreConfig(initial_backoff_ms=50, max_backoff_ms=400)


async def _search(arguments: object) -> str:
    return "the tool found it"


async def _follow(client: Client, gateway: Gateway) -> None:
    """Start three runs on `gateway`, follow each with `client`, wait for every end."""
    scripts = (
        clean_run("one socket for every run", chunks=3, delay=0.01),
        error_run(delay=0.01),
        tool_run(delay=0.01),
    )
    runs = [gateway.start_run(script) for script in scripts]
    for run in runs:
        client.start(operation_id=run.operation_id, topic_id=run.topic_id, gateway_url=gateway.url)
    for run in runs:
        await client.wait_finished(run.operation_id)


async def _record(path: Path) -> None:
    """Follow three runs over one v2 socket of a fresh gateway, recording to `path`."""
    async with open_gateway() as gateway:
        with open_recorder(path) as recorder:
            async with open_client(
                refresh_token=gateway.refresh_token,
                fetch_messages=gateway.fetch_messages,
                protocol="v2",
                user_token=gateway.v2.user_token,
                tools={"web-search/search": _search},
                config=_CONFIG,
                transport=WebSocketTransport(),
                random_seed=0,
                recorder=recorder,
            ) as client:
                await _follow(client, gateway)


@pytest.fixture(scope="module")
def v2_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The recorded v2 session (recorded once for the module)."""
    path = tmp_path_factory.mktemp("v2") / "session.jsonl"
    trio.run(_record, path)
    return path


def _items(path: Path) -> list[LogItem]:
    return list(read_log(path))


def _records(items: list[LogItem]) -> list[Record]:
    return [item for item in items if isinstance(item, Record)]


def _replayed(tmp_path: Path, items: list[LogItem]) -> ReplayReport:
    """Write `items` as a log (records numbered again from 1) and replay it from the file."""
    numbered: list[LogItem] = []
    seq = 0
    for item in items:
        if isinstance(item, Record):
            seq += 1
            item = item._replace(seq=seq)
        numbered.append(item)
    path = tmp_path / "tampered.jsonl"
    write_log(path, numbered)
    return replay(read_log(path))


def _is_end(record: Record) -> bool:
    """The frame that ends an operation: its own `agent_runtime_end` or `error` event."""
    item = record.item
    return (
        isinstance(item, MessageReceived)
        and isinstance(item.message, MuxAgentEvent | AgentEventMessage)
        and item.message.event.type in ("agent_runtime_end", "error")
    )


def test_the_header_of_a_v2_recording_says_protocol_v2(v2_log: Path) -> None:
    """The recorder writes the store's protocol into the header's config; it reads back."""
    header = next(iter(read_log(v2_log)))
    assert isinstance(header, Header)
    assert header.protocol is Protocol.V2
    assert json.loads(v2_log.read_text().splitlines()[0])["config"]["protocol"] == "v2"


def test_the_recorded_session_used_one_socket_for_three_operations(v2_log: Path) -> None:
    """Every operation was followed over the same link, opened once (the log is v2's)."""
    records = _records(_items(v2_log))
    started = [r.item for r in records if isinstance(r.item, OperationStarted)]
    opened = [r.item for r in records if isinstance(r.item, SocketOpened)]
    assert len(started) == 3
    assert len(opened) == 1
    assert opened[0].link_id.startswith("v2:ws://127.0.0.1:")
    subscribed = [
        r.item.message.operation_id
        for r in records
        if isinstance(r.item, SendMessage) and isinstance(r.item.message, Subscribe)
    ]
    assert sorted(subscribed) == sorted(start.operation_id for start in started)


def test_a_v2_recording_replays_without_divergence_each_operation_ending_once(
    v2_log: Path,
) -> None:
    """Replayed over a v2 link: no divergence, no violation, one end per operation."""
    report = replay(read_log(v2_log))
    assert report.ok, report.to_text()
    assert report.state.config.protocol is Protocol.V2
    ends = Counter(
        r.item.operation_id for r in _records(_items(v2_log)) if isinstance(r.item, NotifyFinished)
    )
    assert ends == Counter(dict.fromkeys(report.state.operations, 1))
    results = sorted(op.outcome.result for op in report.state.operations.values() if op.outcome)
    assert results == sorted([Result.COMPLETED, Result.COMPLETED, Result.FAILED])


def test_a_v2_log_without_an_operations_end_frame_diverges_and_breaks_notify_once(
    tmp_path: Path, v2_log: Path
) -> None:
    """Taking out the frame that ended an operation leaves its recorded end after the
    action before it: the replay diverges there and flags a NotifyFinished that ends
    nothing."""
    items = _items(v2_log)
    end = next(i for i, item in enumerate(items) if isinstance(item, Record) and _is_end(item))
    del items[end]
    report = _replayed(tmp_path, items)
    assert report.divergence is not None
    assert any(isinstance(effect, NotifyFinished) for effect in report.divergence.expected)
    assert not any(isinstance(effect, NotifyFinished) for effect in report.divergence.actual)
    assert any(violation.invariant == "notify-once" for violation in report.violations)
    assert not report.ok


def test_a_v2_log_with_a_subscribe_frame_doubled_diverges_at_the_copy(
    tmp_path: Path, v2_log: Path
) -> None:
    """A `subscribe` written twice is one more frame than the reducer sends: the
    divergence names the copy, with the reducer's frames beside the log's."""
    items = _items(v2_log)
    index, subscribe = next(
        (i, item)
        for i, item in enumerate(items)
        if isinstance(item, Record)
        and isinstance(item.item, SendMessage)
        and isinstance(item.item.message, Subscribe)
    )
    items.insert(index + 1, subscribe)
    report = _replayed(tmp_path, items)
    divergence = report.divergence
    assert divergence is not None
    assert len(divergence.expected) == len(divergence.actual) + 1
    assert divergence.expected.count(subscribe.item) == 2
    assert "DIVERGENCE at record" in report.to_text()


def test_a_v2_agent_event_doubled_after_its_step_is_dropped_by_the_cursor(
    tmp_path: Path, v2_log: Path
) -> None:
    """The hub's replay of an event already seen (a numeric id not past the cursor) is
    dropped in replay as live: the doubled log replays clean, the transcript unchanged."""
    items = _items(v2_log)
    index = next(
        i
        for i, item in enumerate(items)
        if isinstance(item, Record)
        and isinstance(item.item, MessageReceived)
        and isinstance(item.item.message, MuxAgentEvent)
        and item.item.message.event.type == "stream_chunk"
    )
    following = items[index + 1]  # a chunk's step has no effects: the copy comes next
    assert isinstance(following, Record)
    assert not isinstance(following.item, SendMessage | NotifyFinished)
    items.insert(index + 1, items[index])
    report = _replayed(tmp_path, items)
    assert report.ok, report.to_text()
    assert report.state == replay(read_log(v2_log)).state


def test_the_replay_command_reports_the_protocol_of_the_log(
    v2_log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`gatewayops replay LOG` names the log's protocol in its report, text and JSON."""
    assert main(["replay", "--check", str(v2_log)]) == 0
    assert "recording of protocol v2" in capsys.readouterr().out
    assert main(["replay", "--json", str(v2_log)]) == 0
    assert json.loads(capsys.readouterr().out)["header"]["protocol"] == "v2"


def test_a_v2_recording_holds_no_token(v2_log: Path) -> None:
    """Neither the user token the socket URL carried nor any other JWT is in the log."""
    text = v2_log.read_text()
    assert "eyJ" not in text  # every JWT starts so (base64 of '{"')
    assert "token=" not in text
