"""Scripted agent runs: what a run emits, and the task that plays it.

Owns: the step vocabulary (`Emit`, `Pause`, `ClientTool`, `Finish`, `Fail`,
`AskHuman` from `_asking` and `PatchMessage` from `_patches`), `Script`,
the ready-made scripts (`clean_run`, `tool_run`, `error_run`, `long_run`, `demo_run`) and
`play`, which turns a script into published events on an operation. Event data follows
PROTOCOL.md 1.4 and 6.1 (camelCase wire keys) so a client sees realistic traffic.

A script that runs out of steps ends with a clean `agent_runtime_end`. Interrupting a run
is not a step: the control API cancels the playing task and publishes the interrupted
end itself.

Must not know: sockets, tokens or faults; it only publishes through the registry.
"""

from __future__ import annotations

import itertools
import json
from typing import Any, TypeAlias

import attrs
import trio

from gatewayops.gateway._asking import AskHuman, InterventionOutcome, answer_text, ask
from gatewayops.gateway._operation_state import Operation
from gatewayops.gateway._operations import OperationRegistry
from gatewayops.gateway._patches import PatchMessage, patch_mode_end, publish_patch
from gatewayops.protocol import ChunkType, EventType, SessionStatus

__all__ = [
    "ClientTool",
    "Emit",
    "Fail",
    "Finish",
    "Pause",
    "Script",
    "ScriptStep",
    "clean_run",
    "demo_run",
    "error_run",
    "long_run",
    "play",
    "tool_run",
]

_ids = itertools.count(1)


