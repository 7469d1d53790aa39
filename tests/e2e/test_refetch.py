"""Message patches against the real gateway on loopback (PROTOCOL.md 7.8): a patch that
never arrives is recovered by fetching the server's list (`Gateway.fetch_messages` as
the client's `fetch_messages`), and the run ends exactly once with the whole
transcript, whether the gap shows mid-run or only at the run's end."""

from __future__ import annotations

import trio

from gatewayops.gateway import patched_run
from gatewayops.store import (
    Action,
    AssistantMessage,
    Effect,
    FetchMessages,
    GatewayState,
    NotifyFinished,
    Result,
    Step,
    Transcript,
    UserMessage,
)

from .helpers import assert_nothing_leaked, e2e, refetched_transcript

ANSWER = "The list came back whole."
PROMPT = "Recover the gap."


class Asks:
    """Middleware keeping the effects of each step that asked for the server's list."""

    def __init__(self) -> None:
        self.steps: list[tuple[type[Effect], ...]] = []

    def __call__(self, old: GatewayState, action: Action, step: Step) -> None:
        if any(isinstance(effect, FetchMessages) for effect in step.effects):
            self.steps.append(tuple(type(effect) for effect in step.effects))


def _assert_whole(transcript: Transcript) -> None:
    kinds = [(type(entry), getattr(entry, "text", "")) for entry in transcript.entries]
    assert kinds == [(UserMessage, PROMPT), (AssistantMessage, ANSWER)], kinds
    assert (transcript.revision, transcript.pending_revision) == (2, None)


async def test_a_gap_mid_run_is_recovered_by_the_refetch() -> None:
    """The first patch is skipped: the second one is a gap, the client fetches the
    list, adopts it at revision 2 and the patch-mode end needs nothing more."""
    asks = Asks()
    with trio.fail_after(10):
        async with e2e(middleware=[asks]) as env:
            run = env.gateway.start_run(patched_run(ANSWER, prompt=PROMPT, delay=0.01))
            env.gateway.faults.skip_patches(run.operation_id)
            env.client.start(
                operation_id=run.operation_id,
                topic_id=run.topic_id,
                gateway_url=env.gateway.url,
                token=run.token,
            )
            outcome, _ = await env.finish(run)
            assert outcome.result is Result.COMPLETED
            _assert_whole(await refetched_transcript(env, run.operation_id))
            assert asks.steps == [(FetchMessages,)]
            assert env.witness.finished == {run.operation_id: 1}
            await assert_nothing_leaked(env)


async def test_a_gap_at_the_end_is_filled_after_the_run_ended() -> None:
    """The last patch is skipped: the run ends at revision 2 holding 1, finishes at
    once, and the list fetched after it fills the transcript."""
    asks = Asks()
    with trio.fail_after(10):
        async with e2e(middleware=[asks]) as env:
            run = env.start(patched_run(ANSWER, prompt=PROMPT, delay=0.01))
            await env.until(run, lambda op: op.transcript.revision == 1)
            env.gateway.faults.skip_patches(run.operation_id)
            outcome, _ = await env.finish(run)
            assert outcome.result is Result.COMPLETED
            _assert_whole(await refetched_transcript(env, run.operation_id))
            assert asks.steps == [(NotifyFinished, FetchMessages)]
            assert env.witness.finished == {run.operation_id: 1}
            await assert_nothing_leaked(env)
