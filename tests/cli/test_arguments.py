"""Bad arguments: one clear line on stderr, a non-zero exit, never a traceback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from gatewayops import __version__

from .helpers import run_main


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port something is already listening on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def _assert_one_line(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize(
    ("argv", "code", "needle"),
    [
        (["watch", "ftp://gw", "--operation", "op-1", "--token", "t"], 2, "ftp://gw"),
        (["watch", "gateway.example", "--operation", "op-1", "--token", "t"], 2, "ws://"),
        (["watch", "ws://127.0.0.1:9", "--operation", "op-1"], 2, "no token"),
        (["watch", "ws://127.0.0.1:9", "--operation", "op-1", "--token", " "], 2, "no token"),
        (["watch", "ws://127.0.0.1:9", "--token", "t"], 2, "--operation"),
        (["watch", "ws://127.0.0.1:9", "--operation", "", "--token", "t"], 2, "--operation"),
        (["watch", "ws://h", "--operation", "a", "--token", "t", "--timeout", "0"], 2, "--timeout"),
        (["watch", "ws://h", "--operation", "a", "--token", "t", "--new", "--attach"], 2, "--new"),
        (["watch", "ws://h", "--operation", "a", "--token", "t", "--fsync"], 2, "--fsync"),
        (["watch", "ws://", "--operation", "a", "--token", "t"], 2, "'ws://': no host"),
        (
            ["watch", "ws://h", "--operation", "a", "--token", "t", "--token-url", "ftp://x"],
            2,
            "--token-url",
        ),
        (["serve", "--token-port", "70000"], 2, "--token-port"),
        (["watch", "http://:80", "--operation", "a", "--token", "t"], 2, "no host"),
        (["gui", "--url", "ws://", "--operation", "a", "--token", "t"], 2, "'ws://': no host"),
        (["gui", "--url", "ws://h:70000", "--operation", "a", "--token", "t"], 2, "port from 1"),
        (["gui", "--url", "ftp://h:1", "--operation", "a", "--token", "t"], 2, "ftp://h:1"),
        (["watch", "ws://h:0", "--operation", "a", "--token", "t"], 2, "port from 1 to 65535"),
        (["watch", "ws://h:65536", "--operation", "a", "--token", "t"], 2, "port from 1"),
        (
            ["watch", "ws://h", "--operation", "a", "--token", "t", "--dial-attempts", "-1"],
            2,
            "--dial-attempts",
        ),
        (["watch", "ws://h", "a", "b", "--token", "t"], 2, "one operation per socket"),
        (["watch", "ws://h", "a", "a", "--protocol", "v2", "--token", "t"], 2, "named twice"),
        (
            ["watch", "ws://h", "a", "b", "--protocol", "v2", "--token", "t", "--topic", "x"],
            2,
            "--topic",
        ),
        (
            ["watch", "ws://h", "a", "--protocol", "v2", "--token", "t", "--record", "f"],
            2,
            "--record is protocol v1's",
        ),
        (["watch", "ws://h", "a", "--protocol", "v3", "--token", "t"], 2, "--protocol"),
        (["serve", "--host", "0.0.0.0"], 2, "loopback only"),
        (["serve", "--host", "example.com"], 2, "loopback only"),
        (["serve", "--port", "http"], 2, "--port"),
        (["serve", "--port", "70000"], 2, "--port"),
        (["serve", "--runs", "-1"], 2, "--runs"),
        (["demo", "--only", "no-such-scenario"], 2, "no-such-scenario"),
    ],
)
def test_bad_arguments_are_one_line(
    argv: list[str],
    code: int,
    needle: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each bad argument is reported as one line naming it, with a non-zero exit."""
    monkeypatch.delenv("GATEWAYOPS_TOKEN", raising=False)
    exit_code, out, err = run_main(argv, capsys)
    assert (exit_code, out) == (code, "")
    _assert_one_line(err, f"gatewayops {argv[0]}: error:", needle)


_FLOAT_OPTIONS = [
    ["serve", "--delay"],
    ["serve", "--every"],
    ["serve", "--token-ttl"],
    ["watch", "ws://127.0.0.1:9", "--operation", "op-1", "--token", "t", "--timeout"],
    ["gui", "--delay"],
]


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "Infinity", "1e999"])
@pytest.mark.parametrize("option", _FLOAT_OPTIONS, ids=lambda argv: f"{argv[0]} {argv[-1]}")
def test_non_finite_numbers_are_usage_errors(
    option: list[str], value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """NaN or an infinity for a float option is one line naming the option, exit 2."""
    *argv, flag = option
    exit_code, out, err = run_main([*argv, f"{flag}={value}"], capsys)
    assert (exit_code, out) == (2, "")
    _assert_one_line(err, f"gatewayops {argv[0]}: error:", f"argument {flag}:", "finite", value)


def test_port_in_use_is_one_line(busy_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    """Serving on a port that is taken exits 1 with one line saying so."""
    code, out, err = run_main(["serve", "--port", str(busy_port)], capsys)
    assert (code, out) == (1, "")
    _assert_one_line(err, f"127.0.0.1:{busy_port}", "in use")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """`--version` prints the package version and exits 0."""
    code, out, _ = run_main(["--version"], capsys)
    assert (code, out.strip()) == (0, f"gatewayops {__version__}")


def test_token_from_the_environment_is_accepted(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without `--token`, `GATEWAYOPS_TOKEN` is used (here: it gets past the token check)."""
    monkeypatch.setenv("GATEWAYOPS_TOKEN", "from-env")
    argv = ["watch", "ws://127.0.0.1:9", "--operation", "op-1", "--timeout", "0"]
    code, _, err = run_main(argv, capsys)
    assert code == 2
    _assert_one_line(err, "--timeout 0")


def test_unwritable_recording_paths_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A recording path that cannot be created is one line naming it, exit 1, before any run."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, out, err = run_main(["demo", "--record", str(blocker / "logs")], capsys)
    assert (code, out) == (1, "")
    _assert_one_line(err, str(blocker / "logs"), "not a directory")
    argv = ["watch", "ws://127.0.0.1:9", "--operation", "op-1", "--token", "t"]
    code, out, err = run_main([*argv, "--record", str(tmp_path / "missing" / "w.jsonl")], capsys)
    assert (code, out) == (1, "")
    _assert_one_line(err, "no such file or directory")
