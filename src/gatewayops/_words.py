"""Counts in words, for every report that prints one (the CLI, replay's report).

Owns: `plural`. Must not know: what is being counted.
"""

from __future__ import annotations

__all__ = ["plural"]


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``"1 socket"``, ``"2 sockets"``: `count` and the noun in the number it needs.

    Args:
        count: how many.
        noun: the singular.
        nouns: the plural, if it is not `noun` + ``s``.
    """
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"
