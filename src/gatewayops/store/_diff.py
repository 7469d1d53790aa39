"""Field-level differences between two values of state (or effects).

Owns: walking attrs instances, persistent maps and vectors, dicts and tuples in parallel
and naming every leaf that differs by a path such as
``operations['op-1'].connection.status`` (a field compared by a key, such as a
message's text pieces, is compared by that key; a field outside equality is skipped).
Used by `TestStore` failure messages and the replayer's divergence report. Must not
know: what the fields mean.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs
import immutables

from gatewayops._persistent import Vector

__all__ = ["ABSENT", "Change", "diff", "format_changes"]


class _Absent:
    def __repr__(self) -> str:
        return "<absent>"


ABSENT: Final = _Absent()
"""Stands for a map key or field that one side does not have."""


@attrs.frozen
class Change:
    """One leaf that differs: where, and its value on each side."""

    path: str
    old: Any
    new: Any

    def __str__(self) -> str:
        return f"{self.path}: {self.old!r} -> {self.new!r}"


def _is_mapping(value: object) -> bool:
    return isinstance(value, Mapping | immutables.Map)


def _as_tuple(value: Any) -> Any:
    """A persistent vector is compared as the tuple of its items."""
    return tuple(value) if isinstance(value, Vector) else value


def diff(old: Any, new: Any, path: str = "") -> list[Change]:
    """Every leaf path at which `old` and `new` differ (empty when equal)."""
    if old is new:
        return []
    if attrs.has(type(old)) and type(old) is type(new):
        changes: list[Change] = []
        for field in attrs.fields(type(old)):
            name, left, right = field.name, getattr(old, field.name), getattr(new, field.name)
            if field.eq_key is not None:  # compared by a key (text pieces by their text)
                left, right = field.eq_key(left), field.eq_key(right)
            elif not field.eq:  # not part of the value (a derived index)
                continue
            changes.extend(diff(left, right, f"{path}.{name}"))
        return changes
    if _is_mapping(old) and _is_mapping(new):
        changes = []
        keys = sorted({*old.keys(), *new.keys()}, key=repr)
        for key in keys:
            changes.extend(diff(old.get(key, ABSENT), new.get(key, ABSENT), f"{path}[{key!r}]"))
        return changes
    if isinstance(old, Vector) or isinstance(new, Vector):
        old, new = (
            tuple(old) if isinstance(old, Vector) else old,
            tuple(new) if isinstance(new, Vector) else new,
        )
    if isinstance(old, tuple) and isinstance(new, tuple) and len(old) == len(new):
        changes = []
        for index, (left, right) in enumerate(zip(old, new, strict=True)):
            changes.extend(diff(left, right, f"{path}[{index}]"))
        return changes
    if old == new:
        return []
    return [Change(path or "<root>", old, new)]


def format_changes(changes: list[Change]) -> str:
    """One change per line."""
    return "\n".join(f"  {change}" for change in changes)
