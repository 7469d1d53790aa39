"""The v2 hub against a simple model, over arbitrary interleavings (PROTOCOL.md 7.3-7.4).

Hypothesis draws a sequence of subscribes (any cursor, executor or not, known operation
or not), unsubscribes, published events (`tool_execute` among them) and run ends, on two
operations and two sockets of one user. The hub runs with fake sockets that keep every
frame they are sent; a model says which frames each socket must get, in which order:
the replay after its cursor then `resume_complete` for a subscribe, live events only
while subscribed, `tool_execute` only to executors, the terminal event, `status_change`
and `session_complete` with consecutive ids when a run ends, and nothing after the end.
The user's lifecycle feed is checked apart: one entry per run end on every socket.
"""

from __future__ import annotations

from typing import Any

import trio
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gatewayops.gateway._hub import Hub
from gatewayops.gateway._operations import OperationRegistry
from gatewayops.gateway._tokens import GatewayClock
from gatewayops.protocol import (
    EventType,
    MuxAgentEvent,
    MuxResumeComplete,
    MuxServerMessage,
    MuxSessionComplete,
    OpLifecycle,
    SessionStatus,
    StatusChange,
    Subscribe,
    SubscribeFailed,
    decode_mux,
)

OPERATIONS = ("op-a", "op-b")
PEERS = 2
Frame = tuple[str, str, str | None, str | None]
"""What is compared of a frame: its class, operation, id and event type."""


class FakePeer:
    """A v2 socket that keeps what it is sent, decoded."""

    def __init__(self, index: int) -> None:
        self.name = f"peer-{index}"
        self.user_id = "user-1"
        self.received: list[MuxServerMessage] = []

    def send_frame(self, frame: str) -> None:
        self.received.append(decode_mux(frame))

    def abort(self) -> None:
        raise AssertionError("not used here")

    def go_away(self) -> None:
        raise AssertionError("not used here")


def _frame(message: MuxServerMessage) -> Frame:
    event_type = message.event.type if isinstance(message, MuxAgentEvent) else None
    event_id = getattr(message, "id", None)
    return (type(message).__name__, getattr(message, "operation_id", ""), event_id, event_type)


class Model:
    """What each peer must receive."""

    def __init__(self) -> None:
        self.number = dict.fromkeys(OPERATIONS, 0)
        self.buffer: dict[str, list[tuple[int, str]]] = {op: [] for op in OPERATIONS}
        self.ended = dict.fromkeys(OPERATIONS, False)
        self.subscribed: dict[tuple[int, str], bool] = {}
        self.expected: list[list[Frame]] = [[] for _ in range(PEERS)]

    def subscribe(self, peer: int, operation_id: str, cursor: int, executor: bool) -> None:
        if operation_id not in OPERATIONS:
            self.expected[peer].append(("SubscribeFailed", operation_id, None, None))
            return
        executor = self.subscribed.get((peer, operation_id), False) or executor
        for number, event_type in self.buffer[operation_id]:
            if number > cursor and (executor or event_type != EventType.TOOL_EXECUTE):
                self.expected[peer].append(("MuxAgentEvent", operation_id, str(number), event_type))
        self.expected[peer].append(("MuxResumeComplete", operation_id, None, None))
        self.subscribed[(peer, operation_id)] = executor

    def unsubscribe(self, peer: int, operation_id: str) -> None:
        self.subscribed.pop((peer, operation_id), None)

    def publish(self, operation_id: str, event_type: str) -> None:
        if self.ended[operation_id]:
            return
        self.number[operation_id] += 1
        number = self.number[operation_id]
        self.buffer[operation_id].append((number, event_type))
        for (peer, subscribed_to), executor in self.subscribed.items():
            if subscribed_to == operation_id and (executor or event_type != EventType.TOOL_EXECUTE):
                self.expected[peer].append(("MuxAgentEvent", operation_id, str(number), event_type))

    def finish(self, operation_id: str) -> None:
        if self.ended[operation_id]:
            return
        self.publish(operation_id, EventType.AGENT_RUNTIME_END)
        self.ended[operation_id] = True
        for kind in ("StatusChange", "MuxSessionComplete"):
            self.number[operation_id] += 1
            for peer, subscribed_to in self.subscribed:
                if subscribed_to == operation_id:
                    self.expected[peer].append(
                        (kind, operation_id, str(self.number[operation_id]), None)
                    )


