"""The ground `GatewayMachine` stands on: its state, the one checked step, and choosing.

Owns: what the machine holds (the store's state, the model of `_model`, the fake server
side of each operation, counters), the configuration drawn first, `_step` (reduce one
action, then run the store's `InvariantChecker`, feed every effect to the model, and
check what no table can: stale news changes nothing, the safety net never ends a run
unasked, events received are counted for the model), and the helpers that choose which
operation and socket generation a rule acts on. Must not know: which rules there are
(`_app_and_effect_rules`, `_socket_and_server_rules`), Trio or I/O.
"""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize

from gatewayops.protocol import AuthSuccess, MuxServerMessage, ServerMessage
from gatewayops.store import (
    TRANSPORT_ACTIONS,
    Action,
    FinishSource,
    GatewayState,
    HandlingFailed,
    InvariantChecker,
    Link,
    MessageReceived,
    NotifyFinished,
    Operation,
    OperationStatus,
    Protocol,
    SendFailed,
    StoreConfig,
    carries,
    concerned,
    reduce,
)
from gatewayops.testing._action_strategies import GATEWAY_URLS as _GATEWAY_URLS
from gatewayops.testing._model import Model, ServerSide

__all__ = ["NOW_AND_THEN", "MachineBase"]

NOW_AND_THEN = st.sampled_from([False, False, False, True])
"""True one draw in four (and shrinks to False)."""


class MachineBase(RuleBasedStateMachine):
    """The state, the checked step and the choosers every rule of the machine uses."""

    gateway_urls: st.SearchStrategy[str] = _GATEWAY_URLS
    """The gateway base URLs operations are started or attached with."""

    def __init__(self) -> None:
        super().__init__()
        self.state = GatewayState(config=StoreConfig())
        self.checker = InvariantChecker(self.state.config)
        self.model = Model()
        self.servers: dict[str, ServerSide] = {}
        self.steps = 0
        self.started = 0
        self.answers = 0

    @initialize(
        refresh_budget=st.integers(min_value=1, max_value=3),
        max_backoff_ms=st.sampled_from([2_000, 4_000, 30_000]),
        retain_finished=st.sampled_from([1, 2, 1_000]),
    )
    def configure(self, refresh_budget: int, max_backoff_ms: int, retain_finished: int) -> None:
        """Small budgets, caps and retentions, so runs reach them as well as the rest."""
        self._configure(
            StoreConfig(
                refresh_budget=refresh_budget,
                max_backoff_ms=max_backoff_ms,
                retain_finished=retain_finished,
            )
        )

    def _configure(self, config: StoreConfig) -> None:
        self.state = GatewayState(config=config)
        self.checker = InvariantChecker(config)
        self.model.retain_finished = config.retain_finished

    # ------------------------------------------------------------------ driving

    def _step(self, action: Action) -> None:
        old_state = self.state
        link_id, op_id = concerned(old_state, action)
        old_op = None if op_id is None else old_state.operations.get(op_id)
        old_link = None if link_id is None else old_state.links.get(link_id)
        step = reduce(old_state, action)
        self.state = step.state
        self.steps += 1
        found = self.checker.check((self.steps, None), action, old_state, step.state, step.effects)
        assert not found, [str(violation) for violation in found]
        for effect in step.effects:
            self.model.observe(self.state, effect)
            if isinstance(effect, NotifyFinished) and not isinstance(action, HandlingFailed):
                # The reducer's safety net must never be what ends a run here.
                assert effect.outcome.source is not FinishSource.INTERNAL_ERROR, effect.outcome
        if old_link is None or type(action) not in TRANSPORT_ACTIONS or type(action) is SendFailed:
            return
        generation = getattr(action, "generation", None)
        assert generation is not None
        if generation != old_link.generation:  # stale news changes nothing
            assert step.state == old_state, "stale news changed state"
            assert not step.effects, f"stale news had effects: {step.effects!r}"
        elif (
            isinstance(action, MessageReceived)
            and old_op is not None
            and old_op.status is OperationStatus.RUNNING
            and old_op.link_id == old_link.id  # a session the link carries
            and carries(old_link, generation)
        ):
            finished = any(
                isinstance(e, NotifyFinished) and e.operation_id == old_op.id for e in step.effects
            )
            if old_link.protocol is Protocol.V2:
                self.model.received_v2(old_op, action.message, finished)
            else:
                message = action.message  # a v1 link decodes v1 frames
                self.model.received(old_op, old_link, message, finished)  # type: ignore[arg-type]

    def _acceptance(self, link: Link) -> ServerMessage | MuxServerMessage:
        """The frame with which the gateway accepts a socket of `link` (v1's)."""
        return AuthSuccess()

    def _receive(
        self, op: Operation, generation: int, message: ServerMessage | MuxServerMessage
    ) -> None:
        self._step(MessageReceived(link_id=op.link_id, generation=generation, message=message))

    # ------------------------------------------------------------------ choosing

    def _link(self, op: Operation) -> Link:
        return self.state.link_of(op)

    def _live_op(self, data: st.DataObject) -> Operation:
        return self._mostly_live(data, sorted(self.state.operations))

    def _mostly_live(self, data: st.DataObject, op_ids: list[str]) -> Operation:
        """One of `op_ids`: an unfinished one, or now and then any (finished ones too)."""
        operations = self.state.operations
        live = [op_id for op_id in op_ids if not operations[op_id].is_finished]
        finished_too = data.draw(NOW_AND_THEN, label="any op")
        choices = op_ids if finished_too or not live else live
        return operations[data.draw(st.sampled_from(choices), label="operation")]

    def _generation(self, data: st.DataObject, op: Operation) -> int:
        generation = self._link(op).generation
        stale = data.draw(NOW_AND_THEN, label="stale generation")
        return generation - 1 if stale and generation > 1 else generation

    def _running(self) -> list[str]:
        running = OperationStatus.RUNNING
        return sorted(op.id for op in self.state.operations.values() if op.status is running)

    def _draw_running(self, data: st.DataObject, label: str) -> Operation:
        return self.state.operations[data.draw(st.sampled_from(self._running()), label=label)]
