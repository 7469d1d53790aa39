"""Hypothesis strategies for the `data` of each agent event type, shaped as upstream sends it.

Owns: one strategy per `EventType` for the `data` object of its events (stream chunks of
every chunk type, tool calls and their results, errors in each of the four upstream
shapes, a missing CLI's install command among the bodies, runtime ends, interventions,
steps, message patches; a `tool_end` payload wraps its call or is the call itself),
realistic enough that the types with a typed view parse with `parse_event_data`, and
the reasons an `agent_runtime_end` gives.
Must not know: the event envelope around the data, the store, or the transport.
"""

from __future__ import annotations

import json
from typing import Any, TypeAlias

from hypothesis import strategies as st

from gatewayops.protocol import ChunkType, EventType
from gatewayops.testing._value_strategies import (
    EPOCH_MS,
    SHORT_TEXT,
    json_objects,
    json_values,
    message_ids,
    prefixed_ids,
    tool_call_ids,
)

__all__ = ["RUNTIME_END_REASONS", "event_data", "ui_message_lists"]

RUNTIME_END_REASONS = ("completed", "interrupted", "waiting_for_async_tool", "error")
"""`agent_runtime_end` reasons drawn besides an absent one (which is a clean completion)."""

_Data: TypeAlias = dict[str, Any]
_SMALL_COUNTS = st.integers(0, 100_000)


def _optional(draw: st.DrawFn, data: _Data, key: str, values: st.SearchStrategy[Any]) -> None:
    if draw(st.booleans()):
        data[key] = draw(values)


_ARGUMENTS_JSON = st.one_of(  # tool arguments: a JSON object as text, as the wire carries them
    st.just("{}"),
    st.text(max_size=20).map(lambda query: json.dumps({"query": query})),
    st.integers(1, 50).map(lambda limit: json.dumps({"path": "/tmp/a.txt", "limit": limit})),
)


@st.composite
def _tool_calling(draw: st.DrawFn) -> _Data:
    return {
        "id": draw(tool_call_ids()),
        "identifier": draw(st.sampled_from(("lobe-web-browsing", "local-system", "mcp-github"))),
        "apiName": draw(st.sampled_from(("search", "readFile", "listIssues", "crawlPage"))),
        "arguments": draw(_ARGUMENTS_JSON),
        "type": draw(st.sampled_from(("builtin", "default", "mcp"))),
    }


_TOOL_CALLINGS = _tool_calling()
_TOOL_CALLING_LISTS = st.lists(_TOOL_CALLINGS, min_size=1, max_size=3)
_CONTEXT_IDS = {
    key: prefixed_ids(key[:3] + "_")
    for key in (
        "agentId",
        "groupId",
        "parentId",
        "threadId",
        "topicId",
        "assistantMessageId",
        "toolMessageId",
    )
}


@st.composite
def _stream_start(draw: st.DrawFn) -> _Data:
    data: _Data = {}
    if draw(st.integers(0, 4)) == 0:  # a hetero producer: no id, a new step instead
        data["newStep"] = True
        return data
    message: _Data = {"id": draw(message_ids())}
    _optional(draw, message, "role", st.just("assistant"))
    for key in ("agentId", "groupId", "parentId", "threadId", "topicId"):
        _optional(draw, message, key, _CONTEXT_IDS[key])
    data["assistantMessage"] = message
    _optional(draw, data, "model", st.sampled_from(("gpt-4o", "claude-sonnet-4", "o3-mini")))
    _optional(draw, data, "provider", st.sampled_from(("openai", "anthropic", "azure")))
    return data


@st.composite
def _stream_chunk(draw: st.DrawFn) -> _Data:
    chunk_type = draw(st.sampled_from(ChunkType))
    data: _Data = {"chunkType": chunk_type.value}
    match chunk_type:
        case ChunkType.TEXT:
            data["content"] = draw(SHORT_TEXT)
        case ChunkType.REASONING:
            data["reasoning"] = draw(SHORT_TEXT)
        case ChunkType.CONTENT_PART | ChunkType.REASONING_PART:
            data["partType"] = "text"
            data["content"] = draw(SHORT_TEXT)
        case ChunkType.TOOLS_CALLING:
            data["toolsCalling"] = draw(_TOOL_CALLING_LISTS)
        case ChunkType.TOOL_STATE:
            data["toolCallId"] = draw(tool_call_ids())
            data["pluginState"] = draw(json_objects())
        case ChunkType.IMAGE:
            image = {
                "id": draw(prefixed_ids("img_")),
                "url": "https://cdn.test/" + draw(prefixed_ids("")),
            }
            data["imageList"] = [image]
        case ChunkType.BASE64_IMAGE:
            image = {"id": draw(prefixed_ids("img_")), "data": "data:image/png;base64,iVBORw0KGgo="}
            data["image"] = image
        case ChunkType.GROUNDING:
            citation = {
                "title": draw(SHORT_TEXT),
                "url": "https://example.test/" + draw(prefixed_ids("")),
            }
            data["grounding"] = {"citations": [citation], "searchQueries": [draw(SHORT_TEXT)]}
    if chunk_type in (ChunkType.TEXT, ChunkType.REASONING) and draw(st.booleans()):
        data["snapshotMode"] = "replace"
        data["snapshotSeq"] = draw(st.integers(0, 10**6))
    return data