_PEER = st.integers(0, PEERS - 1)
_OPERATION = st.sampled_from(OPERATIONS)
ACTIONS = st.lists(
    st.one_of(
        st.tuples(
            st.just("subscribe"),
            _PEER,
            st.sampled_from((*OPERATIONS, "op-missing")),
            st.integers(0, 6),
            st.booleans(),
        ),
        st.tuples(st.just("unsubscribe"), _PEER, _OPERATION),
        st.tuples(
            st.just("publish"),
            _OPERATION,
            st.sampled_from((EventType.STREAM_CHUNK, EventType.TOOL_EXECUTE)),
        ),
        st.tuples(st.just("finish"), _OPERATION),
    ),
    min_size=4,
    max_size=30,
)


async def _play(actions: list[tuple[Any, ...]]) -> tuple[list[FakePeer], Model]:
    registry = OperationRegistry(GatewayClock(epoch=0.0))
    hub = Hub(registry, GatewayClock(epoch=0.0))
    operations = {op: registry.create(op, f"topic-{op}") for op in OPERATIONS}
    peers = [FakePeer(index) for index in range(PEERS)]
    for peer in peers:
        hub.add(peer)
    model = Model()
    for action in actions:
        match action:
            case ("subscribe", peer, operation_id, cursor, executor):
                request = Subscribe(
                    operation_id=operation_id, last_event_id=str(cursor or ""), executor=executor
                )
                hub.subscribe(peers[peer], request)
                model.subscribe(peer, operation_id, cursor, executor)
            case ("unsubscribe", peer, operation_id):
                hub.unsubscribe(peers[peer], operation_id)
                model.unsubscribe(peer, operation_id)
            case ("publish", operation_id, event_type):
                registry.publish(operations[operation_id], event_type, {}, 0)
                model.publish(operation_id, event_type)
            case ("finish", operation_id):
                registry.finish(
                    operations[operation_id],
                    event_type=EventType.AGENT_RUNTIME_END,
                    data={},
                    step_index=0,
                    status=SessionStatus.COMPLETED,
                )
                model.finish(operation_id)
    return peers, model


@settings(max_examples=300, deadline=None)
@given(ACTIONS)
@example(  # a second subscribe without `executor` keeps the socket an executor
    [
        ("subscribe", 0, "op-a", 0, True),
        ("subscribe", 0, "op-a", 2, False),
        ("publish", "op-a", EventType.TOOL_EXECUTE),
    ]
)
def test_the_hub_sends_each_socket_what_the_model_says(actions: list[tuple[Any, ...]]) -> None:
    """Every socket gets exactly the model's frames in the model's order; each run end
    reaches every socket of its user once through the lifecycle feed."""
    peers, model = trio.run(_play, actions)
    ends = sum(model.ended.values())
    for index, peer in enumerate(peers):
        routed = [m for m in peer.received if not isinstance(m, OpLifecycle)]
        assert [_frame(m) for m in routed] == model.expected[index]
        feed = [m for m in peer.received if isinstance(m, OpLifecycle)]
        assert sum(1 for entry in feed if entry.status is SessionStatus.COMPLETED) == ends
        resumed = [m for m in routed if isinstance(m, MuxResumeComplete)]
        assert all(not m.gap and not m.pending for m in resumed)
        assert all(
            isinstance(
                m,
                SubscribeFailed
                | MuxAgentEvent
                | MuxResumeComplete
                | StatusChange
                | MuxSessionComplete,
            )
            for m in routed
        )
