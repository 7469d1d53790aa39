"""The fast builders and copiers of frozen attrs classes (`gatewayops._frozen`)."""

from __future__ import annotations

import attrs
import pytest

from gatewayops._frozen import builder, copier


@attrs.frozen(kw_only=True, weakref_slot=False)
class Point:
    x: int
    y: int = 0
    label: str = ""


def test_builder_makes_the_instance_init_would() -> None:
    """A built instance is of the class itself and equal to one made by `__init__`."""
    built = builder(Point)(1, 2, "p")
    assert type(built) is Point
    assert built == Point(x=1, y=2, label="p")
    assert hash(built) == hash(Point(x=1, y=2, label="p"))


def test_copier_changes_only_the_named_fields() -> None:
    """A copy has the changes applied and every other field of the original."""
    original = Point(x=1, y=2, label="p")
    copy = copier(Point, "y")(original, y=5)
    assert copy == Point(x=1, y=5, label="p")
    assert original == Point(x=1, y=2, label="p")


def test_copier_takes_exactly_its_fields_by_keyword() -> None:
    """A copy is made from keywords only, and only from the fields it was made for:
    positional values, a missing field and an extra one are each a TypeError."""
    copy = copier(Point, "x", "label")
    original = Point(x=1, y=2, label="p")
    with pytest.raises(TypeError):
        copy(original, 3, "q")
    with pytest.raises(TypeError):
        copy(original, x=3)
    with pytest.raises(TypeError):
        copy(original, x=3, label="q", y=4)
    assert copy(original, x=3, label="q") == Point(x=3, y=2, label="q")


def test_built_instances_stay_frozen() -> None:
    """What the builder returns refuses assignment like any frozen instance."""
    built = builder(Point)(1, 2, "p")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        built.x = 3  # type: ignore[misc]


def test_copier_refuses_an_unknown_field() -> None:
    """A copier naming a field the class lacks is refused when it is made."""
    with pytest.raises(TypeError, match="no field 'z'"):
        copier(Point, "z")


def test_copier_refuses_no_or_repeated_fields() -> None:
    """A copier must change at least one field, each named once."""
    with pytest.raises(TypeError, match="distinct fields"):
        copier(Point, "x", "x")
    with pytest.raises(TypeError, match="distinct fields"):
        copier(Point)


def test_a_weakref_slot_is_refused_with_the_fix() -> None:
    """A class with a __weakref__ slot cannot be used, and the error says what to declare."""

    @attrs.frozen
    class Weak:
        x: int

    with pytest.raises(TypeError, match="weakref_slot=False"):
        builder(Weak)


def test_validators_are_refused() -> None:
    """A class whose validators the builder would skip cannot be used."""

    @attrs.frozen(weakref_slot=False)
    class Checked:
        x: int = attrs.field(validator=attrs.validators.instance_of(int))

    with pytest.raises(TypeError, match="validators"):
        copier(Checked, "x")


def test_a_field_named_like_a_generated_local_is_refused() -> None:
    """A field whose name the generated code uses itself is refused, not miscompiled."""

    @attrs.frozen(weakref_slot=False)
    class Clash:
        cls: int

    with pytest.raises(TypeError, match="reserved"):
        builder(Clash)