def _stream_end() -> st.SearchStrategy[_Data]:
    return st.fixed_dictionaries({}, optional={"finalContent": SHORT_TEXT})


@st.composite
def _tool_start(draw: st.DrawFn) -> _Data:
    return {"parentMessageId": draw(message_ids()), "toolCalling": draw(_TOOL_CALLINGS)}


@st.composite
def _tool_end(draw: st.DrawFn) -> _Data:
    data: _Data = {"isSuccess": draw(st.booleans())}
    _optional(draw, data, "executionTime", _SMALL_COUNTS)
    match draw(st.integers(0, 2)):  # no payload, the call wrapped in it, or the call itself
        case 1:
            calling = draw(_TOOL_CALLINGS)
            data["payload"] = {"parentMessageId": draw(message_ids()), "toolCalling": calling}
        case 2:
            data["payload"] = draw(_TOOL_CALLINGS)
    _optional(draw, data, "result", json_values(max_leaves=4))
    if not data["isSuccess"]:
        _optional(draw, data, "error", st.text(max_size=20) | json_objects())
    return data


@st.composite
def _tool_execute(draw: st.DrawFn) -> _Data:
    calling = draw(_TOOL_CALLINGS)
    data: _Data = {
        "toolCallId": calling["id"],
        "identifier": calling["identifier"],
        "apiName": calling["apiName"],
        "arguments": calling["arguments"],
    }
    _optional(draw, data, "executionTimeoutMs", st.integers(100, 600_000))
    for key in ("agentId", "assistantMessageId", "topicId", "toolMessageId"):
        _optional(draw, data, key, _CONTEXT_IDS[key])
    return data


_BUDGETS = st.fixed_dictionaries({"remaining": _SMALL_COUNTS})
_INSTALL_BODIES = st.fixed_dictionaries(  # a missing CLI's error body, as a chat shows it
    {
        "installCommand": st.sampled_from(
            ("npm i -g @anthropic-ai/claude-code", "brew install codex")
        )
    },
    optional={"docsUrl": st.just("https://docs.test/install")},
)


@st.composite
def _error(draw: st.DrawFn) -> _Data:
    """One of the four upstream shapes (PROTOCOL.md 1.4)."""
    message = draw(st.text(min_size=1, max_size=40))
    kind = draw(st.sampled_from(("InvalidProviderAPIKey", "ProviderBizError", "AgentRuntimeError")))
    match draw(st.integers(0, 3)):
        case 0:
            return {"message": message}
        case 1:
            return {"error": message}
        case 2:
            body = draw(json_objects() | _INSTALL_BODIES)
            return {"type": kind, "body": body, "message": message}
    data: _Data = {"errorType": kind, "error": {"message": message}}
    _optional(draw, data, "_responseBody", json_objects())
    _optional(draw, data, "provider", st.sampled_from(("openai", "anthropic")))
    _optional(draw, data, "budget", _BUDGETS)
    return data


_UI_MESSAGES = st.lists(
    st.fixed_dictionaries(
        {
            "id": message_ids(),
            "role": st.sampled_from(("user", "assistant", "tool")),
            "content": SHORT_TEXT,
        }
    ),
    max_size=3,
)


def ui_message_lists() -> st.SearchStrategy[list[_Data]]:
    """The server's message list as JSON (`uiMessages`, or what a refetch brings)."""
    return _UI_MESSAGES


@st.composite
def _runtime_end(draw: st.DrawFn) -> _Data:
    data: _Data = {}
    _optional(draw, data, "reason", st.sampled_from(RUNTIME_END_REASONS))
    match draw(st.integers(0, 2)):
        case 0:
            data["uiMessages"] = draw(_UI_MESSAGES)
        case 1:
            data["messagePatchMode"] = True
            data["messageRevision"] = draw(_SMALL_COUNTS)
    return data


