"""The demo's scenarios: one gateway run per upstream failure, its fault and its verdict.

Owns: `Scenario` (a script, a fault injected mid-run, the expected outcome and extra
checks), the `SCENARIOS` in the order the demo shows them (the eight of the transport
and the terminal rules, then the five of `_asking_scenarios`, in which the agent asks),
`V2_SCENARIOS` (the same over protocol v2, with the v2 form of a fault where
`_v2_scenarios` has one, then the cases only v2 has), `scenarios_for` a protocol,
their scripts and faults, and the local tool the demo registers. Each fault waits for
the client's own progress before it strikes, so a scenario bites at the same point on a
slow machine.

Must not know: terminals or argument parsing (`_demo` runs and shows these), or the
reducer's rules (a scenario only states what a correct client ends with).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from gatewayops.cli._asking_scenarios import ASKING_CASES
from gatewayops.cli._lab import (
    COMMON_CHECKS,
    Check,
    Expectation,
    Lab,
    empty_replay_kept_running,
    no_duplicated_text,
    reconnected,
    streamed,
    text_exactly_once,
    tool_result_recorded,
)
from gatewayops.cli._v2_scenarios import V2_CASES, V2_FAULTS
from gatewayops.gateway import (
    Emit,
    Finish,
    Gateway,
    Pause,
    RunHandle,
    Script,
    ScriptStep,
    clean_run,
    tool_run,
)
from gatewayops.protocol import EventType
from gatewayops.store import FinishSource, Operation, Protocol, Result

__all__ = [
    "LOCAL_TOOLS",
    "SCENARIOS",
    "V2_SCENARIOS",
    "Scenario",
    "misconfigured",
    "operation_id_of",
    "scenarios_for",
    "start",
]


def _events_at_least(count: int) -> Callable[[Operation], bool]:
    return lambda op: op.transcript.events >= count


# ------------------------------------------------------------------------------- faults

Fault = Callable[[Lab, RunHandle], Awaitable[None]]
"""Injects the scenario's fault once its operation has streamed far enough."""


async def _expire_tokens(lab: Lab, run: RunHandle) -> None:
    await streamed(lab.client, run.operation_id, _events_at_least(6))
    lab.gateway.faults.expire_tokens(run.operation_id)


async def _forget_then_drop(lab: Lab, run: RunHandle) -> None:
    await streamed(lab.client, run.operation_id, _events_at_least(6))
    lab.gateway.faults.forget(run.operation_id)
    lab.gateway.faults.drop_sockets(run.operation_id)


async def _expire_with_refresh_down(lab: Lab, run: RunHandle) -> None:
    lab.refusing_topics.add(run.topic_id)
    await streamed(lab.client, run.operation_id, _events_at_least(6))
    lab.gateway.faults.expire_tokens(run.operation_id)


async def _drop(lab: Lab, run: RunHandle) -> None:
    await streamed(lab.client, run.operation_id, _events_at_least(6))
    lab.gateway.faults.drop_sockets(run.operation_id)


async def _hibernate_then_drop(lab: Lab, run: RunHandle) -> None:
    before = _BEFORE_HIBERNATION + " "
    await streamed(lab.client, run.operation_id, lambda op: op.transcript.text == before)
    lab.gateway.faults.hibernate(run.operation_id)
    lab.gateway.faults.drop_sockets(run.operation_id)


async def _stop(lab: Lab, run: RunHandle) -> None:
    await streamed(lab.client, run.operation_id, _events_at_least(6))
    lab.client.stop(run.operation_id)


async def _no_fault(lab: Lab, run: RunHandle) -> None:
    return None


async def local_tool(arguments: dict[str, Any]) -> dict[str, Any]:
    """The demo's client tool: adds up the numbers it is given."""
    numbers = arguments.get("numbers", [])
    return {"sum": sum(number for number in numbers if isinstance(number, int | float))}


LOCAL_TOOLS = {"calculator/add": local_tool}
"""The client tool handlers the demo registers."""


# ------------------------------------------------------------------------------- scenarios


