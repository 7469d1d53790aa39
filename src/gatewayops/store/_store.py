"""A synchronous Store: holds the state, runs the reducer, tells subscribers.

Owns: `dispatch` (reduce, then middleware, then listeners, then return the effects),
its two halves `apply` (reduce and adopt the next state) and `publish` (tell middleware
and listeners), so that a runtime can do its own work between them, `subscribe` with
unsubscribe, and isolation of observer failures: a raising middleware or listener is
logged, the others still run, and the step's effects are still returned (a failing
recorder must not swallow a `NotifyFinished`). Must not know: Trio, or how effects are
carried out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from gatewayops._secrets import get_logger
from gatewayops.store._actions import Action
from gatewayops.store._effects import Effect
from gatewayops.store._reducer import Step, reduce
from gatewayops.store._state import GatewayState

__all__ = ["Listener", "Middleware", "Store", "Transition"]

logger = get_logger("gatewayops.store")

Listener = Callable[[GatewayState, GatewayState, Action], None]
"""Called after every dispatch with (old state, new state, action)."""

Middleware = Callable[[GatewayState, Action, Step], None]
"""Sees every dispatch: the state before, the action, and the resulting step (recording)."""


class Transition(NamedTuple):
    """One applied action: the state before it, the action, and the step it produced."""

    old: GatewayState
    action: Action
    step: Step


class Store:
    """Holds a `GatewayState` and folds actions into it with `reduce`."""

    def __init__(
        self,
        state: GatewayState | None = None,
        *,
        middleware: Sequence[Middleware] = (),
    ) -> None:
        self._state = GatewayState() if state is None else state
        self._middleware = tuple(middleware)
        self._listeners: dict[int, Listener] = {}
        self._next_listener = 0

    @property
    def state(self) -> GatewayState:
        """The current state."""
        return self._state

    def dispatch(self, action: Action) -> tuple[Effect, ...]:
        """Reduce `action`, notify middleware and listeners, and return the effects.

        Raises:
            LocalUsageError: the reducer refused an application action; the state is
                unchanged and nobody is notified.
        """
        transition = self.apply(action)
        self.publish(transition)
        return transition.step.effects

    def apply(self, action: Action) -> Transition:
        """Reduce `action` and adopt the next state; nobody is told yet (see `publish`).

        Raises:
            LocalUsageError: the reducer refused an application action; the state is
                unchanged.
        """
        old = self._state
        step = reduce(old, action)
        self._state = step.state
        return Transition(old, action, step)

    def publish(self, transition: Transition) -> None:
        """Tell middleware, then listeners, about an applied action (failures are logged)."""
        old, action, step = transition
        for middleware in self._middleware:
            try:
                middleware(old, action, step)
            except Exception:
                logger.exception("store middleware %r raised; the step stands", middleware)
        for listener in tuple(self._listeners.values()):
            try:
                listener(old, step.state, action)
            except Exception:
                logger.exception("store listener %r raised; the others still run", listener)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` after every dispatch; returns a function that unsubscribes."""
        key = self._next_listener
        self._next_listener += 1
        self._listeners[key] = listener

        def unsubscribe() -> None:
            self._listeners.pop(key, None)

        return unsubscribe
