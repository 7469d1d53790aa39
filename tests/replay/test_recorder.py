"""The recorder as middleware: with open_client, filtered to one operation, and failing."""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

import pytest
import trio

from gatewayops.effects import open_client
from gatewayops.protocol import Auth, AuthSuccess, Resume
from gatewayops.replay import REDACTED, Recorder, open_recorder, parse_log, read_log, replay
from gatewayops.store import (
    GatewayState,
    OperationStarted,
    SocketOpened,
    Store,
    StoreConfig,
)
from gatewayops.transport import MemoryTransport

from .helpers import CONFIG, GATEWAY, SECRET, chunk, event, lines, record_objects, redacted


async def _refresh(topic_id: str) -> str:
    raise AssertionError("no refresh in this test")  # pragma: no cover


async def test_open_client_records_a_live_run_that_replays_exactly(tmp_path: Path) -> None:
    """A run over the in-memory transport, recorded via `recorder=`, replays to its state."""
    path = tmp_path / "live.jsonl"
    transport = MemoryTransport()
    with open_recorder(path) as recorder:
        async with open_client(
            refresh_token=_refresh, transport=transport, jitter=False, recorder=recorder
        ) as client:
            client.start(operation_id="op-1", topic_id="t-1", gateway_url=GATEWAY, token=SECRET)
            server = await transport.accept()
            assert await server.receive_message() == Auth(token=SECRET)
            server.send_message(AuthSuccess())
            assert isinstance(await server.receive_message(), Resume)
            server.send_message(chunk("op-1", "hello ", "1"))
            server.send_message(event("op-1", "agent_runtime_end", {}, "2"))
            await client.wait_finished("op-1")
            live = client.state
    assert recorder.error is None
    report = replay(read_log(path))
    assert report.ok, report.to_text()
    assert report.state == redacted(live)
    assert SECRET not in path.read_text()


def _started(op: str, topic: str) -> OperationStarted:
    return OperationStarted(operation_id=op, topic_id=topic, gateway_url=GATEWAY, token=SECRET)


def test_operation_filter_records_one_operation_that_replays_alone(tmp_path: Path) -> None:
    """With operation_id, only that operation's records are written; they replay cleanly."""
    path = tmp_path / "op-2.jsonl"
    config = StoreConfig(connect_timeout_ms=1_234)
    with open_recorder(path, operation_id="op-2") as recorder:
        store = Store(GatewayState(config=config), middleware=[recorder])
        for action in (
            _started("op-1", "t-1"),
            _started("op-2", "t-2"),
            SocketOpened(link_id="op-1", generation=1),
            SocketOpened(link_id="op-2", generation=1),
        ):
            store.dispatch(action)
    assert {obj["op"] for obj in record_objects(path)} == {"op-2"}
    report = replay(read_log(path))
    assert report.ok, report.to_text()
    assert report.header.operation == "op-2"
    assert report.header.config == config
    assert list(report.state.operations) == ["op-2"]
    assert report.state.operations["op-2"] == redacted(store.state).operations["op-2"]
    assert list(report.state.links) == ["op-2"]
    assert report.state.links["op-2"] == store.state.links["op-2"]


def test_a_recorder_that_saw_nothing_writes_a_header_that_replays_empty(tmp_path: Path) -> None:
    """Closing an unused recorder leaves a valid log with no records."""
    path = tmp_path / "empty.jsonl"
    with open_recorder(path):
        pass
    report = replay(read_log(path))
    assert report.ok
    assert report.records == 0


class _BrokenStream(io.StringIO):
    def write(self, text: str) -> int:
        if '"seq":' in text:
            raise OSError(28, "No space left on device")
        return super().write(text)


def test_a_write_failure_stops_recording_but_never_the_store(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Disk full: the error is logged once and kept; dispatch goes on; nothing more is written."""
    stream = _BrokenStream()
    recorder = Recorder(stream)
    store = Store(middleware=[recorder])
    with caplog.at_level(logging.ERROR, logger="gatewayops.replay"):
        store.dispatch(_started("op-1", "t-1"))
        store.dispatch(SocketOpened(link_id="op-1", generation=1))
    assert isinstance(recorder.error, OSError)
    assert [r.message for r in caplog.records] == [
        "recording stopped: OperationStarted could not be written"
    ]
    state = store.state
    assert state.link_of(state.operations["op-1"]).generation == 1
    assert recorder.records == 0
    assert stream.getvalue().count("\n") == 1  # the header only


def test_redacted_tokens_replay_to_redacted_frames() -> None:
    """A recorded token-bearing start replays into an auth frame carrying "<redacted>"."""
    stream = io.StringIO()
    recorder = Recorder(stream)
    store = Store(middleware=[recorder])
    store.dispatch(_started("op-1", "t-1"))
    store.dispatch(SocketOpened(link_id="op-1", generation=1))
    recorder.flush()
    assert f'"frame":{{"type":"auth","token":"{REDACTED}"}}' in stream.getvalue()
    assert replay(parse_log(stream.getvalue().splitlines(keepends=True))).ok


async def test_recording_keeps_up_with_a_burst_of_frames(tmp_path: Path) -> None:
    """500 frames in one burst are all recorded, in order, with the trio runtime."""
    path = tmp_path / "burst.jsonl"
    transport = MemoryTransport()
    with open_recorder(path, flush_every=64) as recorder:
        async with open_client(
            refresh_token=_refresh, transport=transport, jitter=False, recorder=recorder
        ) as client:
            client.start(operation_id="op-1", topic_id="t-1", gateway_url=GATEWAY, token=SECRET)
            server = await transport.accept()
            await server.receive_message()
            server.send_message(AuthSuccess())
            await server.receive_message()
            for index in range(1, 501):
                server.send_message(chunk("op-1", "x", str(index)))
            server.send_message(event("op-1", "agent_runtime_end", {}, "501"))
            with trio.fail_after(10):
                await client.wait_finished("op-1")
    report = replay(read_log(path))
    assert report.ok, report.to_text()
    assert report.state.operations["op-1"].transcript.events == 501


def test_each_dispatch_is_in_the_file_before_the_next_one(tmp_path: Path) -> None:
    """By default every dispatch is flushed: another reader sees its records at once."""
    path = tmp_path / "live.jsonl"
    with open_recorder(path, config=CONFIG) as recorder:
        assert len(lines(path)) == 1  # the header, before anything was dispatched
        store = Store(GatewayState(config=CONFIG), middleware=[recorder])
        store.dispatch(_started("op-1", "t-1"))
        assert len(lines(path)) == 2
        store.dispatch(SocketOpened(link_id="op-1", generation=1))  # and its auth frame
        assert len(lines(path)) == 4


def test_fsync_syncs_the_file_after_the_header_and_every_dispatch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With fsync=True the log's own file is fsynced once per flush, header included."""
    synced: list[int] = []
    monkeypatch.setattr(os, "fsync", synced.append)
    path = tmp_path / "synced.jsonl"
    with open_recorder(path, config=CONFIG, fsync=True) as recorder:
        store = Store(GatewayState(config=CONFIG), middleware=[recorder])
        store.dispatch(_started("op-1", "t-1"))
        store.dispatch(SocketOpened(link_id="op-1", generation=1))
        assert len(synced) == 3
        assert len(set(synced)) == 1  # the log's own descriptor