@attrs.frozen(kw_only=True)
class Scenario:
    """One demo run: what the gateway plays, what goes wrong, and how it must end.

    Attributes:
        name: short id used on the command line and in the summary.
        shows: one line saying which rule it demonstrates.
        script: what the gateway plays.
        fault: injects the failure mid-run.
        expect: the outcome a correct client reaches.
        checks: extra checks run after it finished (besides `COMMON_CHECKS`).
        falls_back: v2: runs on a client of its own that falls back to v1, after the
            others (its fault takes v2 away from that whole client).
    """

    name: str
    shows: str
    script: Script
    fault: Fault
    expect: Expectation
    checks: tuple[Check, ...] = ()
    falls_back: bool = False

    def problems(self, lab: Lab, run: RunHandle) -> list[str]:
        """Every failed expectation or check, one line each (empty: the scenario passed)."""
        found = []
        got = lab.client.state.operations[run.operation_id].outcome
        if not self.expect.matches(got):
            shown = "unfinished" if got is None else f"{got.result}/{got.source}"
            found.append(f"expected {self.expect}, got {shown}")
        for check in (*COMMON_CHECKS, *self.checks):
            problem = check(lab, run, self.script)
            if problem is not None:
                found.append(problem)
        return found


def _words(count: int, label: str) -> str:
    return " ".join(f"{label}{index}" for index in range(1, count + 1))


_DELAY = 0.05

_BEFORE_HIBERNATION = _words(4, "before")


def _hibernating_script() -> Script:
    """Streams four chunks, goes quiet for a second (hibernated and dropped there), then ends."""
    start = {"assistantMessage": {"id": "msg-hibernated", "role": "assistant"}}
    before = [f"{word} " for word in _BEFORE_HIBERNATION.split()]
    after = [f"after{index}" + (" " if index < 4 else "") for index in range(1, 5)]
    steps: list[ScriptStep] = [
        Emit(type=EventType.AGENT_RUNTIME_INIT, data={}),
        Emit(type=EventType.STEP_START, data={}),
        Emit(type=EventType.STREAM_START, data=start),
    ]
    steps += [_text_chunk(piece) for piece in before]
    steps.append(Pause(seconds=1.0))
    steps += [_text_chunk(piece) for piece in after]
    steps += [
        Emit(type=EventType.STREAM_END, data={}),
        Emit(type=EventType.STEP_COMPLETE, data={"phase": "execution_complete"}),
        Finish(),
    ]
    paced: list[ScriptStep] = []
    for step in steps:
        paced.append(step)
        if isinstance(step, Emit):
            paced.append(Pause(seconds=_DELAY))
    return Script(name="hibernating_run", steps=tuple(paced))


