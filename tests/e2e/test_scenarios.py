"""Each demo scenario, alone against a fresh gateway, ends as it declares and leaks nothing.

The scenarios are the ones `gatewayops demo` runs side by side (`gatewayops.cli._scenarios`);
here each gets its own gateway and client so a failure names one rule.
"""

from __future__ import annotations

import pytest
import trio

from gatewayops.cli._lab import Lab, refresh_dependency
from gatewayops.cli._scenarios import LOCAL_TOOLS, SCENARIOS, Scenario, start
from gatewayops.protocol import ResumeComplete, SessionStatus
from gatewayops.store import Action, FinishSource, GatewayState, MessageReceived, Result

from .helpers import assert_nothing_leaked, e2e


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[scenario.name for scenario in SCENARIOS])
async def test_scenario_ends_as_expected_without_leaks(scenario: Scenario) -> None:
    """The scenario's operation reaches its declared outcome, passes its checks, leaks nothing."""
    refusing: set[str] = set()

    with trio.fail_after(10):
        async with e2e(
            tools=LOCAL_TOOLS, refresh_token=lambda gateway: refresh_dependency(gateway, refusing)
        ) as env:
            lab = Lab(
                gateway=env.gateway,
                client=env.client,
                witness=env.witness,
                refusing_topics=refusing,
            )
            run = start(env.gateway, scenario)
            env.client.start(
                operation_id=run.operation_id,
                topic_id=run.topic_id,
                gateway_url=env.gateway.url,
                token=run.token,
            )
            await scenario.fault(lab, run)
            outcome = await env.client.wait_finished(run.operation_id)
            assert scenario.expect.matches(outcome), outcome
            assert scenario.problems(lab, run) == []
            await assert_nothing_leaked(env)
            if outcome.result is Result.COMPLETED:
                assert env.gateway.operation_status(run.operation_id) is SessionStatus.COMPLETED


async def test_hibernated_scenario_saw_an_empty_replay_and_kept_running() -> None:
    """After hibernation the reconnect replays nothing, the gateway says `running`, and the
    run only ends later, on its own terminal event (PROTOCOL.md 3.2, #15919)."""
    scenario = next(s for s in SCENARIOS if s.name == "hibernated")
    resumed = trio.Event()
    seen: list[tuple[SessionStatus | None, int, bool]] = []

    def on_resume_complete(old: GatewayState, new: GatewayState, action: Action) -> None:
        if isinstance(action, MessageReceived) and isinstance(action.message, ResumeComplete):
            op = new.operations[new.links[action.link_id].operation_id]
            seen.append((action.message.status, op.transcript.events, op.is_finished))
            if action.generation >= 2:
                resumed.set()

    with trio.fail_after(10):
        async with e2e() as env:
            env.client.subscribe(on_resume_complete)
            lab = Lab(gateway=env.gateway, client=env.client, witness=env.witness)
            run = start(env.gateway, scenario)
            env.client.start(
                operation_id=run.operation_id,
                topic_id=run.topic_id,
                gateway_url=env.gateway.url,
                token=run.token,
            )
            await scenario.fault(lab, run)
            events_before_drop = env.operation(run).transcript.events
            await resumed.wait()
            assert seen[-1] == (SessionStatus.RUNNING, events_before_drop, False)
            outcome, op = await env.finish(run)
            assert (outcome.result, outcome.source) == (Result.COMPLETED, FinishSource.AGENT_EVENT)
            assert op.transcript.events > events_before_drop
