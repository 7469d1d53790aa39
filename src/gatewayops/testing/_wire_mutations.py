"""Mutating frames at the wire level: input nobody wrote by hand, for the codecs and the store.

A frame is a parsed JSON object; the mutations delete a field anywhere inside it, give
one an odd value (another type, a huge number or string), or, once encoded, cut its
text short, put junk between frames, or put socket news (a marker) between them. A
string standing for a raw JSON literal (a number too large for Python's `json`) becomes
that literal when encoded.

Owns: the odd values, the field mutations, the reshuffling of a frame sequence (with
each protocol's own frame mutations) and its garbling as text, that the
wire-mutation tests (v1 and v2 frames through the store, v2 frames through the codec)
share. Must not know: the protocol's messages or the store; it sees JSON and text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from hypothesis import strategies as st

HUGE = "9" * 5_000
RAW = "@raw:"
"""Prefix of a string standing for a raw JSON literal (a huge number) before encoding."""
_RAW_STRING = re.compile(r'"@raw:([-0-9e]+)"')

ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from([RAW + HUGE, RAW + "1e400", RAW + "-" + HUGE, "x" * 10_000]),
)
"""Values a mutated field may take."""


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path inside a frame's JSON (objects and arrays)."""
    found = []
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, child in items:
        found.append((*prefix, key))
        found.extend(paths(child, (*prefix, key)))
    return found


def set_at(frame: Any, path: tuple[Any, ...], value: Any, delete: bool = False) -> None:
    """Set (or delete) the field at `path` inside `frame`."""
    for key in path[:-1]:
        frame = frame[key]
    if delete:
        del frame[path[-1]]
    else:
        frame[path[-1]] = value


def encode(frame: Any) -> str:
    """The frame's wire text; a raw-literal marker string becomes the bare number."""
    return _RAW_STRING.sub(lambda match: match.group(1), json.dumps(frame))


def copied(frames: Any) -> Any:
    """A deep copy of JSON frames (the drawn samples are shared between examples)."""
    return json.loads(json.dumps(frames))


def field_mutated(draw: st.DrawFn, frame: dict[str, Any], delete: bool) -> None:
    """Delete one field of `frame`, or give it an odd value (if it has any)."""
    found = paths(frame)
    if found:
        set_at(frame, draw(st.sampled_from(found)), draw(ODD_VALUES), delete=delete)


FrameMutation = Callable[[st.DrawFn, dict[str, Any]], None]
"""A protocol's own mutation of one frame (in place), drawing what it needs."""


def reshuffled(
    draw: st.DrawFn, frames: list[Any], rounds: int, own: Mapping[str, FrameMutation]
) -> list[Any]:
    """`frames` (JSON objects, changed in place) after up to `rounds` mutations, each one
    of: a frame dropped, repeated, or swapped with the next; one of its fields deleted or
    given an odd value; or one of the caller's `own` mutations of the frame."""
    kinds = ["drop", "repeat", "swap", "delete", "retype", *own]
    for _ in range(draw(st.integers(0, rounds))):
        if not frames:
            break
        kind = draw(st.sampled_from(kinds))
        index = draw(st.integers(0, len(frames) - 1))
        frame = frames[index]
        if kind == "drop":
            del frames[index]
        elif kind == "repeat":
            frames.insert(index, copied(frame))
        elif kind == "swap":
            if index + 1 < len(frames):
                frames[index], frames[index + 1] = frames[index + 1], frames[index]
        elif kind in ("delete", "retype"):
            field_mutated(draw, frame, delete=kind == "delete")
        else:
            own[kind](draw, frame)
    return frames


Wire = list[str | int]
"""Frames as text, and markers (ints) standing for socket news between them."""


def garbled(draw: st.DrawFn, texts: Wire, markers: tuple[int, ...]) -> Wire:
    """`texts` with up to three frames cut short, junk frames put between them, or one
    of the `markers` (socket news such as a drop) inserted."""
    texts = list(texts)
    for _ in range(draw(st.integers(0, 3))):
        position = draw(st.integers(0, len(texts)))
        garbage = draw(st.sampled_from(["cut", "junk", *markers]))
        victim = texts[min(position, len(texts) - 1)] if texts else None
        if isinstance(garbage, int):
            texts.insert(position, garbage)
        elif garbage == "junk":
            texts.insert(position, draw(st.text(max_size=30)))
        elif isinstance(victim, str):
            texts[min(position, len(texts) - 1)] = victim[: draw(st.integers(0, len(victim)))]
    return texts
