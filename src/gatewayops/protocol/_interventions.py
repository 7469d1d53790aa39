"""Typed views of the agent's requests for a human, and the review that guards them.

Owns: parsing the `data` of `agent_intervention_request`, `agent_intervention_response`
and a `step_start` of phase `human_approval` (PROTOCOL.md 6.2) into frozen classes that
never raise (a field that fails to read is named in `problems`; data without a
`toolCallId` gives `UnreadableData`), and `review`, the sanitiser that decides whether a
request can be shown for an answer. The review fails closed, rule by rule as 6.2's table
says, and its refusal is a `Refusal` whose `reason` says which rule failed: a request
that fails review is kept and shown as "cannot be reviewed here: <reason>", never
dropped. Readings of the table's optional fields: an absent `interactionKind` is a
`question`, an absent `provider` is accepted (a present one must be known). Must not
know: what the store does with a request, or how an answer travels.
"""

from __future__ import annotations

import enum
import math
from typing import Any, TypeAlias

import attrs

from gatewayops.protocol._event_data import UnreadableData
from gatewayops.protocol._fields import Lenient, json_type_name
from gatewayops.protocol._json import decode_json
from gatewayops.protocol._messages import AgentEvent, EventType, Problems

__all__ = [
    "ASK_USER_QUESTION",
    "PROVIDERS",
    "CancelReason",
    "HumanApprovalStep",
    "HumanEventData",
    "InteractionKind",
    "InterventionRequestData",
    "InterventionResponseData",
    "Option",
    "Question",
    "Refusal",
    "Review",
    "ReviewedRequest",
    "parse_human_event",
    "review",
]

ASK_USER_QUESTION = "askUserQuestion"
"""The one `apiName` the review accepts."""
PROVIDERS = frozenset({"claude-code", "codex", "cursor", "devin", "droid", "qoder"})
"""The producers a request may name (PROTOCOL.md 6.2)."""

_MAX_QUESTIONS = 4
_MAX_QUESTION_CHARS = 4000
_MAX_HEADER_CHARS = 200
_MAX_OPTIONS = 16
_MAX_LABEL_CHARS = 200
_MAX_DESCRIPTION_CHARS = 1000
_MAX_OPTION_ID_CHARS = 200
_DATA_PATH = "event.data"


class InteractionKind(enum.StrEnum):
    """What the agent asks for."""

    QUESTION = "question"
    PERMISSION = "permission"
    PLAN = "plan"

    @property
    def single_choice(self) -> bool:
        """Whether the request is one question whose options need ids (permission, plan)."""
        return self is not InteractionKind.QUESTION


class CancelReason(enum.StrEnum):
    """Why an intervention ended without an answer."""

    TIMEOUT = "timeout"
    USER_CANCELLED = "user_cancelled"
    SESSION_ENDED = "session_ended"


# --------------------------------------------------------------------------- views


@attrs.frozen(kw_only=True, weakref_slot=False)
class InterventionRequestData:
    """`agent_intervention_request`: the agent waits for a human until `deadline_ms`.

    `deadline_ms` is None when the deadline is absent or not a number (a problem says
    so); `interaction_kind` and `provider` are kept raw, for `review` to judge.
    """

    tool_call_id: str
    api_name: str = ""
    identifier: str = ""
    arguments: str | None = None
    deadline_ms: float | None = None
    interaction_kind: str | None = None
    provider: str | None = None
    problems: Problems = ()


@attrs.frozen(kw_only=True, weakref_slot=False)
class InterventionResponseData:
    """`agent_intervention_response`: an answer, or a cancellation, and whether it is
    the producer's durable echo (`producer_ack`)."""

    tool_call_id: str
    result: Any = None
    cancelled: bool = False
    cancel_reason: str | None = None
    resolution_request_id: str | None = None
    producer_ack: bool = False
    problems: Problems = ()


@attrs.frozen(kw_only=True, weakref_slot=False)
class HumanApprovalStep:
    """A `step_start` of phase `human_approval`: the run waits for the user's approval."""

    requires_approval: bool = True
    pending_tool_call_ids: tuple[str, ...] = ()
    problems: Problems = ()


HumanEventData: TypeAlias = (
    InterventionRequestData | InterventionResponseData | HumanApprovalStep | UnreadableData
)


