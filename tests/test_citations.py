"""Every citation of PROTOCOL.md or DESIGN.md names a section that exists.

The code, the tests and the docs cite the two specs by number: "PROTOCOL.md 1.4",
"PROTOCOL.md section 11", "PROTOCOL.md sections 1.2-1.4", "PROTOCOL.md 5, 11
(invariants 1-4, 10) and 12.2-12.3", "DESIGN.md section 3", and, without the file name,
"invariant 24" or "section 4.3". The specs are ``docs/PROTOCOL.md`` and
``docs/DESIGN.md``; their numbered headings are ``## N. Title`` for a section and
``### N.M Title`` for a subsection. The invariants of PROTOCOL.md section 11 are
headings too (``### 11.24 ...``), so "PROTOCOL.md 11.24" and "invariant 24" both name
heading 11.24.

How a citation is read (`scan`):

* It starts at ``PROTOCOL.md`` or ``DESIGN.md`` (optionally ``'s``), or, with no file
  name, at the word "invariant(s)" (always PROTOCOL.md section 11) or "section(s)" /
  "§" (a section of the spec the text is in, else of PROTOCOL.md: in this repository a
  numbered section is always one of the specs', so to point at a part of another page,
  name or link it instead of writing "section 5").
* Then a list: numbers (``5``, ``12.2``), ranges (``1-4``, ``1.2-1.4``, ``1.2 to
  1.5``), separated by commas, "and", "or" or "&", across at most one line break (a
  leading ``#``, ``//``, ``*`` or ``>`` of the next line is skipped). The words
  "section(s)" and "invariant(s)" switch how a plain number is read; a dotted number is
  always a (sub)section. A parenthesis after an item is read as part of the list when it
  starts with one of those words ("(invariants 1-4, 10)") or holds nothing but a list
  ("(12.5)"), and skipped otherwise ("(camelCase wire keys)", "(30 s)"). Anything else
  ends the list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import attrs
import pytest

ROOT = Path(__file__).resolve().parents[1]
SPECS = {
    "PROTOCOL.md": ROOT / "docs" / "spec" / "PROTOCOL.md",
    "DESIGN.md": ROOT / "docs" / "spec" / "DESIGN.md",
}
"""The file each spec name stands for."""
INVARIANT_SECTION = "11"
"""The PROTOCOL.md section whose numbered subsections are the invariants."""
MIN_CITATIONS = 150
"""How many citations the repository holds at least (raise it as more are added)."""
THIS_FILE = Path(__file__).resolve()
"""Not scanned: its docstrings and fixtures describe citation shapes, some missing."""

_CODE_DIRS = ("src", "tests", "benchmarks", "scripts")
_PAGES = ("README.md", "CHANGELOG.md")

_HEADING = re.compile(r"^(?P<level>#{2,6})[ \t]+(?P<number>\d+(?:\.\d+)*)\.?[ \t]+(?P<title>\S.*)$")
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})")
_ANCHOR = re.compile(r"(?<![\w/.-])(?P<doc>PROTOCOL|DESIGN)\.md(?:'s)?")
_BARE_INVARIANT = re.compile(r"(?i)\binvariants?(?=[ \t]+\d)")
_BARE_SECTION = re.compile(r"(?i)\b(?:sub)?sections?(?=[ \t]+\d)|§(?=[ \t]*\d)")
_KEYWORD = re.compile(r"(?i)(?P<word>(?:sub)?sections?|invariants?)(?=[ \t\n])|(?P<sign>§)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?(?![\d\w])(?!\.\d)")
_RANGE = re.compile(r"[ \t]*(?:-|\u2013|[ \t]to[ \t])[ \t]*")
_GAP = re.compile(r"[ \t]*(?:\r?\n[ \t]*(?:(?:#|//|\*|>)(?=[ \t]))?[ \t]*)?")
_CROSS_REFERENCE = re.compile(r"\((?=\d)")
_WORD_SEP = re.compile(r"(?:and|or|&)(?=[ \t\n])")
_LINK = re.compile(
    r"\]\((?:(?P<dir>[\w./-]*/)?(?P<file>PROTOCOL\.md|DESIGN\.md))?#(?P<slug>[^)\s]+)\)"
)


@attrs.frozen(kw_only=True)
class Citation:
    """One number a text cites: section or subsection `number` of the spec `doc`."""

    path: Path
    line: int
    offset: int
    """Where the number starts in the text (several for a range share it)."""
    doc: str
    """``"PROTOCOL.md"`` or ``"DESIGN.md"``."""
    number: str
    """``"1.4"``, ``"11"``, or for an invariant ``"11.24"``."""
    text: str
    """What the text says, as written (for the failure message)."""

    @property
    def where(self) -> str:
        """``src/gatewayops/store/_reducer.py:11``."""
        try:
            shown = self.path.relative_to(ROOT).as_posix()
        except ValueError:
            shown = str(self.path)
        return f"{shown}:{self.line}"


def numbered_headings(path: Path) -> dict[str, tuple[int, str]]:
    """The numbered headings of a Markdown file: number -> (level, title); fenced code
    blocks are skipped. Raises `ValueError` for a number used twice."""
    found: dict[str, tuple[int, str]] = {}
    fence: str | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        opening = _FENCE.match(line)
        if opening:
            marker = opening.group(1)
            if fence is None:
                fence = marker[0] * 3
            elif marker.startswith(fence):
                fence = None
            continue
        if fence is not None:
            continue
        heading = _HEADING.match(line)
        if heading is None:
            continue
        number = heading.group("number")
        if number in found:
            raise ValueError(f"{path.name}: heading {number} appears twice")
        found[number] = (len(heading.group("level")), heading.group("title"))
    return found


def _expand(first: str, last: str) -> list[str]:
    """The numbers of a range: ``1-4`` is 1, 2, 3, 4; ``1.2-1.4`` is 1.2, 1.3, 1.4; a
    range across sections (``2.5-3.1``) is its two ends."""
    if "." not in first and "." not in last:
        low, high = int(first), int(last)
        return [str(n) for n in range(low, high + 1)] if low <= high else [first, last]
    major, _, minor = first.partition(".")
    last_major, _, last_minor = last.partition(".")
    if major == last_major and minor and last_minor and int(minor) <= int(last_minor):
        return [f"{major}.{n}" for n in range(int(minor), int(last_minor) + 1)]
    return [first, last]


def _closing_paren(text: str, start: int) -> int | None:
    """The index of the ``)`` matching the ``(`` at `start`, if the text has one."""
    depth = 0
    for index in range(start, len(text)):
        if text[index] == "(":
            depth += 1
        elif text[index] == ")":
            depth -= 1
            if depth == 0:
                return index
    return None


def _skip_gap(text: str, pos: int) -> int:
    """Past the spaces (and at most one line break) at `pos`."""
    gap = _GAP.match(text, pos)
    assert gap is not None  # every part of the pattern is optional
    return gap.end()


def _read_list(text: str, pos: int, mode: str) -> tuple[list[tuple[int, str, str]], int]:
    """The numbers cited from `pos` on, as (offset, mode, number), and where the list
    ended (just after its last number or parenthesis, or `pos` if it has none). `mode`
    is ``"section"`` or ``"invariant"``; the keywords switch it."""
    cited: list[tuple[int, str, str]] = []
    ended = pos
    while True:
        pos = _skip_gap(text, pos)
        keyword = _KEYWORD.match(text, pos)
        if keyword:
            word = (keyword.group("word") or "section").lower()
            mode = "invariant" if word.startswith("invariant") else "section"
            pos = keyword.end()
            continue
        number = _NUMBER.match(text, pos)
        if number is None:
            return cited, ended
        first, pos = number.group(), number.end()
        numbers = [first]
        dash = _RANGE.match(text, pos)
        if dash:
            last = _NUMBER.match(text, dash.end())
            if last:
                numbers, pos = _expand(first, last.group()), last.end()
        item_mode = "section" if "." in first else mode
        cited.extend((number.start(), item_mode, n) for n in numbers)
        ended = pos
        pos = _skip_gap(text, pos)
        if text.startswith("(", pos):
            close = _closing_paren(text, pos)
            if close is None:
                return cited, ended
            inner = text[pos + 1 : close]
            start = len(inner) - len(inner.lstrip())
            found, stop = _read_list(inner, start, mode)
            # "(invariants 1-4, 10)" and "(12.5)" cite; "(30 s heartbeat)" does not.
            if _KEYWORD.match(inner, start) or stop == len(inner.rstrip()):
                cited.extend((pos + 1 + offset, m, n) for offset, m, n in found)
            ended = close + 1
            pos = _skip_gap(text, ended)
        if text.startswith(",", pos):
            pos = _skip_gap(text, pos + 1)
            word_sep = _WORD_SEP.match(text, pos)
            if word_sep:
                pos = word_sep.end()
            continue
        word_sep = _WORD_SEP.match(text, pos)
        if word_sep:
            pos = word_sep.end()
            continue
        return cited, ended


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _target(mode: str, number: str) -> str:
    """The heading number a cited number names (invariant N is heading 11.N)."""
    if mode == "invariant":
        return f"{INVARIANT_SECTION}.{number}"
    return number


def scan_text(
    path: Path, text: str, *, home: str = "PROTOCOL.md", cross_references: bool = False
) -> list[Citation]:
    """Every citation in `text`; a bare "section N" names a section of `home`. With
    `cross_references` (the text is a spec), a parenthesis holding only a list with a
    dotted number, "(4.3)" or "(12.4, invariant 25)", cites sections of `home` too."""
    seen: set[tuple[int, str]] = set()
    found: list[Citation] = []

    def add(start: int, end: int, doc: str, items: Iterable[tuple[int, str, str]]) -> None:
        written = " ".join(text[start:end].split())
        for offset, mode, number in items:
            if (offset, number) in seen:
                continue  # already read from the start of a longer citation
            seen.add((offset, number))
            citation_doc = "PROTOCOL.md" if mode == "invariant" else doc
            found.append(
                Citation(
                    path=path,
                    line=_line_of(text, offset),
                    offset=offset,
                    doc=citation_doc,
                    number=_target(mode, number),
                    text=written,
                )
            )

    for anchor in _ANCHOR.finditer(text):
        items, end = _read_list(text, anchor.end(), "section")
        add(anchor.start(), end, f"{anchor.group('doc')}.md", items)
    for bare in _BARE_INVARIANT.finditer(text):
        items, end = _read_list(text, bare.end(), "invariant")
        add(bare.start(), end, "PROTOCOL.md", items)
    for bare in _BARE_SECTION.finditer(text):
        items, end = _read_list(text, bare.end(), "section")
        add(bare.start(), end, home, items)
    if cross_references:
        for paren in _CROSS_REFERENCE.finditer(text):
            close = _closing_paren(text, paren.start())
            if close is None:
                continue
            inner = text[paren.end() : close]
            items, stop = _read_list(inner, 0, "section")
            if stop == len(inner.rstrip()) and any("." in n for _, _, n in items):
                shifted = [(paren.end() + offset, mode, n) for offset, mode, n in items]
                add(paren.start(), close + 1, home, shifted)
    return sorted(found, key=lambda c: c.offset)  # stable: a range keeps its order


def scanned_files() -> Iterator[tuple[Path, str]]:
    """Each file to scan, and which spec it is (``""`` for any other file)."""
    specs = {path.resolve(): name for name, path in SPECS.items()}
    for directory in _CODE_DIRS:
        for path in sorted((ROOT / directory).rglob("*.py")):
            if path.resolve() != THIS_FILE:
                yield path, ""
    for path in markdown_files():
        yield path, specs.get(path.resolve(), "")


def markdown_files() -> list[Path]:
    """The docs pages (the specs included), the README and the changelog."""
    pages = sorted((ROOT / "docs").rglob("*.md"))
    return pages + [ROOT / name for name in _PAGES if (ROOT / name).exists()]


def scan() -> list[Citation]:
    """Every citation in the repository's code, tests, docs, README and changelog."""
    found: list[Citation] = []
    for path, spec in scanned_files():
        text = path.read_text(encoding="utf-8")
        found.extend(scan_text(path, text, home=spec or "PROTOCOL.md", cross_references=bool(spec)))
    return found


def github_slug(title: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to
    hyphens."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def _headings_of_specs() -> dict[str, dict[str, tuple[int, str]]]:
    return {name: numbered_headings(path) for name, path in SPECS.items()}


def missing_sections(citations: Iterable[Citation]) -> list[str]:
    """One line per citation of a heading the spec lacks: where, what it says, what is
    missing."""
    headings = _headings_of_specs()
    return [
        f"{c.where}: {c.text!r} cites {c.doc} {c.number}, which {SPECS[c.doc].name} lacks"
        for c in citations
        if c.number not in headings[c.doc]
    ]


# --------------------------------------------------------------------------- the check


def test_every_citation_names_an_existing_section() -> None:
    """Every "PROTOCOL.md N.M" / "DESIGN.md section N" / "invariant N" citation in src/,
    tests/, benchmarks/, scripts/, docs/, README.md and CHANGELOG.md names a numbered
    heading of docs/PROTOCOL.md or docs/DESIGN.md (an invariant N: heading 11.N)."""
    missing = missing_sections(scan())
    assert not missing, "citations of missing sections:\n" + "\n".join(missing)


def test_the_scanner_finds_citations() -> None:
    """The scan cannot silently match nothing: it finds at least `MIN_CITATIONS`
    citations, of both specs, of invariants, and the ones known to be in the code
    (including one split over two lines and one inside a parenthesis)."""
    citations = scan()
    assert len(citations) >= MIN_CITATIONS, f"only {len(citations)} citations found"
    by_place = {(c.where.rsplit(":", 1)[0], c.doc, c.number) for c in citations}
    expected = {
        ("src/gatewayops/store/_reducer.py", "PROTOCOL.md", "11.24"),
        ("src/gatewayops/effects/__init__.py", "DESIGN.md", "3"),
        ("src/gatewayops/protocol/__init__.py", "PROTOCOL.md", "1.3"),  # "1.2-1.4"
        ("tests/runtime/test_auth.py", "PROTOCOL.md", "11.10"),  # "(invariants 1-4, 10)"
        ("tests/store/test_selectors_store.py", "PROTOCOL.md", "11.22"),  # next line
        ("tests/store/test_selectors_store.py", "DESIGN.md", "2"),
        ("src/gatewayops/effects/_handlers.py", "PROTOCOL.md", "11.21"),  # bare invariant
        ("tests/store/test_echo_guard.py", "PROTOCOL.md", "4.3"),
    }
    assert expected <= by_place, f"not found: {sorted(expected - by_place)}"
    assert {c.doc for c in citations} == set(SPECS)


# --------------------------------------------------------------------------- the specs


def test_spec_headings_are_numbered_in_order() -> None:
    """In each spec the numbered headings are unique (`numbered_headings` raises
    otherwise), sections are level 2 and subsections level 3, every subsection N.M sits
    under its section N, and numbers increase down the page; so section 11's invariants
    run 11.1, 11.2, ... with none skipped."""
    for name, path in SPECS.items():
        headings = numbered_headings(path)
        assert headings, f"{name} has no numbered headings"
        previous: tuple[int, ...] = ()
        for number, (level, title) in headings.items():
            parts = tuple(int(p) for p in number.split("."))
            assert level == len(parts) + 1, f"{name} {number} {title!r}: level {level}"
            if len(parts) == 2:
                assert str(parts[0]) in headings, f"{name} {number}: no section {parts[0]}"
                if previous[:1] == parts[:1] and len(previous) == 2:
                    assert parts[1] == previous[1] + 1, f"{name}: {number} after {previous}"
                else:
                    assert parts[1] == 1, f"{name}: {number} is the first of its section"
            assert parts > previous, f"{name}: {number} after {'.'.join(map(str, previous))}"
            previous = parts
    invariants = [n for n in numbered_headings(SPECS["PROTOCOL.md"]) if n.startswith("11.")]
    assert invariants == [f"11.{n}" for n in range(1, len(invariants) + 1)]
    assert len(invariants) >= 25


def test_links_to_spec_headings_resolve() -> None:
    """Every Markdown link to a heading of a spec (``](#slug)`` inside it, or
    ``](PROTOCOL.md#slug)`` / ``](docs/DESIGN.md#slug)`` from any page) names a heading
    that GitHub renders with that anchor."""
    broken: list[str] = []
    slugs: dict[str, set[str]] = {}
    for name, path in SPECS.items():
        titles = re.findall(r"^#{1,6}[ \t]+(.+?)[ \t]*$", path.read_text(encoding="utf-8"), re.M)
        slugs[name] = {github_slug(title) for title in titles}
    specs = {path.resolve(): name for name, path in SPECS.items()}
    for path in markdown_files():
        text = path.read_text(encoding="utf-8")
        for link in _LINK.finditer(text):
            target = link.group("file") or specs.get(path.resolve())
            if target is not None and link.group("slug") not in slugs[target]:
                where = f"{path.relative_to(ROOT).as_posix()}:{_line_of(text, link.start())}"
                broken.append(f"{where}: {link.group()}")
    assert not broken, "links to missing headings:\n" + "\n".join(broken)


# --------------------------------------------------------------------------- the reader


def _cited(text: str, *, home: str = "PROTOCOL.md") -> list[str]:
    found = scan_text(Path("fixture.py"), text, home=home)
    return [f"{c.doc} {c.number}" for c in found]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(PROTOCOL.md 1.4).", ["PROTOCOL.md 1.4"]),
        ("PROTOCOL.md section 11's invariants", ["PROTOCOL.md 11"]),
        ("PROTOCOL.md 11.24: if", ["PROTOCOL.md 11.24"]),
        ("see PROTOCOL.md sections 1.2-1.4 for", [f"PROTOCOL.md 1.{n}" for n in (2, 3, 4)]),
        ("PROTOCOL.md sections 1.2 to 1.3.", ["PROTOCOL.md 1.2", "PROTOCOL.md 1.3"]),
        ("PROTOCOL.md 1-2)", ["PROTOCOL.md 1", "PROTOCOL.md 2"]),
        (
            "PROTOCOL.md 5, 11 (invariants 1-2, 10) and 12.2-12.3.",
            [
                *("PROTOCOL.md 5", "PROTOCOL.md 11"),
                *("PROTOCOL.md 11.1", "PROTOCOL.md 11.2", "PROTOCOL.md 11.10"),
                *("PROTOCOL.md 12.2", "PROTOCOL.md 12.3"),
            ],
        ),
        (
            "PROTOCOL.md 1.4 and 6.1 (camelCase wire keys) so",
            ["PROTOCOL.md 1.4", "PROTOCOL.md 6.1"],
        ),
        (
            "PROTOCOL.md 2.1 (emitter rules) and\ninvariant 22; DESIGN.md 2 (selectors)",
            ["PROTOCOL.md 2.1", "PROTOCOL.md 11.22", "DESIGN.md 2"],
        ),
        ("# see (PROTOCOL.md\n# 1.1) here", ["PROTOCOL.md 1.1"]),
        (
            "PROTOCOL.md 6.1, invariant 14, and 12.5 (results",
            ["PROTOCOL.md 6.1", "PROTOCOL.md 11.14", "PROTOCOL.md 12.5"],
        ),
        ("PROTOCOL.md 3.2, #15919", ["PROTOCOL.md 3.2"]),
        (
            "PROTOCOL.md 2.1 (30 s heartbeat) and 2.3 (2.4, 2.5)",
            [f"PROTOCOL.md 2.{n}" for n in (1, 3, 4, 5)],
        ),
        ("| name | PROTOCOL.md 11 | rule |", ["PROTOCOL.md 11"]),
        ("DESIGN.md section 3; PROTOCOL.md 11", ["DESIGN.md 3", "PROTOCOL.md 11"]),
        ("DESIGN.md's generations (stale", []),
        ("the project's `PROTOCOL.md`; the design", []),
        ("docs/protocol.md 1.4 and protocol.md#invariants", []),
        ("(invariants 12 and 21).", ["PROTOCOL.md 11.12", "PROTOCOL.md 11.21"]),
        ("Invariant 1: one", ["PROTOCOL.md 11.1"]),
        ("the test list of section 4.3.", ["PROTOCOL.md 4.3"]),
        ("PROTOCOL.md section 2\n\n3 paragraphs later", ["PROTOCOL.md 2"]),
        ("PROTOCOL.md 1.4.2 is not a heading", []),
        (
            "[PROTOCOL.md](PROTOCOL.md) (sections 1.2 to 1.3 for messages, section 11 for",
            ["PROTOCOL.md 1.2", "PROTOCOL.md 1.3", "PROTOCOL.md 11"],
        ),
    ],
)
def test_reader_understands_each_citation_shape(text: str, expected: list[str]) -> None:
    """`scan_text` reads each citation shape found in the repository into the sections it
    names, in order, and nothing from text that only mentions a spec (ranges expanded,
    parenthesised invariants read, other parentheses, issue numbers and line ends after
    a blank line ignored)."""
    assert _cited(text) == expected


