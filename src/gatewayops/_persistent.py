"""Persistent (immutable, structure-sharing) containers for state that grows with a run.

Owns: `Vector`, an immutable sequence whose `append` and `set` cost O(log n) instead
of a tuple's O(n) copy, and the text rope (`append_piece`, `join_pieces`,
`tail_of_pieces`), which keeps streamed text as a few pieces so that appending a chunk
does not copy the whole message. Both exist for one promise: the cost of one event
must not grow with the events already seen. Must not know: what they hold.

The rope's rule: pieces are kept in decreasing size, each at least twice the next, so a
text of n characters has at most log2(n) pieces; appending merges the smaller tail
pieces first, and each character is copied O(log n) times over its whole life.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Generic, TypeVar, overload

import immutables

__all__ = ["Vector", "append_piece", "join_pieces", "tail_of_pieces"]

_T = TypeVar("_T")


class Vector(Sequence[_T], Generic[_T]):
    """An immutable sequence with O(log n) `append` and `set` (a HAMT keyed by index).

    Compares equal to any sequence with the same items in order (a tuple included), so
    ``vector == (a, b)`` reads as it would for a tuple.
    """

    __slots__ = ("_items", "_length")

    _items: immutables.Map[int, _T]
    _length: int

    def __init__(self, items: Sequence[_T] = ()) -> None:
        built: immutables.Map[int, _T] = immutables.Map()
        if items:
            with built.mutate() as mutation:
                for index, item in enumerate(items):
                    mutation[index] = item
                built = mutation.finish()
        self._items = built
        self._length = len(items)

    @classmethod
    def _of(cls, items: immutables.Map[int, _T], length: int) -> Vector[_T]:
        vector: Vector[_T] = cls.__new__(cls)
        vector._items = items
        vector._length = length
        return vector

    def append(self, item: _T) -> Vector[_T]:
        """A vector with `item` added at the end."""
        return Vector._of(self._items.set(self._length, item), self._length + 1)

    @property
    def last(self) -> _T:
        """The last item (IndexError when empty)."""
        if not self._length:
            raise IndexError("the vector is empty")
        return self._items[self._length - 1]

    def replace_last(self, item: _T) -> Vector[_T]:
        """A vector with its last item replaced (the streaming hot path's one change)."""
        if not self._length:
            raise IndexError("the vector is empty")
        return Vector._of(self._items.set(self._length - 1, item), self._length)

    def set(self, index: int, item: _T) -> Vector[_T]:
        """A vector with the item at `index` (negative counts from the end) replaced."""
        return Vector._of(self._items.set(self._position(index), item), self._length)

    def _position(self, index: int) -> int:
        position = index + self._length if index < 0 else index
        if not 0 <= position < self._length:
            raise IndexError(f"vector index {index} out of range (length {self._length})")
        return position

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> _T: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[_T, ...]: ...

    def __getitem__(self, index: int | slice) -> _T | tuple[_T, ...]:
        if isinstance(index, slice):
            return tuple(self._items[i] for i in range(*index.indices(self._length)))
        return self._items[self._position(index)]

    def __iter__(self) -> Iterator[_T]:
        items = self._items
        return (items[index] for index in range(self._length))

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(other) == self._length and all(a == b for a, b in zip(self, other, strict=True))

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"Vector({list(self)!r})"


def append_piece(pieces: tuple[str, ...], piece: str) -> tuple[str, ...]:
    """`pieces` with `piece` appended, merged so that each piece is >= 2x the next."""
    if not piece:
        return pieces
    while pieces and len(pieces[-1]) < 2 * len(piece):
        piece = pieces[-1] + piece
        pieces = pieces[:-1]
    return (*pieces, piece)


def join_pieces(pieces: tuple[str, ...]) -> str:
    """The whole text."""
    return pieces[0] if len(pieces) == 1 else "".join(pieces)


def tail_of_pieces(pieces: tuple[str, ...], chars: int) -> str:
    """The last `chars` characters, reading only the pieces they lie in."""
    taken: list[str] = []
    needed = chars
    for piece in reversed(pieces):
        if needed <= 0:
            break
        taken.append(piece[-needed:])
        needed -= len(piece)
    return "".join(reversed(taken))
