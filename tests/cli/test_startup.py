"""Starting the command line: Ctrl-C while it imports, what `--help` imports, `-m`.

Each interruption is delivered at a chosen import, not after a chosen time: the child
installs an import hook that sends itself SIGINT when the named module is first looked
for, so the signal lands inside that import on every machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gatewayops import __version__
from gatewayops._words import plural
from gatewayops.cli._commands import COMMANDS, Command, command_of
from gatewayops.replay import Header, write_log

from .helpers import default_sigint

_INTERRUPTED_AT_IMPORT = """
import os, signal, sys

class InterruptAt:
    def find_spec(self, name, path=None, target=None):
        if name == sys.argv[1]:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, InterruptAt())
from gatewayops.cli import main
sys.exit(main(sys.argv[2:]))
"""

_MODULES_AFTER = """
import json, sys
from gatewayops.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
sys.stdout.flush()
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""

_COMMAND_MODULES = {f"gatewayops.cli.{command.module}" for command in COMMANDS}


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=default_sigint,
        check=False,
    )


@pytest.mark.parametrize(
    ("module", "argv", "line"),
    [
        ("gatewayops.cli._commands", ["--help"], "gatewayops: interrupted"),
        ("gatewayops.cli._endings", ["demo"], "gatewayops: interrupted"),
        ("argparse", ["--version"], "gatewayops: interrupted"),
        ("gatewayops.cli._demo", ["demo"], "gatewayops demo: interrupted"),
        ("trio", ["demo"], "gatewayops demo: interrupted"),
        ("trio_websocket", ["watch", "ws://127.0.0.1:9"], "gatewayops watch: interrupted"),
        ("gatewayops.replay", ["replay", "log.jsonl"], "gatewayops replay: interrupted"),
    ],
)
def test_ctrl_c_while_importing_is_one_line_and_exit_130(
    module: str, argv: list[str], line: str
) -> None:
    """SIGINT inside an import at start-up -- the command line's own, or the command's --
    ends with one line on stderr and exit 130, no traceback."""
    done = _run("-c", _INTERRUPTED_AT_IMPORT, module, *argv)
    assert (done.returncode, done.stdout, done.stderr) == (130, "", f"{line}\n")


@pytest.mark.parametrize("argv", [["--help"], ["--version"], []])
def test_help_and_version_import_no_command(argv: list[str]) -> None:
    """`gatewayops --help`, `--version` and a bare `gatewayops` import no subcommand module,
    no Trio, no store and no gateway: they are what a slow start would be felt on."""
    done = _run("-c", _MODULES_AFTER, *argv)
    loaded = set(json.loads(done.stderr.splitlines()[-1]))
    assert not loaded & _COMMAND_MODULES
    assert not {"trio", "gatewayops.store", "gatewayops.gateway", "attrs"} & loaded
    if argv == ["--version"]:
        assert done.stdout == f"gatewayops {__version__}\n"


@pytest.mark.parametrize("command", COMMANDS, ids=[command.name for command in COMMANDS])
def test_a_command_imports_only_its_own_module(command: Command) -> None:
    """`gatewayops COMMAND --help` imports that command's module and no other command's."""
    done = _run("-c", _MODULES_AFTER, command.name, "--help")
    loaded = set(json.loads(done.stderr.splitlines()[-1]))
    assert loaded & _COMMAND_MODULES == {f"gatewayops.cli.{command.module}"}
    assert f"usage: gatewayops {command.name}" in done.stdout


def test_the_top_level_help_lists_every_command() -> None:
    """`--help` still lists every subcommand with its summary, none of them imported."""
    done = _run("-m", "gatewayops", "--help")
    assert done.returncode == 0
    for command in COMMANDS:
        assert any(
            line.split()[:1] == [command.name] and command.summary.startswith(line.split()[1])
            for line in done.stdout.splitlines()
            if line.strip()
        ), command.name


def test_python_dash_m_runs_the_same_command_line(tmp_path: Path) -> None:
    """`python -m gatewayops` is `gatewayops`: its version, and a replay error's one line
    and exit code."""
    done = _run("-m", "gatewayops", "--version")
    assert (done.returncode, done.stdout) == (0, f"gatewayops {__version__}\n")
    empty = tmp_path / "empty.jsonl"
    write_log(empty, [Header(started_at="2026-01-01T00:00:00.000+00:00")])
    done = _run("-m", "gatewayops", "replay", str(empty))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"gatewayops replay: {empty}: no records after the header, nothing to replay\n"
    )


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        ([], None),
        (["--help"], None),
        (["demo"], "demo"),
        (["--version", "replay", "x"], "replay"),
        (["-h", "watch", "--operation", "demo"], "watch"),
        (["--", "serve"], "serve"),
        (["nonsense", "demo"], None),
    ],
)
def test_the_command_is_the_first_positional_argument(argv: list[str], command: str | None) -> None:
    """`command_of` finds the subcommand as argparse will: the first non-option argument."""
    assert command_of(argv) == command


@pytest.mark.parametrize(
    ("count", "expected"), [(0, "0 sockets"), (1, "1 socket"), (2, "2 sockets")]
)
def test_counts_take_the_noun_they_need(count: int, expected: str) -> None:
    """`plural` says "1 socket" and "0 sockets", "2 sockets"."""
    assert plural(count, "socket") == expected
