"""Every code block the docs call runnable runs, against the current API.

A fenced block whose info string is exactly ``python runnable`` (in ``docs/**/*.md`` or
``README.md``) is *runnable*; plain ``python`` blocks are fragments and are not run.
Each runnable block is one test, named ``file:line`` (the line of its opening fence).
The convention, also described in docs/testing.md ("Runnable examples in the docs"):

* the block is compiled and executed with `exec`, top to bottom, in a fresh module of
  its own (no subprocess), so it must be complete: its own imports, no names from
  other blocks;
* if it defines ``async def main()`` and no top-level statement after it mentions
  ``main``, the test runs ``trio.run(main)``; a block that runs itself
  (``trio.run(main)``, ``asyncio.run(main())``) is left to do so;
* every ``trio.run`` a block makes (its own or the test's) runs on a virtual clock,
  ``trio.testing.MockClock(autojump_threshold=0)``, unless the block passes a clock of
  its own, and under a one-hour virtual deadline; so sleeps, the scripted gateway's
  delays and protocol timers cost no real time, and a block that would wait for ever
  fails instead;
* a block may open sockets only to loopback (the embedded reference gateway listens on
  127.0.0.1); any other address, or a DNS lookup of another host, fails the test;
* a block must not log at ERROR or above.
"""

from __future__ import annotations

import ast
import inspect
import logging
import re
import sys
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
import trio.testing

ROOT = Path(__file__).resolve().parents[1]
SOURCES = (*sorted((ROOT / "docs").rglob("*.md")), ROOT / "README.md")
MARKER = "python runnable"
MIN_RUNNABLE = 20
"""How many runnable blocks the docs hold at least (raise it when you mark more)."""
VIRTUAL_DEADLINE = 3600.0
"""Virtual seconds a block's Trio run may take before it counts as stuck."""
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")


@attrs.frozen(kw_only=True)
class Block:
    """One fenced code block of a Markdown file."""

    path: Path
    line: int
    """The 1-based line of the opening fence."""
    info: str
    code: str

    @property
    def id(self) -> str:
        """``docs/tutorial.md:14``: where the block starts."""
        return f"{self.path.relative_to(ROOT).as_posix()}:{self.line}"

    @property
    def runnable(self) -> bool:
        """Whether the block is marked runnable (its info string is exactly the marker)."""
        return self.info == MARKER


def fenced_blocks(path: Path) -> list[Block]:
    """Every fenced block of the Markdown file at `path`, indented ones included (their
    indentation, that of the opening fence, is removed from each line)."""
    found: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        body: list[str] = []
        end = index + 1
        while end < len(lines):
            text = lines[end]
            closing = text.strip()
            if set(closing) == {fence[0]} and len(closing) >= len(fence):
                break  # a run of the fence's character, at least as long: the end
            body.append(text[indent:] if text[:indent].strip() == "" else text.lstrip())
            end += 1
        found.append(
            Block(path=path, line=index + 1, info=opening["info"].strip(), code="\n".join(body))
        )
        index = end + 1
    return found


def all_blocks() -> list[Block]:
    """The fenced blocks of every documentation source, in file order."""
    return [block for path in SOURCES for block in fenced_blocks(path)]


RUNNABLE = [block for block in all_blocks() if block.runnable]


def runs_main_itself(tree: ast.Module) -> bool:
    """Whether a top-level statement other than main's own definition names `main`."""
    for statement in tree.body:
        if isinstance(statement, ast.AsyncFunctionDef | ast.FunctionDef) and (
            statement.name == "main"
        ):
            continue
        if any(isinstance(node, ast.Name) and node.id == "main" for node in ast.walk(statement)):
            return True
    return False


# --------------------------------------------------------------------------- guards

_guard_active = False


def _host_of(address: object) -> str | None:
    if isinstance(address, tuple) and address and isinstance(address[0], str):
        return address[0]
    return None  # a Unix socket path, or an address family without a host


def _loopback_only(event: str, args: tuple[Any, ...]) -> None:
    if not _guard_active:
        return
    if event == "socket.connect":
        host = _host_of(args[1])
    elif event == "socket.getaddrinfo":
        host = args[0].decode() if isinstance(args[0], bytes) else args[0]
    else:
        return
    if host is not None and host not in LOOPBACK:
        raise PermissionError(f"a runnable doc block may reach loopback only, not {host!r}")


_hook_installed = False


