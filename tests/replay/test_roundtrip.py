"""A recorded session replays exactly: same effects at every step, same states."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import get_args

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatewayops.protocol import (
    Auth,
    AuthFailed,
    AuthSuccess,
    ClientMessage,
    Heartbeat,
    ServerMessage,
    ToolError,
    ToolResult,
)
from gatewayops.replay import (
    REDACTED,
    Direction,
    Recorder,
    ReplayReport,
    open_recorder,
    parse_log,
    read_log,
    replay,
)
from gatewayops.replay._codec import decode_item, encode_item
from gatewayops.replay._places import PLACES, Item, item_subject
from gatewayops.store import (
    Action,
    BadMessageReceived,
    Effect,
    ExecuteTool,
    FetchMessages,
    FinishSource,
    GatewayState,
    HandlingFailed,
    InterruptConfirmed,
    InterruptFailed,
    InterventionAnswered,
    InterventionDeclined,
    InterventionSubmitFailed,
    InterventionSubmitted,
    LinkConnectRequested,
    LinkDisconnectRequested,
    MessageReceived,
    MessagesFetched,
    MessagesFetchFailed,
    NetworkRestored,
    NotifyFinished,
    OperationAttached,
    OperationDetached,
    OperationForgotten,
    OperationStarted,
    Outcome,
    ReconnectRequested,
    RefreshToken,
    RequestInterrupt,
    Result,
    SendFailed,
    SendMessage,
    SocketClosed,
    SocketFailed,
    SocketOpened,
    SocketWentQuiet,
    Step,
    StopRequested,
    Store,
    SubmitIntervention,
    Timer,
    TimerFired,
    TimerKind,
    TokenRefreshed,
    TokenRefreshFailed,
    TokenReplaced,
    ToolFinished,
    reduce,
)
from gatewayops.testing import strategies
from gatewayops.testing.state_machine import GatewayMachine

from .helpers import (
    CONFIG,
    FRESH_SECRET,
    GATEWAY,
    SECRET,
    chunk,
    lines,
    received,
    record_session,
    redacted,
)


def _replay_text(text: str, until: int | None = None) -> ReplayReport:
    return replay(parse_log(text.splitlines(keepends=True)), until=until)


def test_recorded_session_replays_to_the_live_final_state(tmp_path: Path) -> None:
    """Replaying a recording gives no divergence, no violation, and the live final state."""
    session = record_session(tmp_path / "session.jsonl")
    report = replay(read_log(session.path))
    assert report.ok, report.to_text()
    assert report.records == len(lines(session.path)) - 1
    assert report.state == redacted(session.store.state)


def test_until_gives_the_state_after_each_record(tmp_path: Path) -> None:
    """`until=N` stops with exactly the live state after record N, for every action."""
    session = record_session(tmp_path / "session.jsonl")
    for seq, live in session.states.items():
        report = replay(read_log(session.path), until=seq)
        assert report.ok, report.to_text()
        assert report.state == redacted(live), f"state after record {seq}"


def test_tokens_are_redacted_at_record_time(tmp_path: Path) -> None:
    """No token reaches the log; every token field and auth frame says "<redacted>"."""
    session = record_session(tmp_path / "session.jsonl")
    text = session.path.read_text()
    assert SECRET not in text
    assert FRESH_SECRET not in text
    assert text.count(f'"token":"{REDACTED}"') == 6  # 2 starts, 1 refresh, 3 auth frames


def test_effects_and_only_effects_are_outbound() -> None:
    """The registry files exactly the store's effect classes as outbound records."""
    outbound = {cls for cls, (direction, _) in PLACES.items() if direction is Direction.OUT}
    assert outbound == set(get_args(Effect))
    assert set(PLACES) - outbound == set(get_args(Action))


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    server=strategies.server_messages(),
    client=strategies.client_messages(),
    generation=st.integers(min_value=0, max_value=2**31),
)
def test_frames_round_trip_through_the_codec(
    server: ServerMessage, client: ClientMessage, generation: int
) -> None:
    """Frames in and out, and failed sends, decode to what was encoded (auth redacted)."""
    if isinstance(client, Auth):
        client = Auth(token=REDACTED)
    for item in (
        MessageReceived(link_id="op", generation=generation, message=server),
        SendMessage(link_id="op", generation=generation, message=client),
        SendFailed(link_id="op", generation=generation, message=client),
    ):
        assert decode_item(encode_item(item), "op") == item


