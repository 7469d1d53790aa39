"""Reducing actions one by one as the wire-mutation tests check every step.

Owns `CheckedSteps`: a state, the pure invariant checker and each operation's count of
notifications. `step` reduces one action (which must never raise), checks the step
against every invariant, and asserts that no operation is notified twice and that the
reducer's safety net is not what ended a run. Must not know: frames, mutations, or which
protocol the links speak.
"""

from __future__ import annotations

import collections

from gatewayops.replay import InvariantChecker
from gatewayops.store import (
    Action,
    FinishSource,
    GatewayState,
    NotifyFinished,
    StoreConfig,
    reduce,
)


class CheckedSteps:
    """A state driven one checked action at a time (see the module)."""

    def __init__(self, config: StoreConfig) -> None:
        self.state = GatewayState(config=config)
        self.checker = InvariantChecker(config)
        self.notified: collections.Counter[str] = collections.Counter()
        self.steps = 0

    def step(self, action: Action) -> GatewayState:
        """Reduce and check `action`; returns the state before it."""
        old_state = self.state
        result = reduce(old_state, action)  # must never raise
        self.state = result.state
        self.steps += 1
        found = self.checker.check(
            (self.steps, None), action, old_state, self.state, result.effects
        )
        assert not found, [str(violation) for violation in found]
        for effect in result.effects:
            if isinstance(effect, NotifyFinished):
                self.notified[effect.operation_id] += 1
                assert effect.outcome.source is not FinishSource.INTERNAL_ERROR, effect.outcome
        assert max(self.notified.values(), default=0) <= 1, self.notified
        return old_state
