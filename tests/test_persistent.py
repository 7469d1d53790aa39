"""The persistent vector and the text rope behave as a tuple and a string would."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatewayops._persistent import Vector, append_piece, join_pieces, tail_of_pieces


@given(st.lists(st.integers()), st.integers())
def test_a_vector_built_by_appends_equals_the_tuple(items: list[int], extra: int) -> None:
    """Appending item by item gives the same sequence as a tuple, and the old version stays."""
    vector: Vector[int] = Vector()
    for item in items:
        vector = vector.append(item)
    assert vector == tuple(items)
    assert list(vector) == items
    assert len(vector) == len(items)
    assert vector.append(extra) == (*items, extra)
    assert vector == tuple(items)  # unchanged: persistent
    assert Vector(items) == vector
    assert hash(Vector(items)) == hash(vector)


def test_vector_indexing_setting_and_slicing() -> None:
    """Negative indexes, `set` and slices work as on a tuple; a bad index raises IndexError."""
    vector = Vector([1, 2, 3])
    assert (vector[0], vector[-1], vector[1:]) == (1, 3, (2, 3))
    assert vector.set(-1, 9) == (1, 2, 9)
    with pytest.raises(IndexError):
        vector[3]
    with pytest.raises(IndexError):
        vector.set(-4, 0)
    assert vector != "123"


@given(st.lists(st.text(max_size=20)), st.integers(min_value=0, max_value=50))
def test_the_rope_joins_to_the_concatenation(pieces: list[str], tail: int) -> None:
    """However text is appended, the rope joins to it, each piece at least twice the next,
    and its tail is the string's tail."""
    rope: tuple[str, ...] = ()
    for piece in pieces:
        rope = append_piece(rope, piece)
    text = "".join(pieces)
    assert join_pieces(rope) == text
    assert all(len(a) >= 2 * len(b) for a, b in itertools.pairwise(rope))
    assert tail_of_pieces(rope, tail) == (text[-tail:] if tail else "")
