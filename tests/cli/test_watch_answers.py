"""`gatewayops watch` and the agent's requests for the user (issue 14): the request is
shown, answered from a terminal (a pty) or by ``--answer``/``--decline``, posted to the
reference gateway's answer endpoint on 127.0.0.1; without an endpoint it says how."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import pytest
import trio

from gatewayops.cli._watch_answers import NO_ANSWER_URL, NO_ANSWERER
from gatewayops.gateway import (
    ANSWER_PATH,
    AskHuman,
    Emit,
    Finish,
    Gateway,
    RunHandle,
    Script,
    asking_run,
    open_gateway,
    serve_http_endpoint,
)
from gatewayops.protocol import CancelReason, EventType
from gatewayops.store import SubmitIntervention

from .helpers import printed_watch_command, run_main, spawn


@asynccontextmanager
async def answering_gateway() -> AsyncIterator[tuple[Gateway, str]]:
    """A reference gateway and its answer endpoint's URL, on free loopback ports."""
    async with open_gateway() as gateway, trio.open_nursery() as nursery:
        base: str = await nursery.start(serve_http_endpoint, gateway)
        yield gateway, base + ANSWER_PATH
        nursery.cancel_scope.cancel()


def _argv(gateway: Gateway, run: RunHandle, *extra: str) -> list[str]:
    return ["watch", gateway.url, "--operation", run.operation_id, "--token", run.token, *extra]


@contextmanager
def pty() -> Iterator[tuple[int, int]]:
    """A pseudo-terminal: its (controller, terminal) file descriptors, closed after."""
    controller, terminal = os.openpty()
    try:
        yield controller, terminal
    finally:
        os.close(controller)
        os.close(terminal)


async def test_answer_json_answers_the_request_and_the_agent_quotes_it() -> None:
    """``--answer JSON`` with ``--answer-url``: the request is shown with its options
    numbered, the agent takes the answer, and watch exits 0."""
    answer = {"answers": [{"question": "q", "selected": ["us"]}]}
    with trio.fail_after(30):
        async with answering_gateway() as (gateway, url):
            run = gateway.start_run(asking_run("question"))
            argv = _argv(gateway, run, "--answer-url", url, "--answer", json.dumps(answer))
            async with spawn(*argv) as watch:
                assert await watch.wait() == 0, watch.err
            (outcome,) = gateway.intervention_outcomes(run.operation_id)
    assert outcome.result == answer
    assert "question   the agent asks (question), and waits 30 s:" in watch.out
    assert "question       2. United States" in watch.out
    assert "outcome    completed (agent_event)" in watch.out
    assert "answer     ask-" in watch.out
    assert run.token not in watch.out + watch.err


async def test_decline_declines_and_the_request_ends_user_cancelled() -> None:
    """``--decline``: the agent hears user_cancelled; watch prints how it ended."""
    with trio.fail_after(30):
        async with answering_gateway() as (gateway, url):
            run = gateway.start_run(asking_run("permission"))
            async with spawn(*_argv(gateway, run, "--answer-url", url, "--decline")) as watch:
                assert await watch.wait() == 0, watch.err
            (outcome,) = gateway.intervention_outcomes(run.operation_id)
    assert outcome.cancel_reason is CancelReason.USER_CANCELLED
    assert "cancelled (user_cancelled)" in watch.out


async def _prompted(watch: Any, count: int) -> None:
    while watch.out.count("empty: decline] > ") < count:
        await watch.changed()


async def test_at_a_terminal_numbers_choose_the_options_of_each_question() -> None:
    """With stdin a terminal, one reply per question is read: "1" picks the first
    region, "1,3" two checks; the agent gets their ids."""
    with trio.fail_after(30), pty() as (controller, terminal):
        async with answering_gateway() as (gateway, url):
            run = gateway.start_run(asking_run("question"))
            async with spawn(*_argv(gateway, run, "--answer-url", url), stdin=terminal) as watch:
                await _prompted(watch, 1)
                os.write(controller, b"1\n")
                await _prompted(watch, 2)
                os.write(controller, b"1,3\n")
                assert await watch.wait() == 0, watch.err
            (outcome,) = gateway.intervention_outcomes(run.operation_id)
    assert [item["selected"] for item in outcome.result["answers"]] == [["eu"], ["unit", "e2e"]]


