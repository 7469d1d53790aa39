"""`gatewayops gui`: argument checks, the token from the environment, a clear line
without a display, Ctrl-C."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys

import pytest

from gatewayops.cli import main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["gui", "--url", "ws://127.0.0.1:8787", "--token", "t"], "--url needs --operation"),
        (
            ["gui", "--url", "ws://127.0.0.1:8787", "--operation", "op-1"],
            "no token: pass --token or set GATEWAYOPS_TOKEN",
        ),
        (
            ["gui", "--url", "ws://127.0.0.1:8787", "--operation", "op-1", "--token", " "],
            "no token: pass --token or set GATEWAYOPS_TOKEN",
        ),
        (["gui", "--token", "t"], "--token and --operation go with --url"),
        (["gui", "--delay", "-1"], "--delay must not be negative"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Inconsistent options are refused with one line on stderr and exit code 2."""
    monkeypatch.delenv("GATEWAYOPS_TOKEN", raising=False)
    assert main(argv) == 2
    assert capsys.readouterr().err == f"gatewayops gui: error: {message}\n"


def test_url_takes_the_token_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --url and no --token, GATEWAYOPS_TOKEN is the token, as for `watch`: the
    arguments pass and the command goes on to open its window (here: there is no display)."""
    monkeypatch.setenv("GATEWAYOPS_TOKEN", "from-env")
    monkeypatch.delenv("DISPLAY", raising=False)
    assert main(["gui", "--url", "ws://127.0.0.1:8787", "--operation", "op-1"]) == 1
    assert capsys.readouterr().err.startswith("gatewayops gui: cannot open a window:")


def test_no_display_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a display the window cannot open: one clear line, exit code 1."""
    monkeypatch.delenv("DISPLAY", raising=False)
    assert main(["gui"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("gatewayops gui: cannot open a window:")
    assert err.count("\n") == 1


def test_ctrl_c_closes_the_window_and_exits_130(x_display: str) -> None:
    """SIGINT to a running `gatewayops gui` ends the Trio run and exits 130, with one line."""
    if shutil.which("xdotool") is None:
        pytest.skip("xdotool is not installed")
    code = "from gatewayops.cli import main; raise SystemExit(main(['gui']))"
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        subprocess.run(  # waits (bounded) until the window is mapped: Tk's loop runs
            ["xdotool", "search", "--sync", "--onlyvisible", "--name", "chat composer"],
            check=True,
            capture_output=True,
            timeout=30,
        )
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
        process.wait()
    assert (process.returncode, out, err) == (130, "", "gatewayops gui: interrupted\n")
