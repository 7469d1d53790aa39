"""Fast construction of frozen, slotted attrs instances, for the streaming hot path.

Owns: `builder(cls)` (a positional constructor) and `copier(cls, *fields)` (a copy
with those fields replaced, by keyword, type-checked like `attrs.evolve`), generated
once each. A frozen class blocks attribute assignment, so its
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
_DRAFTS: dict[type, tuple[type, list[str]]] = {}
_BUILDERS: dict[type, Callable[..., Any]] = {}
_COPIERS: dict[tuple[type, tuple[str, ...]], Callable[..., Any]] = {}
_RESERVED = frozenset({"instance_", "new_", "new_draft", "Draft", "cls"})


def _draft_class(cls: type) -> tuple[type, list[str]]:
    """A plain class with `cls`'s slots, and `cls`'s field names (checked to fit)."""
    found = _DRAFTS.get(cls)
    if found is not None:
        return found
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
    found = _DRAFTS[cls] = draft, names
    return found


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


def copier(cls: type[_T], *fields: str) -> Callable[..., _T]:
    """``copy(instance, **values)``: a copy of `instance` with `fields` set, by keyword.

    Bind one per change a hot path makes, at module level and named for it, and let
    mypy check its calls as it checks `attrs.evolve` (the attrs plugin knows the class's
    fields and their types)::

        if TYPE_CHECKING:
            from attrs import evolve as with_text
        else:
            with_text = copier(AssistantMessage, "text")

        with_text(message, text=text)

    The copy takes exactly `fields`, keyword-only (a missing or extra one is a
    `TypeError` at the call); every other field is copied from `instance`. Naming a
    field the class lacks is a `TypeError` here, not at the call.
    """
    key = (cls, fields)
    found = _COPIERS.get(key)
    if found is None:
        draft, names = _draft_class(cls)
        unknown = sorted(set(fields) - set(names))
        if unknown:
            raise TypeError(f"{cls.__name__} has no field {unknown[0]!r}")
        if not fields or len(set(fields)) != len(fields):
            raise TypeError(f"copier({cls.__name__}, ...) needs distinct fields, got {fields}")
        lines = [f"def copy(instance_, *, {', '.join(fields)}):", "    new_ = new_draft(Draft)"]
        lines += [
            f"    new_.{name} = {name}" if name in fields else f"    new_.{name} = instance_.{name}"
            for name in names
        ]
        lines += ["    new_.__class__ = cls", "    return new_"]
        namespace = {"new_draft": object.__new__, "Draft": draft, "cls": cls}
        found = _COPIERS[key] = _generate("copy", lines, namespace)
    return found
