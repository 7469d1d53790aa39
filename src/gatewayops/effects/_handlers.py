"""The one-shot effects that call the application's dependencies, turned into actions.

Owns: the contracts of the injected dependencies (`RefreshTokenFn`, `InterruptFn`,
`SubmitInterventionFn`, `FetchMessagesFn`, `ToolHandler`, and `UserTokenFn`, which the
v2 socket's dial awaits) and five coroutines that carry
out `RefreshToken`, `RequestInterrupt`, `SubmitIntervention`, `FetchMessages` and
`ExecuteTool` and always *return* the action that reports the result -- a failure
of the dependency becomes a failure action, never an exception (DESIGN.md section 3).
Tool execution follows PROTOCOL.md 6.1: exactly one `ToolResult` per `ExecuteTool`,
with a structured error type for every way it can fail. Must not know: sockets, timers,
the store's state, or how and when the returned action is dispatched.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeAlias

import trio

from gatewayops._secrets import get_logger
from gatewayops.exceptions import OperationNotFound, TokenUnavailable
from gatewayops.protocol import ToolError, ToolResult
from gatewayops.store import (
    ExecuteTool,
    FetchMessages,
    InterruptConfirmed,
    InterruptFailed,
    InterventionSubmitFailed,
    InterventionSubmitted,
    MessagesFetched,
    MessagesFetchFailed,
    RefreshToken,
    RequestInterrupt,
    SubmitIntervention,
    TokenRefreshed,
    TokenRefreshFailed,
    ToolFinished,
)

__all__ = [
    "FetchMessagesFn",
    "InterruptFn",
    "RefreshTokenFn",
    "SubmitInterventionFn",
    "ToolHandler",
    "UserTokenFn",
    "execute_tool",
    "fetch_messages",
    "refresh_token",
    "request_interrupt",
    "submit_intervention",
]

logger = get_logger("gatewayops.effects")

RefreshTokenFn: TypeAlias = Callable[[str], Awaitable[str]]
"""``refresh_token(topic_id) -> jwt``; raise `OperationNotFound` when the run is gone."""

InterruptFn: TypeAlias = Callable[[str, str], Awaitable[bool | None]]
"""``interrupt(operation_id, topic_id)``: True or None = confirmed, False = refused."""

SubmitInterventionFn: TypeAlias = Callable[[SubmitIntervention], Awaitable[None]]
"""``submit_intervention(submission)`` gives the producer the user's answer (v1: out of
band, as `interrupt`); raise if it did not arrive (the user may answer again)."""

FetchMessagesFn: TypeAlias = Callable[[str, str], Awaitable[Any]]
"""``fetch_messages(operation_id, topic_id)`` returns the server's message list as JSON
data (what a `uiMessages` snapshot holds), or ``{"messages": [...], "revision": n}``
when the server says which `message_patch` revision the list stands at; raise if it
could not be fetched."""

ToolHandler: TypeAlias = Callable[[dict[str, Any]], Awaitable[Any]]
"""A client tool: gets the parsed arguments, returns content (a str, or any JSON value)."""

UserTokenFn: TypeAlias = Callable[[], Awaitable[str]]
"""``await user_token()``: a fresh user-level JWT for the v2 socket (before every dial)."""

ARGUMENTS_PARSE_ERROR = "arguments_parse_error"
EXECUTOR_NOT_FOUND = "executor_not_found"
EXECUTION_ERROR = "client_tool_execution_error"
EXECUTOR_TIMEOUT = "client_executor_timeout"


def _describe(error: BaseException) -> str:
    text = str(error)
    if isinstance(error, TokenUnavailable) and text:
        return text  # written for the user already
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


async def refresh_token(
    fetch: RefreshTokenFn, effect: RefreshToken
) -> TokenRefreshed | TokenRefreshFailed:
    """Fetch a fresh token for the effect's topic; report how it went."""
    try:
        token = await fetch(effect.topic_id)
    except OperationNotFound as error:
        detail = str(error) or "the gateway no longer knows the operation"
        return TokenRefreshFailed(operation_id=effect.operation_id, error=detail, not_found=True)
    except Exception as error:
        return TokenRefreshFailed(operation_id=effect.operation_id, error=_describe(error))
    if not isinstance(token, str) or not token:
        detail = f"refresh_token returned {type(token).__name__}, not a non-empty str"
        return TokenRefreshFailed(operation_id=effect.operation_id, error=detail)
    return TokenRefreshed(operation_id=effect.operation_id, token=token)


async def request_interrupt(
    interrupt: InterruptFn | None, effect: RequestInterrupt
) -> InterruptConfirmed | InterruptFailed:
    """Ask the server to interrupt the run; only a confirmation stops it (invariant 21)."""
    if interrupt is None:
        await trio.lowlevel.checkpoint()
        return InterruptFailed(
            operation_id=effect.operation_id, error="no interrupt dependency was given"
        )
    try:
        confirmed = await interrupt(effect.operation_id, effect.topic_id)
    except Exception as error:
        return InterruptFailed(operation_id=effect.operation_id, error=_describe(error))
    if confirmed is False:
        return InterruptFailed(operation_id=effect.operation_id, error="interrupt was refused")
    return InterruptConfirmed(operation_id=effect.operation_id)


