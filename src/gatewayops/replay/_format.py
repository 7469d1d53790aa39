"""The recording format: JSON Lines, a header line, then one record per line.

Owns: `Header`, `Record` and `LogWarning` (what a log is made of), the text of a header
or record line, and reading a log as a stream (`parse_log`, `read_log`): one line at a
time, so memory does not grow with the log. A truncated last line (a crash mid-write)
is a `LogWarning`, not an error; anything else malformed is a `ReplayFormatError`
naming the line, and so is a line over the limits of `_safety` (too long, nested too
deeply), wherever it is; a line too long is refused without being read whole. Such a
record is never written either. Must not know: the reducer, or what replaying means
(`_replayer`). See ``docs/replay.md`` for the format.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple, TypeAlias

import attrs

from gatewayops._secrets import redact_secrets
from gatewayops._version import __version__
from gatewayops.exceptions import ReplayFormatError
from gatewayops.protocol import decode_json, encode_json
from gatewayops.replay._codec import decode_item, encode_item
from gatewayops.replay._places import PLACES, Direction, Item, Kind, item_subject
from gatewayops.replay._safety import (
    MAX_LINE_LENGTH,
    SHORT_LINE,
    line_problem,
    redact_json,
    shown,
)
from gatewayops.store import Protocol, StoreConfig

__all__ = [
    "FORMAT",
    "REDACTIONS",
    "VERSION",
    "Header",
    "LogItem",
    "LogWarning",
    "Record",
    "ReplayFormatError",
    "header_line",
    "parse_log",
    "read_log",
    "record_line",
    "write_log",
]

FORMAT = "gatewayops-replay"
VERSION = 2
"""2: transport records name their link (v1: the operation's own id), timers their owner."""
REDACTIONS = ("token", "auth.token")
"""Fields whose values a recording replaces by ``"<redacted>"`` (whatever they hold; any
other string is redacted where it looks like a token, see `record_line`)."""

_SOURCES = ("recorder", "har")
_NEW_RECORD = tuple.__new__


_RECORD_KEYS = frozenset({"seq", "t", "dir", "kind", "op", "payload"})
_RECORD_KEY_COUNT = len(_RECORD_KEYS)
_PLACE_TEXT = {cls: (direction.value, kind.value) for cls, (direction, kind) in PLACES.items()}


@attrs.frozen(kw_only=True)
class Header:
    """The first line of a log: what recorded it, when, and the store's settings.

    Attributes:
        config: the `StoreConfig` of the recorded store (replay starts from it, so a
            v2 log is replayed over a v2 link: see `protocol`).
        started_at: ISO 8601 time of the first record (``t`` counts from it).
        library: the gatewayops version that wrote the log.
        operation: the one operation recorded, or None for all of them.
        redactions: fields whose values were replaced by ``"<redacted>"``.
        source: ``"recorder"``, or ``"har"`` for a log imported from a browser HAR,
            whose outbound records are the browser's frames, not reducer effects.
    """

    config: StoreConfig = StoreConfig()
    started_at: str
    library: str = __version__
    operation: str | None = None
    redactions: tuple[str, ...] = REDACTIONS
    source: str = "recorder"

    @property
    def protocol(self) -> Protocol:
        """The protocol the log holds: its `config`'s (``"protocol"`` in the header's
        ``config``); a log recorded before protocol v2 has none there and holds v1."""
        return self.config.protocol


class Record(NamedTuple):
    """One line after the header: an action the reducer saw, or an effect it produced.

    A named tuple rather than an attrs class: one is built per line of a log.

    Attributes:
        seq: the record number (1 for the first record after the header).
        t: seconds since `Header.started_at`.
        op: the operation the item is about.
        item: the action (inbound records) or effect (outbound records).
        line: where the record was read from (None for records not read from a file).
    """

    seq: int
    t: float
    op: str
    item: Item
    line: int | None = None

    @property
    def direction(self) -> Direction:
        """``in`` or ``local`` for an action, ``out`` for an effect."""
        return PLACES[type(self.item)][0]

    @property
    def kind(self) -> Kind:
        """What the item is (frame, socket, app, timer, effect_result, effect)."""
        return PLACES[type(self.item)][1]

    @property
    def where(self) -> str:
        """``record N (line L)``, for messages."""
        return f"record {self.seq}" + ("" if self.line is None else f" (line {self.line})")


@attrs.frozen(kw_only=True)
class LogWarning:
    """Something odd but not fatal found while reading.

    Attributes:
        message: what, naming the line or entry.
        line: the log line concerned, if any.
        entry: the HAR entry concerned, if any.
        truncated: the log's last line was cut short (a crash mid-write), so the
            effects of its last action may be missing from the log.
    """

    message: str
    line: int | None = None
    entry: int | None = None
    truncated: bool = False


LogItem: TypeAlias = Header | Record | LogWarning
"""What a log stream yields: one `Header` first, then records (and any warnings)."""

# --------------------------------------------------------------------------- writing


def header_line(header: Header) -> str:
    """The header as one JSON line (with its newline)."""
    obj: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "library": header.library,
        "started_at": header.started_at,
        "config": attrs.asdict(header.config),
        "redactions": list(header.redactions),
        "operation": header.operation,
    }
    if header.source != "recorder":
        obj["source"] = header.source
    return encode_json(obj) + "\n"