async def test_at_a_terminal_a_wrong_reply_is_named_and_asked_again() -> None:
    """A number that is no option is refused in words and the question asked again;
    for a plan (no free text) the next valid reply answers."""
    with trio.fail_after(30), pty() as (controller, terminal):
        async with answering_gateway() as (gateway, url):
            run = gateway.start_run(asking_run("plan"))
            async with spawn(*_argv(gateway, run, "--answer-url", url), stdin=terminal) as watch:
                await _prompted(watch, 1)
                os.write(controller, b"7\n")
                await _prompted(watch, 2)
                os.write(controller, b"1\n")
                assert await watch.wait() == 0, watch.err
            (outcome,) = gateway.intervention_outcomes(run.operation_id)
    assert "question   no option 7: expected 1 to 2" in watch.out
    assert outcome.result["answers"][0]["selected"] == ["approve"]


async def test_at_a_terminal_an_empty_line_declines() -> None:
    """An empty reply declines the request (user_cancelled)."""
    with trio.fail_after(30), pty() as (controller, terminal):
        async with answering_gateway() as (gateway, url):
            run = gateway.start_run(asking_run("text_input"))
            async with spawn(*_argv(gateway, run, "--answer-url", url), stdin=terminal) as watch:
                await _prompted(watch, 1)
                os.write(controller, b"\n")
                assert await watch.wait() == 0, watch.err
            (outcome,) = gateway.intervention_outcomes(run.operation_id)
    assert outcome.cancel_reason is CancelReason.USER_CANCELLED


def _asks_twice() -> Script:
    """A run that asks twice, one request after the other."""
    go = ({"question": "Go?", "options": [{"id": "yes", "label": "Yes"}]},)
    return Script(
        name="asks-twice",
        steps=(
            Emit(type=EventType.AGENT_RUNTIME_INIT, data={}, step=0),
            AskHuman(tool_call_id="ask-a", questions=go, wait_ms=30_000),
            AskHuman(tool_call_id="ask-b", questions=go, wait_ms=30_000),
            Finish(step=1),
        ),
    )


async def test_at_a_terminal_a_prompt_whose_request_ended_leaves_the_next_line_alone() -> None:
    """The first request is answered elsewhere while its prompt waits; the line typed at
    the next prompt answers the second request (no reader of the dead prompt takes it)."""
    with trio.fail_after(30), pty() as (controller, terminal):
        async with answering_gateway() as (gateway, url):
            run = gateway.start_run(_asks_twice())
            async with spawn(*_argv(gateway, run, "--answer-url", url), stdin=terminal) as watch:
                await _prompted(watch, 1)
                elsewhere = SubmitIntervention(
                    operation_id=run.operation_id,
                    topic_id=run.topic_id,
                    tool_call_id="ask-a",
                    resolution_request_id="r-elsewhere",
                    cancelled=True,
                )
                await gateway.submit_intervention(elsewhere)
                await _prompted(watch, 2)
                os.write(controller, b"1\n")
                assert await watch.wait() == 0, watch.err
            first, second = gateway.intervention_outcomes(run.operation_id)
    assert first.cancel_reason is CancelReason.USER_CANCELLED
    assert "ask-a cancelled (user_cancelled)" in watch.out
    assert second.result == {"answers": [{"question": "Go?", "selected": ["yes"]}]}


def _unreviewable() -> Script:
    """A run that asks five questions (review allows 1-4), then ends."""
    questions = tuple({"question": f"q{n}?", "options": [{"label": "ok"}]} for n in range(5))
    return Script(
        name="unreviewable",
        steps=(
            Emit(type=EventType.AGENT_RUNTIME_INIT, data={}, step=0),
            AskHuman(tool_call_id="ask-bad", questions=questions, wait_ms=30_000),
            Finish(step=1),
        ),
    )