async def submit_intervention(
    submit: SubmitInterventionFn | None, effect: SubmitIntervention
) -> InterventionSubmitted | InterventionSubmitFailed:
    """Hand the user's answer to the producer; report whether it arrived."""
    keys = {
        "operation_id": effect.operation_id,
        "tool_call_id": effect.tool_call_id,
        "resolution_request_id": effect.resolution_request_id,
    }
    if submit is None:
        await trio.lowlevel.checkpoint()
        return InterventionSubmitFailed(**keys, error="no submit_intervention dependency was given")
    try:
        await submit(effect)
    except Exception as error:
        return InterventionSubmitFailed(**keys, error=_describe(error))
    return InterventionSubmitted(**keys)


async def fetch_messages(
    fetch: FetchMessagesFn, effect: FetchMessages
) -> MessagesFetched | MessagesFetchFailed:
    """Fetch the server's message list for the operation; report how it went (the
    reducer reads the list, and says if it is not one)."""
    try:
        value = await fetch(effect.operation_id, effect.topic_id)
    except Exception as error:
        return MessagesFetchFailed(operation_id=effect.operation_id, error=_describe(error))
    revision = None
    if type(value) is dict and "messages" in value:
        revision = value.get("revision")
        if revision is not None and type(revision) is not int:
            detail = f"fetch_messages returned a revision of type {type(revision).__name__}"
            return MessagesFetchFailed(operation_id=effect.operation_id, error=detail)
        value = value["messages"]
    return MessagesFetched(operation_id=effect.operation_id, messages=value, revision=revision)


def _failure(effect: ExecuteTool, error_type: str, message: str) -> ToolResult:
    return ToolResult(
        tool_call_id=effect.tool_call_id,
        success=False,
        content=None,
        error=ToolError(message=message, type=error_type),
    )


def _parse_arguments(arguments: str | None) -> dict[str, Any]:
    """The tool's arguments: a JSON object (an empty string means no arguments)."""
    if arguments is None:
        raise ValueError("the server sent arguments that are not a JSON string")
    if not arguments.strip():
        return {}
    parsed = json.loads(arguments)
    if not isinstance(parsed, dict):
        raise ValueError(f"expected a JSON object, got {type(parsed).__name__}")
    return parsed


async def _run_tool(tools: Mapping[str, ToolHandler], effect: ExecuteTool) -> ToolResult:
    try:
        arguments = _parse_arguments(effect.arguments)
    except ValueError as error:
        await trio.lowlevel.checkpoint()
        return _failure(effect, ARGUMENTS_PARSE_ERROR, f"invalid tool arguments: {error}")
    handler = tools.get(f"{effect.identifier}/{effect.api_name}") or tools.get(effect.identifier)
    if handler is None:
        await trio.lowlevel.checkpoint()
        name = f"{effect.identifier}/{effect.api_name}"
        return _failure(effect, EXECUTOR_NOT_FOUND, f"no client tool handler for {name}")
    try:
        budget = effect.timeout_ms / 1000
    except OverflowError:
        await trio.lowlevel.checkpoint()
        message = f"a deadline of {effect.timeout_ms.bit_length()}-bit ms cannot be scheduled"
        return _failure(effect, EXECUTION_ERROR, message)
    try:
        with trio.move_on_after(budget) as deadline:
            value = await handler(arguments)
    except Exception as error:  # also an ExceptionGroup from the handler's own nursery
        return _failure(effect, EXECUTION_ERROR, str(error) or type(error).__name__)
    if deadline.cancelled_caught:
        return _failure(effect, EXECUTOR_TIMEOUT, f"tool did not finish in {effect.timeout_ms} ms")
    if isinstance(value, str):
        return ToolResult(tool_call_id=effect.tool_call_id, success=True, content=value)
    try:
        content = json.dumps(value)
    except (TypeError, ValueError) as error:
        return _failure(effect, EXECUTION_ERROR, f"tool result is not JSON: {error}")
    return ToolResult(tool_call_id=effect.tool_call_id, success=True, content=content)


async def execute_tool(tools: Mapping[str, ToolHandler], effect: ExecuteTool) -> ToolFinished:
    """Run the client tool the effect names and report its one result.

    Handlers are looked up as ``"identifier/apiName"`` first, then ``"identifier"``.
    """
    result = await _run_tool(tools, effect)
    if not result.success:
        assert result.error is not None
        logger.info(
            "tool %s/%s (call %s) failed: %s",
            effect.identifier,
            effect.api_name,
            effect.tool_call_id,
            result.error.type,
        )
    return ToolFinished(operation_id=effect.operation_id, result=result)