def record_line(seq: int, t: float, item: Item) -> str:
    """One record as a JSON line (with its newline), with every secret redacted: the
    token fields by name (`encode_item`), and any other string shaped like a token (an
    `auth_failed` reason that echoes one, a URL's ``token=``) by `redact_secrets`.

    Raises:
        TypeError, ValueError: the item holds a value JSON cannot represent, or one
            that makes the line longer or more deeply nested than a log may hold.
        RecursionError: a value nested too deeply for the encoder itself.
    """
    direction, kind = PLACES[type(item)]
    obj = {
        "seq": seq,
        "t": round(t, 6),
        "dir": direction.value,
        "kind": kind.value,
        "op": item_subject(item),
        "payload": encode_item(item),
    }
    text = encode_json(obj)
    problem = line_problem(len(text), text)
    if problem is None and redact_secrets(text) != text:
        # Rare. Redact the values, not the text, so that the JSON stays JSON.
        text = encode_json(redact_json(obj))
        problem = line_problem(len(text), text)
    if problem is not None:
        raise ValueError(f"record {seq}: {problem}")
    return text + "\n"


def write_log(path: str | os.PathLike[str], items: Iterable[LogItem]) -> int:
    """Write a header and records to `path` (warnings are skipped); the record count.

    Records are written with their own `seq`, so a log read back names the same ones.

    Raises:
        ReplayFormatError: `items` does not start with a `Header`.
        OSError: the file cannot be written.
    """
    count = 0
    with open(path, "w", encoding="utf-8") as file:
        for item in items:
            if isinstance(item, Header):
                if count or file.tell():
                    raise ReplayFormatError("a log has exactly one header, first")
                file.write(header_line(item))
            elif isinstance(item, Record):
                if not file.tell():
                    raise ReplayFormatError("a log starts with its header")
                file.write(record_line(item.seq, item.t, item.item))
                count += 1
    return count


# --------------------------------------------------------------------------- reading


def _field(obj: dict[str, Any], key: str, kind: type[Any], line: int, what: str) -> Any:
    value = obj.get(key)
    if type(value) is not kind and not (kind is float and type(value) is int):
        raise ReplayFormatError(
            f"line {line}: {what}.{key}: expected {kind.__name__}, got {shown(value)}", line=line
        )
    return value


def _parse_header(text: str) -> Header:
    try:
        obj = json.loads(text)
    except ValueError as error:
        raise ReplayFormatError(f"line 1: the header is not JSON ({error})", line=1) from None
    if type(obj) is not dict or obj.get("format") != FORMAT:
        raise ReplayFormatError(
            f'line 1: not a gatewayops replay log (expected a header with "format": "{FORMAT}")',
            line=1,
        )
    if obj.get("version") != VERSION:
        raise ReplayFormatError(
            f"line 1: unsupported log version {shown(obj.get('version'))} "
            f"(this reader reads {VERSION})",
            line=1,
        )
    config = _field(obj, "config", dict, 1, "header")
    try:
        store_config = StoreConfig(**config)
    except (TypeError, ValueError) as error:
        raise ReplayFormatError(f"line 1: header.config: {error}", line=1) from None
    operation = obj.get("operation")
    if operation is not None and type(operation) is not str:
        raise ReplayFormatError(
            f"line 1: header.operation: expected str or null, got {shown(operation)}", line=1
        )
    redactions = _field(obj, "redactions", list, 1, "header")
    source = obj.get("source", "recorder")
    if source not in _SOURCES:
        raise ReplayFormatError(
            f"line 1: header.source: expected recorder or har, got {shown(source)}", line=1
        )
    return Header(
        config=store_config,
        started_at=_field(obj, "started_at", str, 1, "header"),
        library=_field(obj, "library", str, 1, "header"),
        operation=operation,
        redactions=tuple(str(field) for field in redactions),
        source=source,
    )


