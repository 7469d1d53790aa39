"""The bench a demo scenario runs on, and the checks that judge how it ended.

Owns: `Lab` (the gateway, the client, its `Witness` middleware -- which counts each
operation's `NotifyFinished` effects and notes its `resume_complete` statuses, v1's and
v2's -- the topics whose token refresh is made to fail, and the lock that lets one v2
link fault strike at a time), `refresh_dependency`, `streamed` (wait for an operation's
own progress, never for wall-clock time) and `until_state` (the same for anything in
the state, such as a shared link), `Expectation`, `script_text` (the full text a script
streams) and the checks a scenario can ask for.

Must not know: which scenarios exist (`_scenarios`) or terminals (`_console`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable

import attrs
import trio

from gatewayops.effects import Client, RefreshTokenFn
from gatewayops.gateway import Emit, Gateway, RunHandle, Script
from gatewayops.protocol import EventType, MuxResumeComplete, ResumeComplete, SessionStatus
from gatewayops.store import (
    Action,
    FinishSource,
    GatewayState,
    MessageReceived,
    NotifyFinished,
    Operation,
    Outcome,
    Result,
    Step,
    is_input_loading,
)

__all__ = [
    "COMMON_CHECKS",
    "Check",
    "Expectation",
    "Lab",
    "TokenServiceDown",
    "Witness",
    "empty_replay_kept_running",
    "input_settled",
    "no_duplicated_text",
    "notified_once",
    "reconnected",
    "refresh_dependency",
    "script_text",
    "streamed",
    "text_exactly_once",
    "tool_result_recorded",
    "until_state",
]


@attrs.frozen(kw_only=True)
class Expectation:
    """How a scenario must end: a `Result` and, if given, the `FinishSource` that said so."""

    result: Result
    source: FinishSource | None = None

    def matches(self, outcome: Outcome | None) -> bool:
        """Whether `outcome` is what this expectation asks for."""
        if outcome is None or outcome.result is not self.result:
            return False
        return self.source is None or outcome.source is self.source

    def __str__(self) -> str:
        return self.result.value if self.source is None else f"{self.result}/{self.source}"


class Witness:
    """A store middleware that notes, per operation, what the demo's checks need.

    Attributes:
        finished: how many `NotifyFinished` effects each operation produced.
        resume_statuses: the statuses of every `resume_complete` each operation received.
    """

    def __init__(self) -> None:
        self.finished: Counter[str] = Counter()
        self.resume_statuses: defaultdict[str, list[SessionStatus | None]] = defaultdict(list)

    def __call__(self, old: GatewayState, action: Action, step: Step) -> None:
        if isinstance(action, MessageReceived):
            match action.message:
                case ResumeComplete(status=status):  # v1: the link's id is the operation's
                    self.resume_statuses[action.link_id].append(status)
                case MuxResumeComplete(operation_id=operation_id, status=status):
                    self.resume_statuses[operation_id].append(status)
        for effect in step.effects:
            if isinstance(effect, NotifyFinished):
                self.finished[effect.operation_id] += 1


class TokenServiceDown(Exception):
    """The simulated token service refuses to refresh (the refresh-fails scenario)."""


@attrs.define(kw_only=True)
class Lab:
    """What a scenario runs against.

    Attributes:
        gateway: the embedded reference gateway.
        client: the real client following every scenario's operation.
        witness: the middleware installed on the client.
        refusing_topics: topics whose token refresh fails (see `refresh_token`).
        link_faults: held by a v2 fault while it strikes the user's shared link.
    """

    gateway: Gateway
    client: Client
    witness: Witness
    refusing_topics: set[str] = attrs.Factory(set)
    link_faults: trio.Lock = attrs.Factory(trio.Lock)


def refresh_dependency(gateway: Gateway, refusing_topics: set[str]) -> RefreshTokenFn:
    """The client's `refresh_token`: the gateway's, unless the topic is set to refuse."""

    async def refresh_token(topic_id: str) -> str:
        if topic_id in refusing_topics:
            raise TokenServiceDown("token service unavailable (simulated)")
        return await gateway.refresh_token(topic_id)

    return refresh_token


async def streamed(
    client: Client, operation_id: str, predicate: Callable[[Operation], bool]
) -> Operation:
    """Wait until the followed operation satisfies `predicate` (or finishes); return it."""
    async with client.changes(operation_id) as changes:
        async for op in changes:
            if predicate(op) or op.is_finished:
                return op
    return client.state.operations[operation_id]


async def until_state(
    client: Client,
    predicate: Callable[[GatewayState], bool],
    then: Callable[[], object] = lambda: None,
) -> None:
    """Wait until `predicate` holds for the client's state (checked after every step);
    `then` is called at that very step, before anything else can happen (a fault that
    must strike while the state is so)."""
    if predicate(client.state):
        then()
        return
    reached = trio.Event()

    def listener(old: GatewayState, new: GatewayState, action: Action) -> None:
        if not reached.is_set() and predicate(new):
            then()
            reached.set()

    unsubscribe = client.subscribe(listener)
    try:
        await reached.wait()
    finally:
        unsubscribe()


def script_text(script: Script) -> str:
    """The assistant text a correct client shows for `script`: each chunk exactly once.

    Messages are joined by blank lines, like `Transcript.text`.
    """
    messages: list[str] = []
    for step in script.steps:
        if not isinstance(step, Emit):
            continue
        if step.type == EventType.STREAM_START:
            messages.append("")
        elif step.type == EventType.STREAM_CHUNK and step.data.get("chunkType") == "text":
            if not messages:
                messages.append("")
            messages[-1] += step.data.get("content") or ""
    return "\n\n".join(message for message in messages if message)


Check = Callable[[Lab, RunHandle, Script], str | None]
"""``check(lab, run, script)``: a problem (one line) or None, once the run finished."""


def _operation(lab: Lab, run: RunHandle) -> Operation:
    return lab.client.state.operations[run.operation_id]


def text_exactly_once(lab: Lab, run: RunHandle, script: Script) -> str | None:
    """The transcript is the script's full text, each chunk exactly once."""
    expected, shown = script_text(script), _operation(lab, run).transcript.text
    if shown == expected:
        return None
    if expected and shown.count(expected) > 1:
        return "the text was shown twice"
    return f"text differs: expected {len(expected)} chars, got {len(shown)}"


