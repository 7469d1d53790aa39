"""The command line freezes what start-up made out of later garbage collections when it
runs as the program, and leaves a host's GC alone when called with its own argv."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

import gatewayops
import gatewayops.cli
from gatewayops.replay import Header, write_log


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """Whatever a test freezes is unfrozen afterwards (the test process goes on)."""
    yield
    gc.unfreeze()


def test_freeze_startup_objects_moves_what_is_alive_out_of_collections(unfrozen: None) -> None:
    """Every object alive at the call is frozen; the count is `gc.get_freeze_count()`."""
    alive: object = type("Alive", (), {})()
    frozen = gatewayops.freeze_startup_objects()
    assert frozen == gc.get_freeze_count() > 0
    assert alive not in gc.get_objects()  # frozen objects are in no generation


def _calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []

    def freeze() -> int:
        calls.append(1)
        return 0

    monkeypatch.setattr(gatewayops.cli, "freeze_startup_objects", freeze)
    return calls


def _empty_log(tmp_path: Path) -> str:
    path = tmp_path / "empty.jsonl"
    write_log(path, [Header(started_at="2026-12-02T00:00:00.000+00:00")])
    return str(path)


def test_the_program_freezes_once_before_its_command_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`main()` reading ``sys.argv`` (the program itself) freezes start-up once."""
    calls = _calls(monkeypatch)
    monkeypatch.setattr("sys.argv", ["gatewayops", "replay", _empty_log(tmp_path)])
    gatewayops.cli.main()
    assert calls == [1]


def test_a_host_calling_main_with_its_argv_keeps_its_gc(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`main(argv)` called by a host (or a test) does not touch the host's GC."""
    calls = _calls(monkeypatch)
    gatewayops.cli.main(["replay", _empty_log(tmp_path)])
    assert calls == []
