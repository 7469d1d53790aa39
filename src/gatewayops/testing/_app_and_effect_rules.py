"""The rules of `GatewayMachine` for what the application and the effect handlers report.

Owns: the application's actions (start, attach, stop, detach, re-attach, a token
replaced, a reconnect asked for, a finished operation forgotten, and a refused forget of
a live one) within the limits the composer keeps (one running
operation per topic, few alive at once), and the results the runtime reports for the
effects the model saw asked for (refreshes, interrupts, tools, timers, a tool result's
failed write, answers submitted, the server's message list fetched), the user's answers
to the agent's questions, plus now and then a `HandlingFailed`. Actions with anything to draw come
from `gatewayops.testing.strategies`. Must not know: sockets or server frames (the
socket and server rules), how a step is checked (`_machine_base`), Trio or I/O.
"""

from __future__ import annotations

import attrs
import hypothesis.strategies as st
from hypothesis.stateful import precondition, rule

from gatewayops.exceptions import OperationNotFinished
from gatewayops.store import (
    HandlingFailed,
    InterventionAnswered,
    InterventionDeclined,
    InterventionStatus,
    InterventionSubmitFailed,
    InterventionSubmitted,
    OperationAttached,
    OperationDetached,
    OperationForgotten,
    OperationStarted,
    OperationStatus,
    ReconnectRequested,
    SendFailed,
    StopRequested,
    Timer,
    link_resources,
    operation_resources,
    reduce,
)
from gatewayops.testing import strategies as gs
from gatewayops.testing._machine_base import NOW_AND_THEN, MachineBase
from gatewayops.testing._model import TOPICS, ServerSide

__all__ = ["AppAndEffectRules"]

MAX_LIVE = 3


