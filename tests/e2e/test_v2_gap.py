"""A v2 resume gap end to end: the refetch it asks for must not wipe the transcript.

Everything is real and on 127.0.0.1: the client follows a streaming run over the
user's v2 socket; the socket drops and the next ones never say `ready`
(`MuxFaults.withhold_ready`), so the client misses the rest of the run; the run ends
and the gateway hibernates (its buffer is lost); then the hub lets the client back in.
Its subscribe is answered with a terminal `resume_complete{gap: true}` and nothing to
replay, and the client fetches the run's message list (PROTOCOL.md 7.8: the same
refetch as `notify_update`). That list is what the server persisted of the run
(PROTOCOL.md 8.6: the refetched list is the source of truth), so the transcript the
client ends with holds every streamed character exactly once.
"""

from __future__ import annotations

import attrs
import pytest
import trio

from gatewayops.effects import open_client
from gatewayops.gateway import RunHandle, Script, clean_run, error_run, tool_run
from gatewayops.store import (
    Action,
    Entry,
    FetchMessages,
    FinishSource,
    GatewayState,
    Operation,
    Outcome,
    Reasoning,
    Result,
    Step,
    Transcript,
)
from gatewayops.transport import WebSocketTransport

from .helpers import (
    FAST,
    Env,
    assert_v2_nothing_leaked,
    e2e,
    long_script,
    refetched_transcript,
    script_text,
)

AWAY = attrs.evolve(FAST, connect_timeout_ms=200, v2_dial_budget=1_000)
"""A short connect watchdog, so a socket that never says `ready` is given up on in a
fraction of a second, and a dial budget no test reaches: the client keeps redialling
(none of those dials counts against the run) until the hub lets it in again."""

DEADLINE = 20
"""Seconds the test may take at most (it waits for conditions, so a hang fails here)."""


class Fetches:
    """Middleware counting the `FetchMessages` effects the client's steps emitted."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, old: GatewayState, action: Action, step: Step) -> None:
        self.count += sum(isinstance(effect, FetchMessages) for effect in step.effects)


def has_text(op: Operation) -> bool:
    """Whether the operation has shown some of its text yet."""
    return bool(op.transcript.text)


def unnamed(entry: Entry) -> Entry:
    """`entry`, a thinking pass without its id (see the test below)."""
    return attrs.evolve(entry, id="") if isinstance(entry, Reasoning) else entry


async def through_a_gap(env: Env, run: RunHandle) -> tuple[Outcome, Transcript]:
    """Follow `run` over v2 until it has shown some text, then keep the client away
    (the socket dropped, the next ones never `ready`) until the run ended and the
    gateway lost its buffer; let it back in. The outcome, and the transcript once the
    fetched list is in."""
    seen = await env.until(run, has_text)
    assert not seen.is_finished
    env.gateway.v2.faults.withhold_ready(None)
    assert env.gateway.v2.faults.drop_links() == (1, 1)
    await env.gateway.wait_finished(run.operation_id)
    assert env.gateway.faults.hibernate(run.operation_id) > 0
    env.gateway.v2.faults.clear()
    outcome, op = await env.finish(run)
    assert outcome.source is FinishSource.RESUME_STATUS
    assert op.transcript.needs_refetch  # the gap asked for the list
    return outcome, await refetched_transcript(env, run.operation_id)


async def test_a_terminal_gap_refetch_gives_the_whole_text_once() -> None:
    """The client misses the end of a run whose events the gateway then loses: the
    terminal `resume_complete{gap: true}` ends it once (`resume_status`), one fetch
    brings the run's list, and the transcript holds the script's text exactly once --
    what it had streamed and what it missed -- instead of the empty list a gateway
    that keeps only patched messages returned."""
    fetches = Fetches()
    script = long_script("gap", chunks=20, delay=0.02)
    with trio.fail_after(DEADLINE):
        async with e2e(protocol="v2", config=AWAY, middleware=[fetches]) as env:
            run = env.start(script)
            outcome, transcript = await through_a_gap(env, run)
            assert outcome.result is Result.COMPLETED
            assert transcript.text == script_text(script)
            assert (fetches.count, transcript.refetch_problem) == (1, None)
            await assert_v2_nothing_leaked(env)


@pytest.mark.parametrize(
    ("script", "result"),
    [
        pytest.param(
            clean_run("A thought, then words.", reasoning="Think first.", delay=0.05),
            Result.COMPLETED,
            id="reasoning",
        ),
        pytest.param(
            tool_run(client=False, reasoning="A search will tell.", delay=0.05),
            Result.COMPLETED,
            id="server-tool",
        ),
        pytest.param(error_run(text="Half an answer", delay=0.05), Result.FAILED, id="error"),
    ],
)
async def test_the_list_after_a_gap_shows_what_a_gap_free_client_shows(
    script: Script, result: Result
) -> None:
    """The run's list, fetched after the gap, reads as the very entries (reasoning,
    text, tool calls with their results, the inline error, in order) that a v1 client
    following the same run with no fault built from its events. (Only a thinking
    pass's id differs: events name it by its place, `msg.reasoning.0`, a list by its
    message, `msg.reasoning`; `unnamed` leaves that id out.)"""
    with trio.fail_after(DEADLINE):
        async with e2e(protocol="v2", config=AWAY) as env:
            run = env.gateway.start_run(script)
            async with open_client(
                refresh_token=env.gateway.refresh_token, transport=WebSocketTransport()
            ) as witness:
                witness.start(
                    operation_id=run.operation_id,
                    topic_id=run.topic_id,
                    gateway_url=env.gateway.url,
                    token=run.token,
                )
                env.client.start(
                    operation_id=run.operation_id,
                    topic_id=run.topic_id,
                    gateway_url=env.gateway.url,
                    token=run.token,
                )
                outcome, transcript = await through_a_gap(env, run)
                await witness.wait_finished(run.operation_id)
                shown = witness.state.operations[run.operation_id].transcript
            assert outcome.result is result
            assert [unnamed(entry) for entry in transcript.entries] == [
                unnamed(entry) for entry in shown.entries
            ]
