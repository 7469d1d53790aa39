"""Fast copy-with-changes for the frozen, slotted state classes (the streaming hot path).

Owns: one generated copier per class, with a keyword parameter per field (so a wrong
name is a TypeError, as with `attrs.evolve`), that copies every slot and applies the
changes without calling `__init__` (state classes validate nothing on construction;
`StoreConfig`, which does, is never replaced). `attrs.evolve` re-reads the field list
on every call and costs about twice as much; a streamed chunk rebuilds four objects, so
this keeps the reducer within a small multiple of `json.loads`. Only the per-chunk path
uses it (operation, transcript, message, state); elsewhere the reducer uses
`attrs.evolve`, whose arguments mypy checks. Must not know: any particular class.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

__all__ = ["copier"]

_T = TypeVar("_T")
_UNCHANGED: Any = object()
_COPIERS: dict[type, Callable[..., Any]] = {}


def _make_copier(cls: type) -> Callable[..., Any]:
    names = [field.name for field in attrs.fields(cls)]
    parameters = ", ".join(f"{name}=UNCHANGED" for name in names)
    lines = [f"def copy(instance, *, {parameters}):", "    new = new_instance(cls)"]
    namespace: dict[str, Any] = {
        "new_instance": object.__new__,
        "cls": cls,
        "UNCHANGED": _UNCHANGED,
    }
    for name in names:
        # The slot's member descriptor: setting through it skips the frozen __setattr__.
        namespace[f"set_{name}"] = getattr(cls, name).__set__
        lines.append(f"    set_{name}(new, instance.{name} if {name} is UNCHANGED else {name})")
    lines.append("    return new")
    exec("\n".join(lines), namespace)  # source built from attrs field names only
    copier: Callable[..., Any] = namespace["copy"]
    return copier


def copier(cls: type[_T]) -> Callable[..., _T]:
    """The copier of `cls`: ``copy(instance, **changes)`` returns a changed copy.

    Bind it once at module level (``_copy_operation = copier(Operation)``): a call then
    costs one keyword pass. A change naming a field the class lacks is a TypeError.
    """
    found = _COPIERS.get(cls)
    if found is None:
        found = _COPIERS[cls] = _make_copier(cls)
    return found
