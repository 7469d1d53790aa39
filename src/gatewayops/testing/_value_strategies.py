"""Hypothesis strategies for the plain values messages are made of.

Owns: JSON values and objects that survive `json.dumps` and `json.loads` unchanged
(finite floats, integers within JavaScript's safe range, string keys), the ids a
session carries (operations, events, tool calls, messages), JWT-shaped tokens, session
statuses, and the short texts and epoch timestamps the message strategies share. Must
not know: the shape of any message or event, the store, or the transport.
"""

from __future__ import annotations

import functools
import string
from typing import TypeAlias

from hypothesis import strategies as st

from gatewayops.protocol import SessionStatus

__all__ = [
    "EPOCH_MS",
    "SHORT_TEXT",
    "JsonValue",
    "as_strategy",
    "event_ids",
    "foreign_operation_ids",
    "json_objects",
    "json_values",
    "message_ids",
    "operation_ids",
    "own_operation_ids",
    "prefixed_ids",
    "session_statuses",
    "tokens",
    "tool_call_ids",
]

JsonValue: TypeAlias = bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"] | None
"""Any value `json.loads` can return (and `encode` can write back)."""

SHORT_TEXT = st.text(max_size=40)
"""Free text of the length a content, reason or title usually has."""

EPOCH_MS = st.integers(1_600_000_000_000, 2_000_000_000_000)
"""Milliseconds since the epoch, between 2020 and 2033."""

_MAX_SAFE_INT = 2**53 - 1  # JavaScript peers lose precision beyond Number.MAX_SAFE_INTEGER
_ID_CHARS = string.ascii_letters + string.digits
_B64URL_CHARS = _ID_CHARS + "-_"


def as_strategy(value: str | st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """`value` itself if it is a strategy, else a strategy that always draws it."""
    return st.just(value) if isinstance(value, str) else value


# --------------------------------------------------------------------------- JSON values


def json_values(*, max_leaves: int = 8) -> st.SearchStrategy[JsonValue]:
    """Arbitrary JSON: null, bools, safe integers, finite floats, text, arrays, objects."""
    return _json_values(max_leaves)


@functools.cache  # building strategies is not free; draws inside composites reuse these
def _json_values(max_leaves: int) -> st.SearchStrategy[JsonValue]:
    scalars: st.SearchStrategy[JsonValue] = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-_MAX_SAFE_INT, _MAX_SAFE_INT),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=12),
    )

    def extend(children: st.SearchStrategy[JsonValue]) -> st.SearchStrategy[JsonValue]:
        return st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(st.text(max_size=8), children, max_size=4),
        )

    return st.recursive(scalars, extend, max_leaves=max_leaves)


def json_objects(*, max_size: int = 4) -> st.SearchStrategy[dict[str, JsonValue]]:
    """A JSON object with arbitrary keys and JSON values."""
    return _json_objects(max_size)


@functools.cache
def _json_objects(max_size: int) -> st.SearchStrategy[dict[str, JsonValue]]:
    return st.dictionaries(st.text(max_size=8), json_values(max_leaves=4), max_size=max_size)


# --------------------------------------------------------------------------- ids and tokens


@functools.cache
def prefixed_ids(prefix: str) -> st.SearchStrategy[str]:
    """Ids made of `prefix` and 4 to 12 letters and digits."""
    return st.text(_ID_CHARS, min_size=4, max_size=12).map(lambda text: prefix + text)


def operation_ids() -> st.SearchStrategy[str]:
    """Non-empty operation ids such as ``op_x81Kd2``."""
    return prefixed_ids("op_")


def own_operation_ids(operation_id: str) -> st.SearchStrategy[str]:
    """Ids that make an event `operation_id`'s own: the id itself, or empty (PROTOCOL 1.4)."""
    return st.sampled_from((operation_id, ""))


def foreign_operation_ids(operation_id: str) -> st.SearchStrategy[str]:
    """Non-empty operation ids other than `operation_id` (a member's forwarded events)."""
    return operation_ids().filter(lambda other: other != operation_id)


_EVENT_IDS = st.integers(1, 10**9).map(str)


def event_ids() -> st.SearchStrategy[str]:
    """Server-assigned event ids: decimal strings of positive integers."""
    return _EVENT_IDS


def tool_call_ids() -> st.SearchStrategy[str]:
    """Tool call ids such as ``call_Xy12ab``."""
    return prefixed_ids("call_")


def message_ids() -> st.SearchStrategy[str]:
    """Chat message ids such as ``msg_Qz09ab``."""
    return prefixed_ids("msg_")


_SEGMENTS = st.text(_B64URL_CHARS, min_size=4, max_size=24)
_TOKENS = st.tuples(_SEGMENTS, _SEGMENTS, _SEGMENTS).map(".".join)


def tokens() -> st.SearchStrategy[str]:
    """JWT-shaped tokens (three base64url segments); never real secrets."""
    return _TOKENS


def session_statuses(*, terminal: bool | None = None) -> st.SearchStrategy[SessionStatus]:
    """Session statuses; only terminal ones, only live ones, or any (``None``)."""
    if terminal is None:
        return st.sampled_from(SessionStatus)
    return st.sampled_from([status for status in SessionStatus if status.is_terminal == terminal])