def test_bare_section_names_the_home_spec() -> None:
    """A bare "section N" names a section of the spec it is written in, else of
    PROTOCOL.md; "PROTOCOL.md section N" inside DESIGN.md keeps naming PROTOCOL.md, and
    "DESIGN.md section N" anywhere names DESIGN.md."""
    text = "see section 3 and PROTOCOL.md section 11"
    assert _cited(text, home="DESIGN.md") == ["DESIGN.md 3", "PROTOCOL.md 11"]
    assert _cited(text) == ["PROTOCOL.md 3", "PROTOCOL.md 11"]
    assert _cited("DESIGN.md section 4 (the codec)") == ["DESIGN.md 4"]


def test_spec_cross_references_are_read() -> None:
    """Inside a spec, a parenthesis holding only section numbers ("(4.3)", "(12.2, 12.3
    and 12.9)", "(12.4, invariant 25)") cites sections of that spec; one holding other
    text or no dotted number ("(30 s)", "(2)") cites nothing."""
    text = "see (4.3); (12.2, 12.3 and 12.9); (12.4, invariant 25); (30 s); (2); (0 when)"
    found = scan_text(Path("x.md"), text, home="DESIGN.md", cross_references=True)
    assert [f"{c.doc} {c.number}" for c in found] == [
        "DESIGN.md 4.3",
        *("DESIGN.md 12.2", "DESIGN.md 12.3", "DESIGN.md 12.9"),
        *("DESIGN.md 12.4", "PROTOCOL.md 11.25"),
    ]
    outside = scan_text(Path("x.md"), text)  # not a spec: only the invariant is read
    assert [f"{c.doc} {c.number}" for c in outside] == ["PROTOCOL.md 11.25"]


def test_a_missing_section_is_reported_with_its_place() -> None:
    """A citation of a section that does not exist is reported with file:line, what the
    text says, and the section that is missing."""
    path = ROOT / "src" / "example.py"
    text = '"""Docstring.\n\nSee PRO' + 'TOCOL.md 11.99 and DESIGN.md 2."""\n'
    assert missing_sections(scan_text(path, text)) == [
        "src/example.py:3: 'PRO"
        + "TOCOL.md 11.99' cites PROTOCOL.md 11.99, which PROTOCOL.md lacks"
    ]