async def test_a_request_that_failed_review_is_shown_as_such_and_declined() -> None:
    """A request the review refuses shows "cannot be reviewed here: <reason>" and, with
    an endpoint, is declined rather than left to time out."""
    with trio.fail_after(30):
        async with answering_gateway() as (gateway, url):
            run = gateway.start_run(_unreviewable())
            async with spawn(*_argv(gateway, run, "--answer-url", url, "--answer", "1")) as watch:
                assert await watch.wait() == 0, watch.err
            (outcome,) = gateway.intervention_outcomes(run.operation_id)
    assert "question   cannot be reviewed here: " in watch.out
    assert outcome.cancel_reason is CancelReason.USER_CANCELLED


async def test_without_an_answer_url_the_request_says_how_to_answer() -> None:
    """No ``--answer-url``: the request is shown with how to get an endpoint, and
    nothing is answered (the run is stopped from here once the hint is printed)."""
    with trio.fail_after(30):
        async with answering_gateway() as (gateway, _):
            run = gateway.start_run(asking_run("permission", wait_ms=60_000))
            async with spawn(*_argv(gateway, run)) as watch:
                await watch.wait_for(f"question   {NO_ANSWER_URL}")
                await gateway.interrupt(run.operation_id)
                assert await watch.wait() == 0, watch.err
            assert gateway.intervention_outcomes(run.operation_id) == ()
    assert " sent: " not in watch.out
    assert " declined" not in watch.out


async def test_with_an_answer_url_but_no_terminal_the_request_names_the_flags() -> None:
    """``--answer-url`` with stdin not a terminal and no ``--answer``/``--decline``: the
    request says which flag to pass, and nothing is answered."""
    with trio.fail_after(30):
        async with answering_gateway() as (gateway, url):
            run = gateway.start_run(asking_run("permission", wait_ms=60_000))
            argv = _argv(gateway, run, "--answer-url", url)
            async with spawn(*argv, stdin=subprocess.DEVNULL) as watch:
                await watch.wait_for(f"question   {NO_ANSWERER}")
                await gateway.interrupt(run.operation_id)
                assert await watch.wait() == 0, watch.err
    assert " sent: " not in watch.out


async def test_serve_ask_prints_a_watch_command_that_can_answer() -> None:
    """``serve --ask KIND``: its printed watch command carries --answer-url, and with
    --decline it declines the run's request and follows it to its end."""
    with trio.fail_after(30):
        async with spawn("serve", "--port", "0", "--runs", "1", "--ask", "plan") as serve:
            await serve.wait_for("\n  gatewayops watch ")
            argv = printed_watch_command(serve.out)
            assert "--answer-url" in argv
            async with spawn(*argv[1:], "--decline") as watch:
                assert await watch.wait() == 0, watch.err
            serve.process.terminate()
    assert "cancelled (user_cancelled)" in watch.out
    assert "outcome    completed (agent_event)" in watch.out


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        (["--answer", "{}"], "--answer needs --answer-url (gatewayops serve prints it)"),
        (["--decline"], "--decline needs --answer-url"),
        (["--answer-url", "http://127.0.0.1:1/answer", "--answer", "{"], "--answer: not JSON"),
        (["--answer-url", "ftp://x/answer"], "--answer-url: answer URL 'ftp://x/answer'"),
        (["--answer-file", "/nonexistent/answer.json"], "--answer-file /nonexistent/answer.json"),
    ],
)
def test_bad_answer_arguments_are_one_line_and_exit_2(
    extra: list[str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A fixed answer without an endpoint, bad JSON, a bad URL or an unreadable file:
    one line naming it, before anything connects."""
    argv = ["watch", "ws://127.0.0.1:9", "--operation", "op-1", "--token", "t", *extra]
    code, out, err = run_main(argv, capsys)
    assert (code, out) == (2, "")
    assert error in err
    assert len(err.strip().splitlines()) == 1