def _text_chunk(piece: str) -> Emit:
    return Emit(type=EventType.STREAM_CHUNK, data={"chunkType": "text", "content": piece})


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        name="clean",
        shows="streams every chunk once and completes on its own terminal",
        script=clean_run(_words(12, "clean"), chunks=12, delay=_DELAY),
        fault=_no_fault,
        expect=Expectation(result=Result.COMPLETED, source=FinishSource.AGENT_EVENT),
        checks=(text_exactly_once,),
    ),
    Scenario(
        name="token-expiry",
        shows="auth_expired mid-run: one refresh, redial, resume (#14419)",
        script=clean_run(_words(16, "token"), chunks=16, delay=_DELAY),
        fault=_expire_tokens,
        expect=Expectation(result=Result.COMPLETED, source=FinishSource.AGENT_EVENT),
        checks=(text_exactly_once, reconnected),
    ),
    Scenario(
        name="forgotten",
        shows="run forgotten, then the socket drops: auth_failed is terminal",
        script=clean_run(_words(16, "gone"), chunks=16, delay=_DELAY),
        fault=_forget_then_drop,
        expect=Expectation(result=Result.AUTH_FAILED, source=FinishSource.AUTH_FAILED),
        checks=(no_duplicated_text, reconnected),
    ),
    Scenario(
        name="refresh-fails",
        shows="expired token, refresh keeps failing: auth failure at budget",
        script=clean_run(_words(40, "refresh"), chunks=40, delay=_DELAY),
        fault=_expire_with_refresh_down,
        expect=Expectation(result=Result.AUTH_FAILED, source=FinishSource.REFRESH_FAILED),
        checks=(no_duplicated_text,),
    ),
    Scenario(
        name="network-drop",
        shows="drop (1006): reconnect, resume, no chunk lost or repeated",
        script=clean_run(_words(16, "drop"), chunks=16, delay=_DELAY),
        fault=_drop,
        expect=Expectation(result=Result.COMPLETED, source=FinishSource.AGENT_EVENT),
        checks=(text_exactly_once, reconnected),
    ),
    Scenario(
        name="hibernated",
        shows="hibernate + drop: empty replay does not end the run (#15919)",
        script=_hibernating_script(),
        fault=_hibernate_then_drop,
        expect=Expectation(result=Result.COMPLETED, source=FinishSource.AGENT_EVENT),
        checks=(text_exactly_once, reconnected, empty_replay_kept_running),
    ),
    Scenario(
        name="stop",
        shows="the user presses Stop: the run ends once the gateway confirms",
        script=clean_run(_words(60, "stop"), chunks=60, delay=_DELAY),
        fault=_stop,
        expect=Expectation(result=Result.INTERRUPTED),
        checks=(no_duplicated_text,),
    ),
    Scenario(
        name="client-tool",
        shows="tool_execute runs a local tool; one tool_result is sent",
        script=tool_run(
            identifier="calculator",
            api_name="add",
            arguments={"numbers": [20, 22]},
            answer="The sum is 42, computed on the client.",
            delay=_DELAY,
        ),
        fault=_no_fault,
        expect=Expectation(result=Result.COMPLETED, source=FinishSource.AGENT_EVENT),
        checks=(text_exactly_once, tool_result_recorded),
    ),
    *(
        Scenario(
            name=case.name,
            shows=case.shows,
            script=case.script,
            fault=case.answer,
            expect=case.expect,
            checks=case.checks,
        )
        for case in ASKING_CASES
    ),
)
"""Every demo scenario over protocol v1, in the order the demo shows them."""


def _over_v2(scenario: Scenario) -> Scenario:
    """`scenario` with the v2 form of its fault (and ending), if its fault has one."""
    if scenario.name not in V2_FAULTS:
        return scenario
    shows, fault, expect = V2_FAULTS[scenario.name]
    return attrs.evolve(scenario, shows=shows, fault=fault, expect=expect or scenario.expect)


V2_SCENARIOS: tuple[Scenario, ...] = (
    *(_over_v2(scenario) for scenario in SCENARIOS),
    *(
        Scenario(
            name=case.name,
            shows=case.shows,
            script=case.script,
            fault=case.fault,
            expect=case.expect,
            checks=case.checks,
            falls_back=case.falls_back,
        )
        for case in V2_CASES
    ),
)
"""Every demo scenario over protocol v2, in the order the demo shows them."""


def scenarios_for(protocol: Protocol) -> tuple[Scenario, ...]:
    """The scenarios the demo runs over `protocol`."""
    return V2_SCENARIOS if protocol is Protocol.V2 else SCENARIOS


def operation_id_of(scenario: Scenario) -> str:
    """The fixed id of the scenario's operation, ``op-NAME``."""
    return f"op-{scenario.name}"


def start(gateway: Gateway, scenario: Scenario) -> RunHandle:
    """Start the scenario's run, with fixed ids (`operation_id_of` on ``topic-NAME``)."""
    return gateway.start_run(
        scenario.script, operation_id=operation_id_of(scenario), topic_id=f"topic-{scenario.name}"
    )


def misconfigured(scenario: Scenario) -> Scenario:
    """The scenario with an expectation it cannot meet (proves the demo reports failures)."""
    wrong = Result.FAILED if scenario.expect.result is not Result.FAILED else Result.COMPLETED
    return attrs.evolve(scenario, expect=Expectation(result=wrong))
