"""Every demo scenario's recording replays clean through `gatewayops replay`."""

from __future__ import annotations

from pathlib import Path

from gatewayops.cli import main


def test_every_demo_recording_replays_clean(tmp_path: Path) -> None:
    """`gatewayops demo --record DIR`, then `gatewayops replay --check` of each log: exit 0."""
    assert main(["demo", "--record", str(tmp_path), "--plain"]) == 0
    logs = sorted(tmp_path.glob("*.jsonl"))
    assert len(logs) >= 8
    for log in logs:
        assert main(["replay", str(log), "--check"]) == 0, log.name