def _one_of_each() -> list[Item]:
    timer = Timer(owner="op", kind=TimerKind.TOOL_DEADLINE, delay_ms=5, tool_call_id="c")
    outcome = Outcome(result=Result.FAILED, source=FinishSource.AGENT_EVENT, detail="boom")
    result = ToolResult(tool_call_id="c", success=False, error=ToolError(message="no", type="x"))
    return [
        OperationStarted(operation_id="op", topic_id="t", gateway_url=GATEWAY, token=REDACTED),
        OperationAttached(
            operation_id="op", topic_id="t", gateway_url=GATEWAY, token=REDACTED, last_event_id="7"
        ),
        StopRequested(operation_id="op"),
        OperationDetached(operation_id="op"),
        SocketOpened(link_id="op", generation=3),
        SocketClosed(link_id="op", generation=3, code=None, reason="gone"),
        SocketFailed(link_id="op", generation=3, error="refused", retryable=False),
        MessageReceived(link_id="op", generation=3, message=AuthFailed(reason="bad")),
        BadMessageReceived(link_id="op", generation=3, error="frame: malformed JSON"),
        SendFailed(link_id="op", generation=3, message=result),
        TokenRefreshed(operation_id="op", token=REDACTED),
        TokenRefreshFailed(operation_id="op", error="down", not_found=True),
        TimerFired(timer=timer),
        TimerFired(timer=Timer(owner="op", kind=TimerKind.HEARTBEAT, generation=3, delay_ms=9)),
        ToolFinished(operation_id="op", result=result),
        InterruptConfirmed(operation_id="op"),
        InterruptFailed(operation_id="op", error="no"),
        SendMessage(link_id="op", generation=3, message=Heartbeat()),
        RefreshToken(operation_id="op", topic_id="t"),
        RequestInterrupt(operation_id="op", topic_id="t"),
        ExecuteTool(
            operation_id="op",
            tool_call_id="c",
            identifier="calc",
            api_name="add",
            arguments="{}",
            timeout_ms=900,
        ),
        NotifyFinished(operation_id="op", topic_id="t", outcome=outcome),
        TokenReplaced(operation_id="op", token="secret"),
        ReconnectRequested(operation_id="op"),
        OperationForgotten(operation_id="op"),
        NetworkRestored(),
        LinkDisconnectRequested(gateway_url="ws://gateway.test"),
        LinkConnectRequested(gateway_url="ws://gateway.test/"),
        SocketWentQuiet(link_id="op", generation=3, quiet_ms=180_000),
        HandlingFailed(operation_id="op", error="internal error carrying out X"),
        InterventionAnswered(
            operation_id="op",
            tool_call_id="c",
            resolution_request_id="r",
            result={"answers": [{"id": "red"}], "note": None},
        ),
        InterventionDeclined(operation_id="op", tool_call_id="c", resolution_request_id="r"),
        InterventionSubmitted(operation_id="op", tool_call_id="c", resolution_request_id="r"),
        InterventionSubmitFailed(
            operation_id="op", tool_call_id="c", resolution_request_id="r", error="down"
        ),
        SubmitIntervention(
            operation_id="op",
            topic_id="t",
            tool_call_id="c",
            resolution_request_id="r",
            result=["yes", 2],
        ),
        FetchMessages(operation_id="op", topic_id="t"),
        MessagesFetched(
            operation_id="op",
            messages=[{"id": "u1", "role": "user", "content": "q"}, {"id": "a1", "tools": []}],
            revision=7,
        ),
        MessagesFetched(operation_id="op", messages=None),
        MessagesFetchFailed(operation_id="op", error="HTTP 503"),
        MessageReceived(
            link_id="op",
            generation=3,
            message=AuthFailed(reason="{}", problems=("auth_failed.reason: expected str",)),
        ),
    ]


