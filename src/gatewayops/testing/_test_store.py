"""`TestStore`: send an action, assert the exact state change and the exact effects.

In the spirit of TCA's TestStore: exhaustive by default. Every leaf of state that an
action changes must be declared in `expect` (a mapping from a path such as
``"operations['op-1'].connection.status"`` to its new value; declaring a prefix such as
``"operations['op-1'].connection"`` covers everything under it, compared whole), and
every effect emitted must be asserted, either at once with `effects=` or later with
`receive`; `finish` fails if any is left. Failures show a field-level diff. Must not
know: Trio or I/O.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from gatewayops.store import (
    ABSENT,
    Action,
    Change,
    Effect,
    GatewayState,
    Step,
    StoreConfig,
    diff,
    format_changes,
    reduce,
)

__all__ = ["TestStore", "TestStoreFailure", "resolve_path"]

_TOKEN = re.compile(
    r"\.(?P<name>[A-Za-z_]\w*)|\[(?P<key>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|-?\d+)\]"
)


class TestStoreFailure(AssertionError):
    """A `TestStore` expectation did not hold; the message shows what differed."""

    __test__ = False  # not a pytest test class


def resolve_path(root: Any, path: str) -> Any:
    """The value at `path` (``operations['op-1'].connection``) under `root`, or ABSENT."""
    text = path if path.startswith((".", "[")) else f".{path}"
    value, position = root, 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ValueError(f"path {path!r}: cannot parse at {text[position:]!r}")
        position = match.end()
        if match["name"] is not None:
            value = getattr(value, match["name"], ABSENT)
        else:
            key = ast.literal_eval(match["key"])
            try:
                value = value[key]
            except (KeyError, IndexError, TypeError):
                return ABSENT
        if value is ABSENT:
            return ABSENT
    return value


def _normal(path: str) -> str:
    return path[1:] if path.startswith(".") else path


def _covered(change: Change, declared: Sequence[str]) -> bool:
    path = _normal(change.path)
    return any(
        path == prefix or path.startswith((f"{prefix}.", f"{prefix}[")) for prefix in declared
    )


class TestStore:
    """Drives the pure reducer and checks each step exactly.

    Args:
        state: the starting state (default: an empty `GatewayState`).
        config: settings for a new empty state (ignored when `state` is given).
        exhaustive: when False, only declared paths are checked and unasserted effects
            are allowed at `finish`.
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        state: GatewayState | None = None,
        *,
        config: StoreConfig | None = None,
        exhaustive: bool = True,
    ) -> None:
        self.state = state if state is not None else GatewayState(config=config or StoreConfig())
        self.exhaustive = exhaustive
        self._pending: list[Effect] = []

    def send(
        self,
        action: Action,
        expect: Mapping[str, Any] | None = None,
        *,
        effects: Sequence[Effect] | None = None,
    ) -> Step:
        """Reduce `action` and check the state change (and, if given, the effects).

        Raises:
            TestStoreFailure: an undeclared change, a declared path with another value,
                effects other than `effects`, or effects of an earlier step still
                unasserted (exhaustive mode).
        """
        if self.exhaustive and self._pending:
            raise TestStoreFailure(
                f"before sending {action!r}, effects were left unasserted:\n"
                + "\n".join(f"  {effect!r}" for effect in self._pending)
            )
        old = self.state
        step = reduce(old, action)
        self.state = step.state
        self._check_state(action, old, step.state, dict(expect or {}))
        if effects is not None:
            if tuple(effects) != step.effects:
                raise TestStoreFailure(self._effects_message(action, effects, step.effects))
        else:
            self._pending.extend(step.effects)
        return step

    def receive(self, *effects: Effect) -> None:
        """Assert the oldest unasserted effects are exactly `effects`, in order."""
        head = tuple(self._pending[: len(effects)])
        if head != effects:
            raise TestStoreFailure("received effects differ:\n" + self._effect_lines(effects, head))
        del self._pending[: len(effects)]

    def skip_effects(self) -> list[Effect]:
        """Drop every unasserted effect (returned, for inspection)."""
        skipped, self._pending = self._pending, []
        return skipped

    def finish(self) -> None:
        """In exhaustive mode, fail if any effect was never asserted."""
        if self.exhaustive and self._pending:
            raise TestStoreFailure(
                "effects were never asserted:\n"
                + "\n".join(f"  {effect!r}" for effect in self._pending)
            )

    def _check_state(
        self, action: Action, old: GatewayState, new: GatewayState, expect: dict[str, Any]
    ) -> None:
        declared = [_normal(path) for path in expect]
        problems: list[str] = []
        for path, wanted in expect.items():
            actual = resolve_path(new, path)
            if actual != wanted:
                lines = format_changes(diff(wanted, actual, _normal(path)))
                problems.append(
                    f"{_normal(path)} is not as expected (expected -> actual):\n{lines}"
                )
        if self.exhaustive:
            undeclared = [change for change in diff(old, new) if not _covered(change, declared)]
            if undeclared:
                problems.append(
                    "state changed where nothing was declared (old -> new):\n"
                    + format_changes(undeclared)
                )
        if problems:
            raise TestStoreFailure(f"after {action!r}:\n" + "\n".join(problems))

    @staticmethod
    def _effect_lines(expected: Sequence[Effect], actual: Sequence[Effect]) -> str:
        lines = []
        for index in range(max(len(expected), len(actual))):
            left = expected[index] if index < len(expected) else ABSENT
            right = actual[index] if index < len(actual) else ABSENT
            mark = "  " if left == right else "! "
            lines.append(f"{mark}[{index}] expected {left!r}\n{mark}    actual   {right!r}")
            if left != right and attrs.has(type(left)) and type(left) is type(right):
                lines.append(format_changes(diff(left, right, f"[{index}]")))
        return "\n".join(lines)

    def _effects_message(
        self, action: Action, expected: Sequence[Effect], actual: Sequence[Effect]
    ) -> str:
        return f"after {action!r}, effects differ:\n" + self._effect_lines(expected, actual)