def _request(data: dict[str, Any], problems: list[str]) -> HumanEventData:
    read = Lenient(data, _DATA_PATH, problems)
    call_id = read.required_text("toolCallId")
    if call_id is None:
        return UnreadableData(problems=tuple(problems))
    arguments = data.get("arguments")
    if arguments is not None and type(arguments) is not str:
        problems.append(f"{_DATA_PATH}.arguments: expected str, got {json_type_name(arguments)}")
        arguments = None
    deadline = data.get("deadline")
    if type(deadline) not in (int, float):
        problems.append(f"{_DATA_PATH}.deadline: expected number, got {json_type_name(deadline)}")
        deadline = None
    return InterventionRequestData(
        tool_call_id=call_id,
        api_name=read.text_or("apiName", ""),
        identifier=read.text_or("identifier", ""),
        arguments=arguments,
        deadline_ms=deadline,
        interaction_kind=read.text("interactionKind"),
        provider=read.text("provider"),
        problems=tuple(problems),
    )


def _response(data: dict[str, Any], problems: list[str]) -> HumanEventData:
    read = Lenient(data, _DATA_PATH, problems)
    call_id = read.required_text("toolCallId")
    if call_id is None:
        return UnreadableData(problems=tuple(problems))
    return InterventionResponseData(
        tool_call_id=call_id,
        result=data.get("result"),
        cancelled=read.flag("cancelled"),
        cancel_reason=read.text("cancelReason"),
        resolution_request_id=read.text("resolutionRequestId"),
        producer_ack=read.flag("producerAck"),
        problems=tuple(problems),
    )


def _approval_step(data: dict[str, Any], problems: list[str]) -> HumanEventData | None:
    if data.get("phase") != "human_approval":
        return None
    read = Lenient(data, _DATA_PATH, problems)
    pending = data.get("pendingToolsCalling")
    ids: list[str] = []
    if isinstance(pending, list):
        for call in pending:
            call_id = call.get("id") if type(call) is dict else None
            if type(call_id) is str:
                ids.append(call_id)
    elif pending is not None:
        problems.append(
            f"{_DATA_PATH}.pendingToolsCalling: expected array, got {json_type_name(pending)}"
        )
    return HumanApprovalStep(
        requires_approval=read.flag("requiresApproval", True),
        pending_tool_call_ids=tuple(ids),
        problems=tuple(problems),
    )


def parse_human_event(event: AgentEvent) -> HumanEventData | None:
    """The typed view of an intervention request or response, or of a human-approval
    `step_start`; None for any other event (a `step_start` of another phase included).

    Never raises; a `data` that is not an object gives `UnreadableData` (for a request
    or response) or None (for a `step_start`).
    """
    data = event.data
    kind = event.type
    if kind == EventType.STEP_START:
        return _approval_step(data, []) if type(data) is dict else None
    if kind not in (EventType.AGENT_INTERVENTION_REQUEST, EventType.AGENT_INTERVENTION_RESPONSE):
        return None
    if type(data) is not dict:
        return UnreadableData(
            problems=(f"{_DATA_PATH}: expected object, got {json_type_name(data)}",)
        )
    if kind == EventType.AGENT_INTERVENTION_REQUEST:
        return _request(data, [])
    return _response(data, [])


# --------------------------------------------------------------------------- review


@attrs.frozen(kw_only=True, weakref_slot=False)
class Option:
    """One choice of a question; `id` is None only for plain questions."""

    label: str
    description: str | None = None
    id: str | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class Question:
    """One question of a request, with its 1-16 options."""

    question: str
    header: str = ""
    multi_select: bool = False
    options: tuple[Option, ...]


@attrs.frozen(kw_only=True, weakref_slot=False)
class ReviewedRequest:
    """A request that passed review: only its canonical fields, ready to show."""

    tool_call_id: str
    kind: InteractionKind
    provider: str | None
    deadline_ms: float
    questions: tuple[Question, ...]


@attrs.frozen(kw_only=True, weakref_slot=False)
class Refusal:
    """A request that failed review; `reason` names the rule it broke."""

    tool_call_id: str
    reason: str

    @property
    def text(self) -> str:
        """What to show instead of the request."""
        return f"cannot be reviewed here: {self.reason}"


Review: TypeAlias = ReviewedRequest | Refusal


class _Refused(Exception):
    """A review rule failed (internal: `review` returns it as a `Refusal`)."""


def _length(value: object, what: str, low: int, high: int) -> str:
    if type(value) is not str:
        raise _Refused(f"{what} is {json_type_name(value)}, not a string")
    if not low <= len(value) <= high:
        raise _Refused(f"{what} has {len(value)} characters (allowed {low}-{high})")
    return value