@st.composite
def _intervention_request(draw: st.DrawFn) -> _Data:
    question = {"question": draw(st.text(min_size=1, max_size=40)), "options": []}
    data: _Data = {
        "toolCallId": draw(tool_call_ids()),
        "apiName": "askUserQuestion",
        "identifier": "claude-code",
        "arguments": json.dumps({"questions": [question]}),
        "deadline": draw(EPOCH_MS),
    }
    _optional(draw, data, "interactionKind", st.sampled_from(("permission", "plan", "question")))
    _optional(draw, data, "provider", st.sampled_from(("claude-code", "codex", "cursor")))
    return data


@st.composite
def _intervention_response(draw: st.DrawFn) -> _Data:
    data: _Data = {"toolCallId": draw(tool_call_ids())}
    if draw(st.booleans()):
        data["result"] = draw(json_values(max_leaves=3))
    else:
        data["cancelled"] = True
        data["cancelReason"] = draw(st.sampled_from(("timeout", "user_cancelled", "session_ended")))
    _optional(draw, data, "resolutionRequestId", prefixed_ids("res_"))
    _optional(draw, data, "producerAck", st.just(True))
    return data


@st.composite
def _step_start(draw: st.DrawFn) -> _Data:
    data: _Data = {}
    if draw(st.booleans()):
        data["uiMessages"] = draw(_UI_MESSAGES)
    else:
        data["messageRevision"] = draw(_SMALL_COUNTS)
    if draw(st.booleans()):
        data["phase"] = "human_approval"
        data["requiresApproval"] = True
        data["pendingToolsCalling"] = draw(_TOOL_CALLING_LISTS)
    return data


_STEP_PHASES = ("execution_complete", "human_approval", "subagent_progress", "operation_heartbeat")


@st.composite
def _step_complete(draw: st.DrawFn) -> _Data:
    data: _Data = {"phase": draw(st.sampled_from(_STEP_PHASES))}
    _optional(draw, data, "reason", st.sampled_from(("done", "tool_calls", "max_steps")))
    _optional(draw, data, "reasonDetail", SHORT_TEXT)
    if data["phase"] == "subagent_progress":
        data["toolMessageId"] = draw(message_ids())
        data["totalSteps"] = draw(_SMALL_COUNTS)
    return data


@st.composite
def _message_patch(draw: st.DrawFn) -> _Data:
    """`{revision, deletes, upserts: [{afterId, message}]}` (PROTOCOL.md 7.8)."""
    upserts = [
        {"afterId": draw(st.none() | message_ids()), "message": message}
        for message in draw(_UI_MESSAGES)
    ]
    return {
        "revision": draw(st.integers(0, 20)),
        "deletes": draw(st.lists(message_ids(), max_size=2)),
        "upserts": upserts,
    }


def _loose(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Data of a type with no typed view: absent, or an object with optional fields."""
    return st.none() | st.fixed_dictionaries({}, optional=fields)


_DATA: dict[str, st.SearchStrategy[Any]] = {
    EventType.AGENT_RUNTIME_INIT: _loose(model=st.just("gpt-4o"), provider=st.just("openai")),
    EventType.AGENT_RUNTIME_END: _runtime_end(),
    EventType.ERROR: _error(),
    EventType.STREAM_START: _stream_start(),
    EventType.STREAM_CHUNK: _stream_chunk(),
    EventType.STREAM_END: _stream_end(),
    EventType.VISIBLE_OUTPUT_END: _loose(),
    EventType.STREAM_RETRY: _loose(attempt=st.integers(1, 5), reason=SHORT_TEXT),
    EventType.SESSION_TITLE: st.fixed_dictionaries({"title": SHORT_TEXT}),
    EventType.TOOL_START: _tool_start(),
    EventType.TOOL_END: _tool_end(),
    EventType.TOOL_EXECUTE: _tool_execute(),
    EventType.TOOL_RESULT: st.fixed_dictionaries(
        {"toolCallId": tool_call_ids(), "content": SHORT_TEXT},
        optional={"isSuccess": st.booleans()},
    ),
    EventType.AGENT_INTERVENTION_REQUEST: _intervention_request(),
    EventType.AGENT_INTERVENTION_RESPONSE: _intervention_response(),
    EventType.MESSAGE_PATCH: _message_patch(),
    EventType.STEP_START: _step_start(),
    EventType.STEP_COMPLETE: _step_complete(),
    EventType.NOTIFY_UPDATE: _loose(reason=st.just("message_updated")),
}


def event_data(event_type: str) -> st.SearchStrategy[Any]:
    """Realistic `data` for an agent event of `event_type` (any JSON for unknown types)."""
    return _DATA.get(event_type, json_values(max_leaves=4))