def no_duplicated_text(lab: Lab, run: RunHandle, script: Script) -> str | None:
    """What was shown before the end is a prefix of the script's text (nothing repeated)."""
    shown = _operation(lab, run).transcript.text
    if script_text(script).startswith(shown):
        return None
    return "the transcript is not a prefix of the script's text (duplicated or lost chunks)"


def reconnected(lab: Lab, run: RunHandle, script: Script) -> str | None:
    """The fault really bit: the operation needed a second socket."""
    if lab.client.state.link_of(_operation(lab, run)).generation >= 2:
        return None
    return "the operation never reconnected: the fault did not bite"


def input_settled(lab: Lab, run: RunHandle, script: Script) -> str | None:
    """The topic's input is no longer loading ("Send", not a stuck "Stop")."""
    if is_input_loading(lab.client.state, run.topic_id):
        return "the topic's input is still loading (stuck Stop button)"
    return None


def notified_once(lab: Lab, run: RunHandle, script: Script) -> str | None:
    """The operation produced exactly one `NotifyFinished`."""
    count = lab.witness.finished[run.operation_id]
    return None if count == 1 else f"{count} finish notifications instead of 1"


def empty_replay_kept_running(lab: Lab, run: RunHandle, script: Script) -> str | None:
    """After the hibernated reconnect the gateway said `running` and the client kept going."""
    statuses = lab.witness.resume_statuses[run.operation_id]
    if SessionStatus.RUNNING in statuses[1:]:
        return None
    return f"no resume_complete(running) after the reconnect (saw {[str(s) for s in statuses]})"


def tool_result_recorded(lab: Lab, run: RunHandle, script: Script) -> str | None:
    """The gateway received the local tool's successful result."""
    outcomes = lab.gateway.tool_outcomes(run.operation_id)
    if len(outcomes) == 1 and outcomes[0].result is not None and outcomes[0].result.success:
        return None
    return f"the gateway recorded {outcomes!r} instead of one successful tool result"


COMMON_CHECKS: tuple[Check, ...] = (notified_once, input_settled)
"""Checks every scenario gets in addition to its own."""
