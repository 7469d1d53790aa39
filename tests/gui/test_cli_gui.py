"""`gatewayops gui`: argument checks and a clear line when there is no display."""

from __future__ import annotations

import pytest

from gatewayops.cli import main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["gui", "--url", "ws://127.0.0.1:8787"], "--url needs --token and --operation"),
        (["gui", "--token", "t"], "--token and --operation go with --url"),
        (["gui", "--delay", "-1"], "--delay must not be negative"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Inconsistent options are refused with one line on stderr and exit code 2."""
    assert main(argv) == 2
    assert capsys.readouterr().err == f"gatewayops gui: error: {message}\n"


def test_no_display_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a display the window cannot open: one clear line, exit code 1."""
    monkeypatch.delenv("DISPLAY", raising=False)
    assert main(["gui"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("gatewayops gui: cannot open a window:")
    assert err.count("\n") == 1
