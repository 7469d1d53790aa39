"""`gatewayops demo`: every scenario side by side, judged, within its time budget."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gatewayops.cli._console import PLAIN_COLUMNS
from gatewayops.cli._scenarios import SCENARIOS, V2_SCENARIOS, Scenario

from .helpers import run_main


def _assert_every_scenario_passed(out: str, scenarios: tuple[Scenario, ...]) -> None:
    """Each of `scenarios` has its ``ok`` line, no run leaked, and the tally counts all."""
    for scenario in scenarios:
        assert any(
            line.startswith(scenario.name) and line.endswith(" ok") for line in out.splitlines()
        ), scenario.name
    assert "leaks after every run finished: none" in out
    assert f"{len(scenarios)} of {len(scenarios)} scenarios ended as expected" in out


def _assert_fits(out: str) -> None:
    """Every line of `out` fits an 80-column terminal."""
    too_wide = [line for line in out.splitlines() if len(line) > PLAIN_COLUMNS]
    assert not too_wide, too_wide


def test_demo_passes_every_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    """The full demo exits 0, shows each scenario's verdict and no leak, well under 30 s,
    in lines that fit 80 columns."""
    started = time.monotonic()
    code, out, err = run_main(["demo"], capsys)
    assert time.monotonic() - started < 30
    assert (code, err) == (0, "")
    _assert_every_scenario_passed(out, SCENARIOS)
    _assert_fits(out)


def test_plain_output_prints_state_changes_not_ansi(capsys: pytest.CaptureFixture[str]) -> None:
    """Off a terminal the board prints a header line naming its columns, then one
    timestamped line per change, no escape codes, each fitting 80 columns."""
    code, out, _ = run_main(["demo", "--only", "stop"], capsys)
    assert code == 0
    assert "\x1b[" not in out
    lines = out.splitlines()
    header = next(
        index for index, line in enumerate(lines) if line.split()[:2] == ["time", "scenario"]
    )
    assert lines[header].split() == ["time", "scenario", "socket", "input", "streamed", "outcome"]
    assert lines[header + 1].split()[1:3] == ["stop", "connecting"]
    assert sum(line.split()[:1] == ["time"] for line in lines) == 1
    _assert_fits(out)
    assert any(
        "stop" in line and "finished" in line and "Send" in line for line in out.splitlines()
    )
    assert any(
        "stop" in line and "connected" in line and "Stop" in line for line in out.splitlines()
    )


def test_misconfigured_scenario_fails_the_demo_and_is_named(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A scenario whose expectation cannot be met makes the demo exit 1 naming it, and the
    summary says why under the table."""
    code, out, err = run_main(
        ["demo", "--only", "clean", "--only", "network-drop", "--expect-wrong", "network-drop"],
        capsys,
    )
    assert code == 1
    assert err.strip() == "gatewayops demo: FAILED: network-drop"
    verdicts = {line.split()[0]: line for line in out.splitlines() if "completed/" in line}
    assert verdicts["clean"].endswith(" ok")
    assert verdicts["network-drop"].endswith(" FAILED")
    assert "network-drop: expected failed, got completed/agent_event" in out.splitlines()
    _assert_fits(out)


def test_one_scenario_is_counted_in_the_singular(capsys: pytest.CaptureFixture[str]) -> None:
    """With one scenario the demo says "1 scenario", not "1 scenarios"."""
    code, out, _ = run_main(["demo", "--only", "clean"], capsys)
    assert code == 0
    assert out.splitlines()[0].endswith("; 1 scenario")
    assert "1 of 1 scenario ended as expected in " in out
    assert "scenarios" not in out


def test_record_writes_one_redacted_log_per_operation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--record DIR` writes a JSON Lines recording per scenario, tokens redacted."""
    code, out, _ = run_main(["demo", "--only", "token-expiry", "--record", str(tmp_path)], capsys)
    assert code == 0
    log = tmp_path / "token-expiry.jsonl"
    assert [path.name for path in tmp_path.iterdir()] == [log.name]
    lines = log.read_text().splitlines()
    assert len(lines) > 10
    assert '"op":"op-token-expiry"' in lines[1]
    assert "eyJ" not in log.read_text()  # no JWT (they all start with eyJ)
    assert "<redacted>" in log.read_text()
    assert str(tmp_path) in out


def test_a_run_waiting_for_the_user_shows_answer_not_stop(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """While the agent's question waits for the user the board's button is "Answer";
    once answered it is "Stop" again, and "Send" at the end."""
    code, out, _ = run_main(["demo", "--only", "ask", "--plain"], capsys)
    assert code == 0
    buttons = [line.split()[3] for line in out.splitlines() if line.split()[1:2] == ["ask"]]
    waiting = buttons.index("Answer")
    assert "Stop" in buttons[:waiting]
    assert buttons[waiting + 1 :] == ["Stop", "Send"]
    _assert_fits(out)


def test_every_v1_scenario_runs_over_v2_before_v2s_own() -> None:
    """The v2 demo runs every v1 scenario, in the same order, then the cases only v2
    has, the fallback ones last (they get a client of their own)."""
    names = [scenario.name for scenario in V2_SCENARIOS]
    assert names[: len(SCENARIOS)] == [scenario.name for scenario in SCENARIOS]
    assert names[len(SCENARIOS) :] == ["one-socket", "4401-storm", "fallback", "fallback-also"]
    assert [scenario.falls_back for scenario in V2_SCENARIOS].count(True) == 2


def test_demo_over_v2_passes_every_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    """`--protocol v2` exits 0 with every scenario ok over one socket per client (the
    link drops, 4401 closes and a failing token service included), the fallback ones
    ending on v1, and no leak, within the time budget and 80 columns."""
    started = time.monotonic()
    code, out, err = run_main(["demo", "--protocol", "v2"], capsys)
    assert time.monotonic() - started < 30
    assert (code, err) == (0, "")
    assert out.splitlines()[1].startswith("over protocol v2: one socket carries every run")
    _assert_every_scenario_passed(out, V2_SCENARIOS)
    _assert_fits(out)


def test_a_v2_only_scenario_is_refused_over_v1(capsys: pytest.CaptureFixture[str]) -> None:
    """`--only one-socket` without `--protocol v2` is one line and exit 2, before any
    gateway starts."""
    code, out, err = run_main(["demo", "--only", "one-socket"], capsys)
    assert (code, out) == (2, "")
    assert err.strip() == "gatewayops demo: error: --only one-socket: runs over --protocol v2 only"


def test_a_v2_scenario_that_cannot_meet_its_ending_fails_the_demo(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Over v2 as over v1, a scenario given an ending it cannot reach makes the demo exit
    1 naming it (here the fallback one, on its own client)."""
    argv = ["demo", "--protocol", "v2", "--only", "fallback", "--expect-wrong", "fallback"]
    code, out, err = run_main(argv, capsys)
    assert code == 1
    assert err.strip() == "gatewayops demo: FAILED: fallback"
    assert "fallback: expected failed, got completed/agent_event" in out.splitlines()