class AppAndEffectRules(MachineBase):
    """The application's actions, and the results of the effects it was asked for."""

    # ------------------------------------------------------------------ the application

    @rule(
        data=st.data(),
        topic=st.sampled_from(TOPICS),
        attach=st.sampled_from([True, True, False]),
        cursor=st.sampled_from(["", "", "2"]),
    )
    def start_or_attach(self, data: st.DataObject, topic: str, attach: bool, cursor: str) -> None:
        """The app starts a new run, or attaches to a running one (with or without cursor)."""
        self.started += 1
        op_id = f"op-{self.started}"
        if not self.model.topic_free_for(topic, op_id):
            return  # the composer shows Stop: a new run cannot start on a busy topic
        if sum(not op.is_finished for op in self.state.operations.values()) >= MAX_LIVE:
            return  # keep few operations alive, so each gets deep into its lifecycle
        self.servers[op_id] = ServerSide(next_id=int(cursor or 0))
        url = self.gateway_urls
        arrivals: st.SearchStrategy[OperationStarted | OperationAttached] = (
            gs.operations_attached(
                operation_id=op_id, topic_id=topic, last_event_id=cursor, gateway_url=url
            )
            if attach
            else gs.operations_started(operation_id=op_id, topic_id=topic, gateway_url=url)
        )
        self._step(data.draw(arrivals, label="arrival"))
        self.model.followed(op_id, topic)

    @precondition(lambda self: self.state.operations)
    @rule(data=st.data(), pressed=st.sampled_from([True, False, False, False]))
    def stop(self, data: st.DataObject, pressed: bool) -> None:
        """The user presses stop (now and then: most runs are left to end by themselves)."""
        if pressed:
            self._step(StopRequested(operation_id=self._live_op(data).id))

    @precondition(lambda self: self.state.operations)
    @rule(data=st.data(), now=st.sampled_from([True, False, False]))
    def detach_or_reattach(self, data: st.DataObject, now: bool) -> None:
        """The app looks away from an operation, or comes back to a detached one."""
        op = self._live_op(data)
        if not now or op.is_finished:
            return
        if op.status is OperationStatus.RUNNING:
            self._step(OperationDetached(operation_id=op.id))
            self.model.detached(op.id)
        elif self.model.topic_free_for(op.topic_id, op.id):
            back = gs.operations_attached(
                operation_id=op.id,
                topic_id=op.topic_id,
                last_event_id="",
                gateway_url=self.gateway_urls,
            )
            self._step(data.draw(back, label="re-attach"))
            self.model.followed(op.id, op.topic_id)

    @precondition(lambda self: self.state.operations)
    @rule(data=st.data(), now=st.sampled_from([True] + [False] * 9))
    def token_replaced_or_reconnected(self, data: st.DataObject, now: bool) -> None:
        """The app hands over a fresh token, and now and then asks to reconnect at once."""
        op = self._live_op(data)
        if not now:
            return
        self._step(data.draw(gs.tokens_replaced(operation_id=op.id), label="new token"))
        if not op.is_finished and self.model.topic_free_for(op.topic_id, op.id):
            self._step(ReconnectRequested(operation_id=op.id))
            self.model.followed(op.id, op.topic_id)

    def _asking(self) -> list[str]:
        operations = self.state.operations
        return sorted(op_id for op_id in self._running() if operations[op_id].human.open)

    @precondition(lambda self: self._asking())
    @rule(data=st.data(), decline=NOW_AND_THEN)
    def user_answers(self, data: st.DataObject, decline: bool) -> None:
        """The user answers (or declines) an open intervention, or repeats the answer
        being resolved (the same resolution id: idempotent)."""
        op = self.state.operations[data.draw(st.sampled_from(self._asking()), label="asking")]
        item = op.human.open[data.draw(st.sampled_from(sorted(op.human.open)), label="call")]
        resolution = item.resolution_request_id
        if item.status is InterventionStatus.PENDING or resolution is None:
            self.answers += 1
            resolution = f"answer-{self.answers}"
        keys = {"operation_id": op.id, "tool_call_id": item.tool_call_id}
        if item.status is InterventionStatus.RESOLVING and item.declined != decline:
            decline = item.declined  # a repeat is the same answer
        if decline:
            self._step(InterventionDeclined(**keys, resolution_request_id=resolution))
        else:
            self._step(InterventionAnswered(**keys, resolution_request_id=resolution, result="yes"))

    @precondition(lambda self: self.model.pending_submissions)
    @rule(data=st.data(), fails=st.booleans())
    def submission_result(self, data: st.DataObject, fails: bool) -> None:
        """A submitted answer reached the producer, or did not."""
        effect = data.draw(st.sampled_from(self.model.pending_submissions), label="submission")
        self.model.pending_submissions.remove(effect)
        keys = {
            "operation_id": effect.operation_id,
            "tool_call_id": effect.tool_call_id,
            "resolution_request_id": effect.resolution_request_id,
        }
        if fails:
            self._step(InterventionSubmitFailed(**keys, error="offline (test)"))
        else:
            self._step(InterventionSubmitted(**keys))

    @precondition(lambda self: self.state.operations)
    @rule(data=st.data(), now=st.sampled_from([True, False, False]))
    def forget(self, data: st.DataObject, now: bool) -> None:
        """The app forgets a finished operation; forgetting a live one is refused."""
        op = self._live_op(data)
        if not now:
            return
        if op.is_finished:
            self._step(OperationForgotten(operation_id=op.id))
            self.model.forgot(op.id)
            return
        try:
            reduce(self.state, OperationForgotten(operation_id=op.id))
        except OperationNotFinished:
            return
        raise AssertionError(f"forgetting {op.status.value} {op.id} was not refused")

    @precondition(lambda self: self.state.operations)
    @rule(data=st.data(), now=st.sampled_from([True] + [False] * 19))
    def carrying_out_fails(self, data: st.DataObject, now: bool) -> None:
        """Rarely, the runtime reports that carrying something out failed: the run ends."""
        op = self._live_op(data)
        if now:
            self._step(HandlingFailed(operation_id=op.id, error="internal error (test)"))
            assert self.state.operations[op.id].is_finished, f"{op.id} left open"

    # ------------------------------------------------------------------ effect results

    @precondition(lambda self: self.model.pending_fetches)
    @rule(data=st.data())
    def fetch_answer(self, data: st.DataObject) -> None:
        """The fetch of an operation's message list returns (its run may have ended, or
        been forgotten): only the transcript may change, and a forgotten run stays gone."""
        op_id = data.draw(st.sampled_from(sorted(self.model.pending_fetches)), label="fetched")
        self.model.pending_fetches.discard(op_id)
        before = self.state.operations.get(op_id)
        self._step(data.draw(gs.fetch_answers(operation_id=op_id), label="fetch answer"))
        after = self.state.operations.get(op_id)
        if before is None or after is None:
            assert before is after, f"the fetch answer revived forgotten {op_id}"
            return
        assert after == attrs.evolve(before, transcript=after.transcript), f"{op_id} changed"

    @precondition(lambda self: self.model.pending_interrupt)
    @rule(data=st.data())
    def interrupt_result(self, data: st.DataObject) -> None:
        """The interrupt call returns: confirmed or not."""
        op_id = data.draw(st.sampled_from(sorted(self.model.pending_interrupt)))
        self.model.pending_interrupt.discard(op_id)
        self._step(data.draw(gs.interrupt_results(operation_id=op_id), label="interrupt"))

    @precondition(lambda self: self.state.operations)
    @rule(data=st.data())
    def timer_fires(self, data: st.DataObject) -> None:
        """A live timer elapses, or a long-cancelled one fires late."""
        op = self._live_op(data)
        config = self.state.config
        timers = sorted(
            (
                resource
                for resource in (
                    *link_resources(self._link(op), config),
                    *operation_resources(op, config),
                )
                if isinstance(resource, Timer)
            ),
            key=repr,
        )
        self._step(data.draw(gs.timers_fired(owner=op.id, live=timers), label="timer"))

    @precondition(lambda self: self.model.pending_refresh)
    @rule(data=st.data(), unasked=NOW_AND_THEN)
    def refresh_result(self, data: st.DataObject, unasked: bool) -> None:
        """A token refresh returns (for a pending refresh, or now and then for another op)."""
        unasked = unasked and bool(self.state.operations)  # all may have been forgotten
        choices = sorted(self.state.operations) if unasked else sorted(self.model.pending_refresh)
        op_id = data.draw(st.sampled_from(choices), label="refresh of")
        self.model.pending_refresh.discard(op_id)
        self._step(data.draw(gs.refresh_results(operation_id=op_id), label="refresh result"))

    @precondition(lambda self: any(self.model.pending_tools.values()))
    @rule(data=st.data(), twice=st.booleans())
    def tool_finishes(self, data: st.DataObject, twice: bool) -> None:
        """A client tool finishes, mostly one of a live run (reported once, or a buggy twice)."""
        pending = self.model.pending_tools
        op = self._mostly_live(data, sorted(op_id for op_id, calls in pending.items() if calls))
        finished = gs.tool_finishes(operation_id=op.id, tool_call_id=pending[op.id].pop(0))
        action = data.draw(finished, label="tool result")
        for _ in range(2 if twice else 1):
            self._step(action)

    @precondition(lambda self: self.model.sent_tool_results)
    @rule(data=st.data())
    def tool_result_send_fails(self, data: st.DataObject) -> None:
        """Writing a tool result failed (the socket died under it)."""
        effect = data.draw(st.sampled_from(self.model.sent_tool_results))
        self.model.sent_tool_results.remove(effect)
        failed = SendFailed(
            link_id=effect.link_id, generation=effect.generation, message=effect.message
        )
        self._step(failed)