def _next_id(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


@attrs.frozen(kw_only=True)
class Emit:
    """Publish one event of `type` with `data` (JSON-serialisable) in agent step `step`."""

    type: str
    data: Any = attrs.field(default=None, hash=False)
    step: int = 0


@attrs.frozen(kw_only=True)
class Pause:
    """Wait `seconds` of Trio time before the next step (``math.inf`` = until interrupted)."""

    seconds: float


@attrs.frozen(kw_only=True)
class ClientTool:
    """Ask the client to run a tool (`tool_execute`), wait for its `tool_result`, emit `tool_end`.

    The wait lasts at most `timeout_ms`; past it the gateway records a timeout (see
    `Gateway.tool_outcomes`) and the run continues with a failed `tool_end`.
    """

    tool_call_id: str
    identifier: str
    api_name: str
    arguments: str
    timeout_ms: int = 10_000
    parent_message_id: str | None = None
    step: int = 0


@attrs.frozen(kw_only=True)
class Finish:
    """End the run with `agent_runtime_end`; `reason` ``None`` is a clean completion;
    `patch_mode` ends it at the revision of its message list (PROTOCOL.md 7.8)."""

    reason: str | None = None
    step: int = 0
    patch_mode: bool = False


@attrs.frozen(kw_only=True)
class Fail:
    """End the run with an `error` event carrying `message`."""

    message: str
    step: int = 0


ScriptStep: TypeAlias = Emit | Pause | ClientTool | AskHuman | PatchMessage | Finish | Fail


@attrs.frozen(kw_only=True)
class Script:
    """A named, replayable list of steps; build one by hand for custom runs."""

    name: str
    steps: tuple[ScriptStep, ...]


# ------------------------------------------------------------------------- building blocks


def _split(text: str, chunks: int) -> list[str]:
    count = max(1, min(chunks, len(text)))
    size, extra = divmod(len(text), count)
    pieces, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        pieces.append(text[start:end])
        start = end
    return [piece for piece in pieces if piece]


def _paced(steps: list[ScriptStep], delay: float) -> list[ScriptStep]:
    if delay <= 0:
        return steps
    paced: list[ScriptStep] = []
    for step in steps:
        paced.append(step)
        if isinstance(step, Emit):
            paced.append(Pause(seconds=delay))
    return paced


def _stream(
    step: int, message_id: str, text: str, chunks: int, reasoning: str | None, final: bool
) -> list[ScriptStep]:
    steps: list[ScriptStep] = [
        Emit(type=EventType.STEP_START, data={}, step=step),
        Emit(
            type=EventType.STREAM_START,
            data={
                "assistantMessage": {"id": message_id, "role": "assistant"},
                "model": "reference-model",
                "provider": "gatewayops",
            },
            step=step,
        ),
    ]
    if reasoning:
        for piece in _split(reasoning, max(1, chunks // 2)):
            data = {"chunkType": ChunkType.REASONING.value, "reasoning": piece}
            steps.append(Emit(type=EventType.STREAM_CHUNK, data=data, step=step))
    for piece in _split(text, chunks):
        data = {"chunkType": ChunkType.TEXT.value, "content": piece}
        steps.append(Emit(type=EventType.STREAM_CHUNK, data=data, step=step))
    steps.append(
        Emit(type=EventType.STREAM_END, data={"finalContent": text} if final else {}, step=step)
    )
    return steps


def _step_complete(step: int) -> Emit:
    return Emit(type=EventType.STEP_COMPLETE, data={"phase": "execution_complete"}, step=step)


def _tool_calling(
    tool_call_id: str, identifier: str, api_name: str, arguments: str
) -> dict[str, Any]:
    return {
        "id": tool_call_id,
        "identifier": identifier,
        "apiName": api_name,
        "arguments": arguments,
    }


# ------------------------------------------------------------------------- ready scripts


def clean_run(
    text: str = "Hello from the reference gateway.",
    *,
    chunks: int = 4,
    reasoning: str | None = None,
    delay: float = 0.0,
    final_content: bool = False,
) -> Script:
    """One streamed answer, then a clean `agent_runtime_end`.

    Args:
        text: the answer; split into `chunks` text chunks.
        chunks: how many text chunks (at most one per character).
        reasoning: reasoning text streamed before the answer, if any.
        delay: seconds of Trio time after each event.
        final_content: whether `stream_end` repeats the full text (`finalContent`);
            off by default so a client that loses a chunk shows it.
    """
    body: list[ScriptStep] = [Emit(type=EventType.AGENT_RUNTIME_INIT, data={}, step=0)]
    body += _stream(0, _next_id("msg"), text, chunks, reasoning, final_content)
    body += [_step_complete(0), Finish(step=0)]
    return Script(name="clean_run", steps=tuple(_paced(body, delay)))


def tool_run(
    *,
    identifier: str = "web-search",
    api_name: str = "search",
    arguments: dict[str, Any] | None = None,
    client: bool = True,
    reasoning: str | None = None,
    answer: str = "Here is what the tool found.",
    chunks: int = 3,
    timeout_ms: int = 10_000,
    delay: float = 0.0,
) -> Script:
    """A tool call in step 0, then an answer in step 1, then a clean end.

    Args:
        identifier: the tool's identifier.
        api_name: the tool's API name.
        arguments: the tool's arguments (sent as a JSON string).
        client: ``True`` asks the client to run the tool (`tool_execute`, waits for its
            `tool_result`); ``False`` runs it "on the server" (`tool_start`/`tool_end`).
        reasoning: reasoning streamed before the tool call, if any.
        answer: the text streamed after the tool.
        chunks: text chunks of the answer.
        timeout_ms: the `executionTimeoutMs` of a client tool.
        delay: seconds of Trio time after each event.
    """
    call_id = _next_id("call")
    first, second = _next_id("msg"), _next_id("msg")
    encoded = json.dumps(arguments if arguments is not None else {"query": "gateway protocol"})
    calling = _tool_calling(call_id, identifier, api_name, encoded)
    body: list[ScriptStep] = [Emit(type=EventType.AGENT_RUNTIME_INIT, data={}, step=0)]
    body += _stream(0, first, "Let me look that up.", 1, reasoning, False)
    body.append(
        Emit(type=EventType.TOOL_START, data={"parentMessageId": first, "toolCalling": calling})
    )
    if client:
        body.append(
            ClientTool(
                tool_call_id=call_id,
                identifier=identifier,
                api_name=api_name,
                arguments=encoded,
                timeout_ms=timeout_ms,
                parent_message_id=first,
            )
        )
    else:
        payload = {"parentMessageId": first, "toolCalling": calling}
        data = {"isSuccess": True, "executionTime": 120, "payload": payload, "result": "ok"}
        body.append(Emit(type=EventType.TOOL_END, data=data))
    body.append(_step_complete(0))
    body += _stream(1, second, answer, chunks, None, False)
    body += [_step_complete(1), Finish(step=1)]
    return Script(name="tool_run", steps=tuple(_paced(body, delay)))


def error_run(
    message: str = "model provider returned 500",
    *,
    text: str = "Partial answer",
    delay: float = 0.0,
) -> Script:
    """A partly streamed answer, then an `error` event (status `error`)."""
    body: list[ScriptStep] = [Emit(type=EventType.AGENT_RUNTIME_INIT, data={}, step=0)]
    stream = _stream(0, _next_id("msg"), text, 2, None, False)
    body += stream[:-1]  # no stream_end: the provider failed mid-stream
    body.append(Fail(message=message, step=0))
    return Script(name="error_run", steps=tuple(_paced(body, delay)))


def long_run(*, chunks: int = 60, delay: float = 1.0, text: str | None = None) -> Script:
    """A long stream of `chunks` text chunks, `delay` seconds apart, then a clean end.

    Use it for anything that must happen mid-run: expiring tokens, dropping sockets,
    hibernation, interrupting.
    """
    words = text if text is not None else " ".join(f"word{index}" for index in range(chunks))
    return clean_run(words, chunks=chunks, delay=delay)


def demo_run(*, delay: float = 0.4) -> Script:
    """A lively run for the standalone gateway: reasoning, a server-side tool, an answer."""
    run = tool_run(
        client=False,
        reasoning="The user wants a demonstration; a search makes it realistic.",
        answer="The reference gateway streamed this answer, one chunk at a time.",
        chunks=8,
        delay=delay,
    )
    return attrs.evolve(run, name="demo_run")


# ------------------------------------------------------------------------- playing


async def _client_tool(registry: OperationRegistry, operation: Operation, step: ClientTool) -> None:
    execute = {
        "toolCallId": step.tool_call_id,
        "identifier": step.identifier,
        "apiName": step.api_name,
        "arguments": step.arguments,
        "executionTimeoutMs": step.timeout_ms,
    }
    registry.publish(operation, EventType.TOOL_EXECUTE, execute, step.step)
    started = trio.current_time()
    outcome = await registry.wait_tool_result(operation, step.tool_call_id, step.timeout_ms / 1000)
    result = outcome.result
    content: str | None
    if result is None:
        success, content = False, f"client tool timed out after {step.timeout_ms} ms"
    else:
        success = result.success
        content = result.content if result.error is None else result.error.message
    calling = _tool_calling(step.tool_call_id, step.identifier, step.api_name, step.arguments)
    data = {
        "isSuccess": success,
        "executionTime": int((trio.current_time() - started) * 1000),
        "payload": {"parentMessageId": step.parent_message_id, "toolCalling": calling},
        "result": content,
    }
    registry.publish(operation, EventType.TOOL_END, data, step.step)


def _reply(step: AskHuman, outcome: InterventionOutcome) -> str:
    if outcome.answered:
        return step.reply.format(answer=answer_text(outcome.result))
    if outcome.cancel_reason is not None and outcome.cancel_reason.value == "timeout":
        return "No answer came in time, so I went on without one."
    return "You declined, so I left it there."


async def _ask_and_reply(registry: OperationRegistry, operation: Operation, step: AskHuman) -> None:
    outcome = await ask(registry, operation, step)
    for reply in _stream(step.step + 1, _next_id("msg"), _reply(step, outcome), 3, None, False):
        assert isinstance(reply, Emit)
        registry.publish(operation, reply.type, reply.data, reply.step)


async def play(registry: OperationRegistry, operation: Operation, script: Script) -> None:
    """Publish `script` on `operation` until a terminal step (or a clean end if none).

    Cancelling the calling task stops the run without a terminal event; the caller
    publishes one if it wants (`Gateway.interrupt` does).
    """
    last_step = 0
    for step in script.steps:
        match step:
            case Emit(type=event_type, data=data, step=index):
                registry.publish(operation, event_type, data, index)
                last_step = index
            case Pause(seconds=seconds):
                await trio.sleep(seconds)
            case ClientTool():
                await _client_tool(registry, operation, step)
                last_step = step.step
            case AskHuman():
                await _ask_and_reply(registry, operation, step)
                last_step = step.step + 1
            case PatchMessage():
                publish_patch(registry, operation, step)
            case Finish(reason=reason, step=index):
                status = (
                    SessionStatus.INTERRUPTED
                    if reason == "interrupted"
                    else SessionStatus.COMPLETED
                )
                ending: dict[str, Any] = {} if reason is None else {"reason": reason}
                if step.patch_mode:
                    ending |= patch_mode_end(operation)
                registry.finish(
                    operation,
                    event_type=EventType.AGENT_RUNTIME_END,
                    data=ending,
                    step_index=index,
                    status=status,
                )
                return
            case Fail(message=message, step=index):
                registry.finish(
                    operation,
                    event_type=EventType.ERROR,
                    data={"message": message},
                    step_index=index,
                    status=SessionStatus.ERROR,
                )
                return
        await trio.lowlevel.checkpoint()
    registry.finish(
        operation,
        event_type=EventType.AGENT_RUNTIME_END,
        data={},
        step_index=last_step,
        status=SessionStatus.COMPLETED,
    )
