"""Refusing a method call that passes keyword-only arguments by position.

Owns: `by_keyword`, the decorator for the `Client` methods that take several strings
(ids and tokens swapped by position would be accepted silently): such a call raises
`KeywordArgumentsRequired`, whose message shows the keyword form, where Python's own
error says only how many positional arguments were given. Type checkers see the
method's own signature, so they refuse such a call before it runs. Must not know: what
the methods do.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from gatewayops.exceptions import KeywordArgumentsRequired

__all__ = ["by_keyword"]

_S = TypeVar("_S")
_P = ParamSpec("_P")
_R = TypeVar("_R")


def by_keyword(method: Callable[Concatenate[_S, _P], _R]) -> Callable[Concatenate[_S, _P], _R]:
    """`method`, refusing a call that passes its keyword-only arguments by position."""
    parameters = list(inspect.signature(method).parameters.values())[1:]  # without self
    positional = sum(p.kind is p.POSITIONAL_OR_KEYWORD for p in parameters)
    shape = ", ".join(
        p.name if p.kind is p.POSITIONAL_OR_KEYWORD else f"{p.name}=..."
        for p in parameters
        if p.default is p.empty
    )
    message = f"{method.__qualname__} takes keyword arguments: {method.__name__}({shape})"

    @functools.wraps(method)
    def checked(self: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        if len(args) > positional:
            raise KeywordArgumentsRequired(message)
        return method(self, *args, **kwargs)

    return checked