def test_every_action_and_effect_class_round_trips() -> None:
    """One instance of each action and effect class is recovered exactly from its payload
    (a received frame with its decoding problems too)."""
    items = _one_of_each()
    assert {type(item) for item in items} == set(PLACES)
    for item in items:
        subject = "op"
        if isinstance(item, NetworkRestored):
            subject = ""  # about every link
        elif isinstance(item, LinkDisconnectRequested | LinkConnectRequested):
            subject = "v2:ws://gateway.test"  # the link of its gateway
        assert item_subject(item) == subject
        decoded = decode_item(json.loads(json.dumps(encode_item(item))), subject)
        if isinstance(item, TokenReplaced):
            assert decoded == TokenReplaced(operation_id="op", token=REDACTED)
        else:
            assert decoded == item


class RecordedMachine(GatewayMachine):
    """The reducer's state machine, recording every step and replaying it at the end."""

    def __init__(self) -> None:
        super().__init__()
        self.log = io.StringIO()
        self.recorder: Recorder | None = None
        self.live: dict[int, GatewayState] = {}

    def _step(self, action: Action) -> None:
        if self.recorder is None:
            self.recorder = Recorder(self.log, config=self.state.config)
        old = self.state
        super()._step(action)
        step = reduce(old, action)
        assert step.state == self.state  # pure: the recomputed step is the one taken
        seq = self.recorder.records + 1
        self.recorder(old, action, Step(state=self.state, effects=step.effects))
        self.live[seq] = self.state

    def teardown(self) -> None:
        """Replay the recording: no divergence, no violation, the same states."""
        if self.recorder is None:
            return
        self.recorder.flush()
        assert self.recorder.error is None
        text = self.log.getvalue()
        report = _replay_text(text)
        assert report.divergence is None, report.divergence.to_text()
        assert report.violation_count == 0, [str(v) for v in report.violations]
        assert report.state == redacted(self.state)
        middle = sorted(self.live)[len(self.live) // 2]
        assert _replay_text(text, until=middle).state == redacted(self.live[middle])


TestRecordedMachine = RecordedMachine.TestCase
TestRecordedMachine.settings = settings(
    max_examples=60,
    stateful_step_count=50,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_a_log_being_written_is_readable_after_each_flush(tmp_path: Path) -> None:
    """With flush_every=2, the records of a step are on disk and replay before the close."""
    path = tmp_path / "live.jsonl"
    state = GatewayState(config=CONFIG)
    with open_recorder(path, config=CONFIG, flush_every=2) as recorder:
        for action in (
            OperationStarted(operation_id="op", topic_id="t", gateway_url=GATEWAY, token="x"),
            SocketOpened(link_id="op", generation=1),  # sends auth: 2 records, a flush
        ):
            step = reduce(state, action)
            recorder(state, action, step)
            state = step.state
        report = replay(read_log(path))
        assert report.ok, report.to_text()
        assert report.records == 3
        assert report.state == redacted(state)


def test_an_id_going_back_replays_clean_and_the_report_names_it() -> None:
    """A gateway whose ids restart is no divergence and no violation: the replay reports
    it as a problem of the operation, in text and JSON."""
    log = io.StringIO()
    recorder = Recorder(log, config=CONFIG)
    store = Store(GatewayState(config=CONFIG), middleware=[recorder])
    for action in (
        OperationStarted(operation_id="op", topic_id="t", gateway_url=GATEWAY, token="x"),
        SocketOpened(link_id="op", generation=1),
        received("op", 1, AuthSuccess()),
        received("op", 1, chunk("op", "a", "5")),
        received("op", 1, chunk("op", "b", "1")),
    ):
        store.dispatch(action)
    recorder.flush()
    report = _replay_text(log.getvalue())
    assert report.ok, report.to_text()
    assert "1 problem (last: event id '1' does not follow '5')" in report.to_text()
    (timeline,) = report.to_json()["operations"]
    assert (timeline["problems"], timeline["cursor"]) == (1, "1")
