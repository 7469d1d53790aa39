"""Lazy re-exports (PEP 562) for the package namespaces, so an import pays only for what
it uses (#18).

Owns: `LazyExports`, a table of which submodule defines each lazily exported name, and
the body of a package's module-level ``__getattr__``: import the submodule on first
access, then keep the value in the package's namespace so later lookups are plain
attribute reads. The package lists the same names under ``if TYPE_CHECKING:`` imports
(for mypy and readers) and in ``__all__``. Must not know: what is exported.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["LazyExports"]


class LazyExports:
    """The names a package exports lazily, by the submodule that defines them."""

    __slots__ = ("_module_of", "_package")

    def __init__(self, package: str, names_by_module: Mapping[str, Iterable[str]]) -> None:
        self._package = package
        self._module_of = {
            name: module for module, names in names_by_module.items() for name in names
        }

    @property
    def names(self) -> frozenset[str]:
        """Every lazily exported name."""
        return frozenset(self._module_of)

    def load(self, name: str) -> Any:
        """The value of `name`, imported now and kept in the package's namespace.

        Raises:
            AttributeError: `name` is not one of the package's lazy exports.
        """
        module = self._module_of.get(name)
        if module is None:
            raise AttributeError(f"module {self._package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[self._package], name, value)
        return value
