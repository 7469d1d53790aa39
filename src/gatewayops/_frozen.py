"""Fast construction of frozen, slotted attrs instances, for the streaming hot path.

Owns: `builder(cls)` (a positional constructor) and `copier(cls)` (copy with keyword
changes), generated once per class. A frozen class blocks attribute assignment, so its
``__init__`` sets each slot through ``object.__setattr__``: about 1,700 interpreter
instructions per field on CPython 3.11, which on a streamed chunk (ten objects built or
copied) cost more than parsing the frame's JSON. Instead, the generated functions fill a
*draft*: an instance of a plain class with the same slots, whose assignments are
ordinary slot stores, and then turn it into the real class (``__class__`` assignment,
which CPython allows between classes of identical slot layout). The result is an
ordinary instance of `cls` (``type(x) is cls``, equality, hashing, repr and
immutability unchanged), built 3-4x faster. Must not know: any particular class.

Rules for a class used here: frozen, slotted, ``weakref_slot=False`` (a ``__weakref__``
slot makes CPython judge the layouts different), and no validators or converters (they
are not run: the callers pass values they have already checked). `builder` and
`copier` check the layout when they are made and raise `TypeError` if it does not fit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

__all__ = ["builder", "copier"]

_T = TypeVar("_T")
_UNCHANGED: Any = object()
_BUILDERS: dict[type, Callable[..., Any]] = {}
_COPIERS: dict[type, Callable[..., Any]] = {}
_RESERVED = frozenset({"instance_", "new_", "new_draft", "Draft", "cls", "UNCHANGED"})


def _draft_class(cls: type) -> tuple[type, list[str]]:
    """A plain class with `cls`'s slots, and `cls`'s field names (checked to fit)."""
    if not attrs.has(cls):
        raise TypeError(f"{cls.__name__} is not an attrs class")
    fields = attrs.fields(cls)
    if any(field.validator is not None or field.converter is not None for field in fields):
        raise TypeError(f"{cls.__name__} has validators or converters, which would be skipped")
    slots = cls.__dict__.get("__slots__")
    if slots is None or cls.__bases__ != (object,):
        raise TypeError(f"{cls.__name__} must be a slotted class deriving from object")
    names = [field.name for field in fields]
    clashes = _RESERVED.intersection(names)
    if clashes:
        raise TypeError(f"{cls.__name__}: field name {sorted(clashes)[0]!r} is reserved here")
    draft = type(f"_{cls.__name__}Draft", (), {"__slots__": slots})
    probe: Any = object.__new__(draft)
    try:
        probe.__class__ = cls
    except TypeError as error:  # e.g. a __weakref__ slot
        raise TypeError(f"{cls.__name__}: {error} (declare it weakref_slot=False)") from None
    return draft, names


def _generate(name: str, lines: list[str], namespace: dict[str, Any]) -> Callable[..., Any]:
    exec("\n".join(lines), namespace)  # source built from attrs field names only
    function: Callable[..., Any] = namespace[name]
    return function


def builder(cls: type[_T]) -> Callable[..., _T]:
    """``build(*values)``: a new `cls` with its fields, positionally, in field order.

    Bind it once at module level (``_new_event = builder(AgentEvent)``). Every field
    must be given; defaults are not applied.
    """
    found = _BUILDERS.get(cls)
    if found is None:
        draft, names = _draft_class(cls)
        lines = [f"def build({', '.join(names)}):", "    new_ = new_draft(Draft)"]
        lines += [f"    new_.{name} = {name}" for name in names]
        lines += ["    new_.__class__ = cls", "    return new_"]
        namespace = {"new_draft": object.__new__, "Draft": draft, "cls": cls}
        found = _BUILDERS[cls] = _generate("build", lines, namespace)
    return found


def copier(cls: type[_T]) -> Callable[..., _T]:
    """``copy(instance, **changes)``: a copy of `instance` with `changes` applied.

    Bind it once at module level (``_copy_operation = copier(Operation)``). A change
    naming a field the class lacks is a `TypeError`, as with `attrs.evolve`.
    """
    found = _COPIERS.get(cls)
    if found is None:
        draft, names = _draft_class(cls)
        parameters = ", ".join(f"{name}=UNCHANGED" for name in names)
        lines = [f"def copy(instance_, *, {parameters}):", "    new_ = new_draft(Draft)"]
        lines += [
            f"    new_.{name} = instance_.{name} if {name} is UNCHANGED else {name}"
            for name in names
        ]
        lines += ["    new_.__class__ = cls", "    return new_"]
        namespace = {"new_draft": object.__new__, "Draft": draft, "cls": cls}
        namespace["UNCHANGED"] = _UNCHANGED
        found = _COPIERS[cls] = _generate("copy", lines, namespace)
    return found