def _parse_record(text: str, line: int) -> Record:
    try:  # the codec's strict JSON: a frame in the record reads as the live client read it
        obj = decode_json(text)
    except ValueError as error:
        raise ReplayFormatError(f"line {line}: not a JSON record ({error})", line=line) from None
    try:  # six keys, each of them present: exactly the record's keys
        if len(obj) != _RECORD_KEY_COUNT:
            raise KeyError
        seq, t, op, payload = obj["seq"], obj["t"], obj["op"], obj["payload"]
        direction, kind = obj["dir"], obj["kind"]
    except (KeyError, TypeError):
        keys = shown(sorted(obj)) if type(obj) is dict else type(obj).__name__
        raise ReplayFormatError(
            f"line {line}: expected a record with keys {sorted(_RECORD_KEYS)}, got {keys}",
            line=line,
        ) from None
    if type(seq) is not int or type(op) is not str or type(t) not in (float, int):
        for key, expected in (("seq", int), ("t", float), ("op", str)):
            _field(obj, key, expected, line, "record")
    try:
        item = decode_item(payload, op)
    except ValueError as error:
        raise ReplayFormatError(f"line {line}: {error}", line=line) from None
    if _PLACE_TEXT[type(item)] != (direction, kind):
        expected_direction, expected_kind = _PLACE_TEXT[type(item)]
        raise ReplayFormatError(
            f"line {line}: a {type(item).__name__} record has dir {expected_direction!r} and "
            f"kind {expected_kind!r}, not {shown(direction)} and {shown(kind)}",
            line=line,
        )
    return _NEW_RECORD(Record, (seq, t, op, item, line))  # Record(...), without its __new__


def parse_log(lines: Iterable[bytes | str]) -> Iterator[LogItem]:
    """Read a log from its lines, one at a time: the `Header`, then each `Record`.

    A last line without its newline that does not parse (a crash mid-write) yields a
    `LogWarning` instead; blank lines are skipped.

    Raises:
        ReplayFormatError: no header, a line that is not a valid record, or one longer
            or more deeply nested than a log may hold (even the last); the message and
            the `line` attribute name the line.
    """
    number = 0
    header_seen = False
    for raw in lines:
        number += 1
        try:
            text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        except UnicodeDecodeError as error:
            raise ReplayFormatError(
                f"line {number}: not UTF-8 text ({error})", line=number
            ) from None
        if len(raw) > SHORT_LINE:  # (a short line keeps both limits)
            problem = line_problem(len(raw), text)
            if problem is not None:
                raise ReplayFormatError(f"line {number}: {problem}", line=number)
        if not text or text.isspace():
            continue
        if not header_seen:
            yield _parse_header(text)
            header_seen = True
            continue
        try:
            yield _parse_record(text, number)
        except ReplayFormatError as error:
            if text.endswith("\n"):
                raise
            yield LogWarning(
                message=f"line {number}: truncated last record ignored ({error})",
                line=number,
                truncated=True,
            )
    if not header_seen:
        raise ReplayFormatError("line 1: empty log (no header)", line=1)


def read_log(path: str | os.PathLike[str]) -> Iterator[LogItem]:
    """Stream the log at `path` (see `parse_log`); the file closes when the stream ends.

    Raises:
        OSError: the file cannot be opened (raised here, not on first use).
        ReplayFormatError: while iterating, as `parse_log`.
    """
    file = open(path, "rb")  # noqa: SIM115 - closed by the generator below

    def stream() -> Iterator[LogItem]:
        with file:  # a line over the limit is read only one character past it
            yield from parse_log(iter(functools.partial(file.readline, MAX_LINE_LENGTH + 1), b""))

    return stream()