@contextmanager
def loopback_only() -> Iterator[None]:
    """While inside, connecting or resolving anything but loopback raises."""
    global _guard_active, _hook_installed
    if not _hook_installed:  # an audit hook cannot be removed: install it once, when needed
        sys.addaudithook(_loopback_only)
        _hook_installed = True
    _guard_active = True
    try:
        yield
    finally:
        _guard_active = False


def virtual_trio_run(real_run: Callable[..., Any]) -> Callable[..., Any]:
    """`trio.run` on a virtual (autojump) clock unless given one, under a deadline."""

    def run(async_fn: Callable[..., Any], *args: object, **options: Any) -> Any:
        options.setdefault("clock", trio.testing.MockClock(autojump_threshold=0))

        async def bounded() -> Any:
            with trio.fail_after(VIRTUAL_DEADLINE):
                return await async_fn(*args)

        return real_run(bounded, **options)

    return run


def execute(block: Block, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run `block` as the module docstring says."""
    source = "\n" * block.line + block.code + "\n"  # tracebacks name the doc's own lines
    tree = ast.parse(source, filename=str(block.path))
    code = compile(tree, str(block.path), "exec")
    name = "docs_block_" + re.sub(r"\W", "_", block.id)
    module = types.ModuleType(name)
    module.__file__ = str(block.path)
    monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(trio, "run", virtual_trio_run(trio.run))
    with loopback_only():
        exec(code, module.__dict__)
        main = module.__dict__.get("main")
        if inspect.iscoroutinefunction(main) and not runs_main_itself(tree):
            trio.run(main)


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("block", RUNNABLE, ids=[block.id for block in RUNNABLE])
def test_runnable_block_runs(
    block: Block, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The block runs to its end against the current API (its own asserts hold), on a
    virtual clock, reaching nothing but loopback, and logs no error."""
    caplog.set_level(logging.WARNING)
    execute(block, monkeypatch)
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert not errors, f"{block.id} logged: {[record.getMessage() for record in errors]}"


def test_enough_blocks_are_marked_runnable() -> None:
    """The marker cannot silently vanish: at least `MIN_RUNNABLE` blocks carry it."""
    assert len(RUNNABLE) >= MIN_RUNNABLE, [block.id for block in RUNNABLE]


def test_every_runnable_marker_is_spelled_exactly() -> None:
    """A block whose info string mentions ``runnable`` carries exactly the marker, so a
    misspelt one (``python  runnable``, ``runnable``, ``py runnable``) is not skipped
    without a word."""
    near_misses = [
        f"{block.id}: {block.info!r}"
        for block in all_blocks()
        if "runnable" in block.info and not block.runnable
    ]
    assert near_misses == []


def test_runnable_blocks_are_python() -> None:
    """Every runnable block parses as Python (a syntax error is reported at its line)."""
    for block in RUNNABLE:
        ast.parse(block.code, filename=block.id)


def test_the_collector_reads_fences_as_markdown_does(tmp_path: Path) -> None:
    """Fences inside a longer fence, indented fences and tildes are read as Markdown
    reads them; only the exact marker makes a block runnable."""
    page = tmp_path / "page.md"
    page.write_text(
        "text\n"
        "````markdown\n"
        "```python runnable\n"
        "not a block of its own\n"
        "```\n"
        "````\n"
        "- item\n"
        "\n"
        "  ```python runnable\n"
        "  x = 1\n"
        "  ```\n"
        "~~~python\n"
        "y = 2\n"
        "~~~\n",
        encoding="utf-8",
    )
    found = [(block.line, block.info, block.code) for block in fenced_blocks(page)]
    assert found == [
        (2, "markdown", "```python runnable\nnot a block of its own\n```"),
        (9, MARKER, "x = 1"),
        (12, "python", "y = 2"),
    ]


def test_a_block_that_runs_itself_is_not_run_twice() -> None:
    """`main` is run by the test only when the block does not mention it after defining it."""
    assert runs_main_itself(ast.parse("async def main(): ...\ntrio.run(main)"))
    assert runs_main_itself(ast.parse("async def main(): ...\nasyncio.run(main())"))
    assert not runs_main_itself(ast.parse("async def main(): ...\nx = 1"))


def test_a_block_cannot_reach_beyond_loopback() -> None:
    """The loopback guard refuses a DNS lookup of another host, and allows loopback."""
    import socket

    with loopback_only():
        with pytest.raises(PermissionError):
            socket.getaddrinfo("example.com", 443)
        assert socket.getaddrinfo("127.0.0.1", 9)
