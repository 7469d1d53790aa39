"""Persistent (immutable, structure-sharing) containers for state that grows with a run.

Owns: `Vector`, an immutable sequence whose `append` and `set` cost O(log n) at worst
(a bounded tuple copy usually) instead of a tuple's O(n) copy, and the text rope
(`append_piece`, `join_pieces`, `tail_of_pieces`), which keeps streamed text as a few
pieces so that appending a chunk does not copy the whole message. Both exist for one
promise: the cost of one event must not grow with the events already seen. Must not know:
what they hold.

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
_new_vector = object.__new__  # a Vector without `__init__`: the fields are set right after
_BLOCK = 32
"""Items per block (and the most the tail holds): copies stay this small."""


class Vector(Sequence[_T], Generic[_T]):
    """An immutable sequence whose `append` and `set` cost the same at any length.

    The last items (up to `_BLOCK`) are a tuple, the tail; every full block of `_BLOCK`
    items before them is one entry of a HAMT keyed by block number. Appending copies at
    most the tail (bounded), or moves a full tail into the map (O(log n)); changing the
    last item -- what streaming does -- copies only the tail. Compares equal to any
    sequence with the same items in order (a tuple included), so ``vector == (a, b)``
    reads as it would for a tuple.
    """

    __slots__ = ("_blocks", "_length", "_tail")

    _blocks: immutables.Map[int, tuple[_T, ...]]
    _tail: tuple[_T, ...]
    _length: int

    def __init__(self, items: Sequence[_T] = ()) -> None:
        items = tuple(items)
        full = (len(items) - 1) // _BLOCK if items else 0
        blocks: immutables.Map[int, tuple[_T, ...]] = immutables.Map()
        if full:
            with blocks.mutate() as mutation:
                for block in range(full):
                    mutation[block] = items[block * _BLOCK : (block + 1) * _BLOCK]
                blocks = mutation.finish()
        self._blocks = blocks
        self._tail = items[full * _BLOCK :]
        self._length = len(items)

    def append(self, item: _T) -> Vector[_T]:
        """A vector with `item` added at the end."""
        tail = self._tail
        vector: Vector[_T] = _new_vector(Vector)
        if len(tail) < _BLOCK:
            vector._blocks, vector._tail = self._blocks, (*tail, item)
        else:  # the tail is full: it becomes a block, and a new tail starts
            vector._blocks = self._blocks.set(len(self._blocks), tail)
            vector._tail = (item,)
        vector._length = self._length + 1
        return vector

    @property
    def last(self) -> _T:
        """The last item (IndexError when empty)."""
        if not self._length:
            raise IndexError("the vector is empty")
        return self._tail[-1]

    def set(self, index: int, item: _T) -> Vector[_T]:
        """A vector with the item at `index` (negative counts from the end) replaced.

        An item of the tail (what streaming changes: the newest entry) costs a copy of
        the tail alone; one in a block, a copy of its block and of the path to it.
        """
        tail = self._tail
        vector: Vector[_T] = _new_vector(Vector)
        vector._length = self._length
        at = (index if index < 0 else index - self._length) + len(tail)  # within the tail
        if 0 <= at < len(tail):
            new_tail = tail[:at] + (item,) + tail[at + 1 :]  # noqa: RUF005 - faster than *
            vector._blocks, vector._tail = self._blocks, new_tail
            return vector
        position = self._position(index)  # raises if out of range: else it is in a block
        block = list(self._blocks[position // _BLOCK])
        block[position % _BLOCK] = item
        vector._blocks = self._blocks.set(position // _BLOCK, tuple(block))
        vector._tail = tail
        return vector

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
            return tuple(self)[index]
        position = self._position(index)
        in_blocks = len(self._blocks) * _BLOCK
        if position >= in_blocks:
            return self._tail[position - in_blocks]
        return self._blocks[position // _BLOCK][position % _BLOCK]

    def __iter__(self) -> Iterator[_T]:
        blocks = self._blocks
        for block in range(len(blocks)):
            yield from blocks[block]
        yield from self._tail

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
    return pieces + (piece,)  # noqa: RUF005 - one chunk each: faster than unpacking


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