def _option(raw: object, where: str, *, needs_id: bool) -> Option:
    if type(raw) is not dict:
        raise _Refused(f"{where} is {json_type_name(raw)}, not an object")
    label = _length(raw.get("label"), f"{where}.label", 0, _MAX_LABEL_CHARS)
    description = raw.get("description")
    if description is not None:
        description = _length(description, f"{where}.description", 0, _MAX_DESCRIPTION_CHARS)
    option_id = raw.get("id")
    if option_id is None and needs_id:
        raise _Refused(f"{where} has no id (required for this kind)")
    if option_id is not None:
        option_id = _length(option_id, f"{where}.id", 0, _MAX_OPTION_ID_CHARS)
    return Option(label=label, description=description, id=option_id)


def _question(raw: object, where: str, kind: InteractionKind) -> Question:
    if type(raw) is not dict:
        raise _Refused(f"{where} is {json_type_name(raw)}, not an object")
    text = _length(raw.get("question"), f"{where}.question", 1, _MAX_QUESTION_CHARS)
    header = raw.get("header", "")
    header = _length(header, f"{where}.header", 0, _MAX_HEADER_CHARS)
    multi = raw.get("multiSelect", False)
    if type(multi) is not bool:
        raise _Refused(f"{where}.multiSelect is {json_type_name(multi)}, not a boolean")
    if multi and kind.single_choice:
        raise _Refused(f"{where}.multiSelect is true for a {kind.value}")
    options = raw.get("options")
    if type(options) is not list or not 1 <= len(options) <= _MAX_OPTIONS:
        count = len(options) if type(options) is list else json_type_name(options)
        raise _Refused(f"{where}.options: {count} (expected 1-{_MAX_OPTIONS} options)")
    parsed = tuple(
        _option(option, f"{where}.options[{index}]", needs_id=kind.single_choice)
        for index, option in enumerate(options)
    )
    ids = [option.id for option in parsed]
    if kind.single_choice and len(set(ids)) != len(ids):
        raise _Refused(f"{where}.options: option ids are not unique")
    return Question(question=text, header=header, multi_select=multi, options=parsed)


def _checked(data: InterventionRequestData) -> ReviewedRequest:
    if data.api_name != ASK_USER_QUESTION:
        raise _Refused(f"apiName {data.api_name!r} is not {ASK_USER_QUESTION!r}")
    try:
        kind = InteractionKind(data.interaction_kind or InteractionKind.QUESTION)
    except ValueError:
        raise _Refused(f"interactionKind {data.interaction_kind!r} is not known") from None
    if data.provider is not None and data.provider not in PROVIDERS:
        raise _Refused(f"provider {data.provider!r} is not known")
    if data.deadline_ms is None or not math.isfinite(data.deadline_ms):
        raise _Refused("deadline is not a finite number")
    try:
        arguments = decode_json(data.arguments or "")
    except ValueError:
        raise _Refused("arguments are not JSON") from None
    questions = arguments.get("questions") if type(arguments) is dict else None
    if type(questions) is not list:
        raise _Refused("arguments hold no list of questions")
    allowed = 1 if kind.single_choice else _MAX_QUESTIONS
    if not 1 <= len(questions) <= allowed:
        raise _Refused(f"{len(questions)} questions (a {kind.value} allows 1-{allowed})")
    parsed = tuple(
        _question(question, f"questions[{index}]", kind) for index, question in enumerate(questions)
    )
    if len({question.question for question in parsed}) != len(parsed):
        raise _Refused("two questions have the same text")
    return ReviewedRequest(
        tool_call_id=data.tool_call_id,
        kind=kind,
        provider=data.provider,
        deadline_ms=data.deadline_ms,
        questions=parsed,
    )


def review(data: InterventionRequestData) -> Review:
    """Check a request as PROTOCOL.md 6.2's sanitiser does; fail closed.

    Returns the canonical `ReviewedRequest`, or a `Refusal` naming the first rule the
    request broke. Never raises.
    """
    try:
        return _checked(data)
    except _Refused as refused:
        return Refusal(tool_call_id=data.tool_call_id, reason=str(refused))
    except RecursionError:  # arguments nested deeper than Python parses
        return Refusal(tool_call_id=data.tool_call_id, reason="arguments are nested too deeply")
