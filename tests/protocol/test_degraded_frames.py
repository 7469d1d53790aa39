"""Server frames other than agent_event that degrade, numbers kept as text, the problem cap.

resume_complete and auth_failed keep what decides the operation's life (a status that
cannot be read is not terminal; a reason never carries a secret, even cut short); valid
JSON whose numbers Python cannot hold is read with each such number kept as a
`NumberText` (its literal, which no field takes for a string), noted as a frame-level
problem; a message lists at most 8 problems.
"""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest

from gatewayops.protocol import (
    REDACTED,
    AgentEventMessage,
    AuthExpired,
    AuthFailed,
    AuthSuccess,
    EventType,
    HeartbeatAck,
    NumberText,
    ResumeComplete,
    RuntimeEndData,
    SessionComplete,
    SessionStatus,
    UnknownMessage,
    decode,
    encode,
    from_wire,
    parse_event_data,
    to_wire,
)

ALLOWED = "running, waiting_input, waiting_confirmation, completed, error, interrupted"
TOKEN = jwt.encode({"sub": "x"}, "k" * 32, algorithm="HS256")
HEADER, CLAIMS, SIGNATURE = TOKEN.split(".")
BIG = "9" * 5000  # over Python's 4,300-digit limit for int <-> str
BIG_PROBLEM = "frame: integer 99999999999999999999... (5000 characters) read as text"


def frame(**fields: Any) -> str:
    """A JSON text frame with `fields`."""
    return json.dumps(fields)


# --------------------------------------------------------------------------- resume_complete


@pytest.mark.parametrize("status", list(SessionStatus))
def test_resume_complete_every_status(status: SessionStatus) -> None:
    """Every SessionStatus value decodes to its enum member, with no problem."""
    assert decode(frame(type="resume_complete", status=status.value)) == ResumeComplete(
        status=status, problems=()
    )


@pytest.mark.parametrize(
    ("text", "got"),
    [
        (frame(type="resume_complete", status="done"), '"done"'),
        (frame(type="resume_complete", status="COMPLETED"), '"COMPLETED"'),
        (frame(type="resume_complete"), "nothing"),
        (frame(type="resume_complete", status=None), "null"),
        (frame(type="resume_complete", status=1), "1"),
        (frame(type="resume_complete", status=["completed"]), '["completed"]'),
    ],
    ids=["unknown", "wrong-case", "missing", "null", "int", "array"],
)
def test_resume_complete_unreadable_status(text: str, got: str) -> None:
    """A status that is missing, unknown or not a string gives status None (not terminal);
    the problem lists the allowed values and quotes what came."""
    assert decode(text) == ResumeComplete(
        status=None, problems=(f"resume_complete.status: expected one of {ALLOWED}, got {got}",)
    )


def test_resume_complete_unknown_status_round_trips() -> None:
    """An unreadable status is left out by to_wire, and from_wire reads that back as an
    unreadable status again (the problem then says nothing came)."""
    received = decode(frame(type="resume_complete", status="done"))
    assert to_wire(received) == {"type": "resume_complete"}
    assert encode(received) == '{"type":"resume_complete"}'
    assert from_wire(to_wire(received)) == ResumeComplete(
        status=None, problems=(f"resume_complete.status: expected one of {ALLOWED}, got nothing",)
    )


def test_resume_complete_gap_is_read_and_round_trips() -> None:
    """`gap: true` (a replay that lost events, PROTOCOL.md 7.8) is kept and written back;
    a gap that is not a boolean reads as no gap, named as a problem."""
    gapped = decode(frame(type="resume_complete", status="running", gap=True))
    assert gapped == ResumeComplete(status=SessionStatus.RUNNING, gap=True)
    assert from_wire(to_wire(gapped)) == gapped
    odd = decode(frame(type="resume_complete", status="running", gap="yes"))
    assert odd == ResumeComplete(
        status=SessionStatus.RUNNING,
        problems=('resume_complete.gap: expected a boolean, got "yes"',),
    )


# --------------------------------------------------------------------------- auth_failed


def test_auth_failed_reason() -> None:
    """auth_failed keeps a string reason and defaults an absent or null one to ""."""
    assert decode(frame(type="auth_failed", reason="gone")) == AuthFailed(reason="gone")
    assert decode(frame(type="auth_failed")) == AuthFailed(reason="", problems=())
    assert decode(frame(type="auth_failed", reason=None)) == AuthFailed(reason="", problems=())


@pytest.mark.parametrize(
    ("reason", "text", "got"),
    [(403, "403", "int"), (False, "false", "bool"), ({"a": [1]}, '{"a":[1]}', "object"),
     (["x"], '["x"]', "array")],
)  # fmt: skip
def test_auth_failed_non_string_reason(reason: object, text: str, got: str) -> None:
    """A non-string reason is still a refusal: its reason is the value's short JSON text."""
    assert decode(frame(type="auth_failed", reason=reason)) == AuthFailed(
        reason=text, problems=(f"auth_failed.reason: expected str, got {got}",)
    )


def test_auth_failed_long_non_string_reason_is_shortened() -> None:
    """A non-string reason's text is cut to 80 characters, ending in an ellipsis."""
    message = decode(frame(type="auth_failed", reason=["x" * 200]))
    assert isinstance(message, AuthFailed)
    assert message.reason == '["' + "x" * 77 + "\u2026"


@pytest.mark.parametrize(
    ("reason", "expected"),
    [(TOKEN, REDACTED), (f"invalid token {TOKEN}", f"invalid token {REDACTED}"),
     (f"Bearer {TOKEN}; expired", f"Bearer {REDACTED}; expired")],
    ids=["whole", "inside-text", "bearer"],
)  # fmt: skip
def test_auth_failed_reason_redacts_a_jwt(reason: str, expected: str) -> None:
    """A JWT the server echoes in a string reason is redacted, without a problem."""
    message = decode(frame(type="auth_failed", reason=reason))
    assert message == AuthFailed(reason=expected, problems=())
    assert TOKEN not in repr(message)


def test_auth_failed_non_string_reason_redacts_a_jwt() -> None:
    """A JWT inside a non-string reason is redacted from its JSON text, which then fits
    in 80 characters whole."""
    message = decode(frame(type="auth_failed", reason={"token": TOKEN}))
    assert message == AuthFailed(
        reason='{"token":"' + REDACTED + '"}',
        problems=("auth_failed.reason: expected str, got object",),
    )


def test_truncated_jwt_in_a_reason_is_redacted() -> None:
    """A JWT that the 80-character cut would split is redacted before the cut, so nothing
    of its header or claims survives."""
    message = decode(frame(type="auth_failed", reason={"x": "p" * 25 + TOKEN}))
    assert message == AuthFailed(
        reason='{"x":"' + "p" * 25 + REDACTED + '"}',
        problems=("auth_failed.reason: expected str, got object",),
    )
    assert isinstance(message, AuthFailed)
    assert HEADER[:8] not in message.reason
    assert CLAIMS[:8] not in message.reason


def test_reason_cut_inside_the_redaction_leaves_no_token() -> None:
    """When the cut falls where the JWT was, it cuts the redaction marker, not the token."""
    message = decode(frame(type="auth_failed", reason=["p" * 70 + TOKEN]))
    assert message == AuthFailed(
        reason='["' + "p" * 70 + REDACTED[:7] + "\u2026",
        problems=("auth_failed.reason: expected str, got array",),
    )
    assert isinstance(message, AuthFailed)
    assert HEADER[:3] not in message.reason


def test_problem_lines_redact_a_jwt() -> None:
    """A JWT in a value quoted by a problem line does not appear in that line."""
    message = decode(frame(type="resume_complete", status=TOKEN))
    assert message == ResumeComplete(
        status=None,
        problems=(f'resume_complete.status: expected one of {ALLOWED}, got "{REDACTED}"',),
    )


def test_problem_lines_redact_a_jwt_before_cutting() -> None:
    """A long value quoted in a problem line is redacted first, then cut to 80 characters."""
    message = decode(frame(type="resume_complete", status=["p" * 70 + TOKEN]))
    got = '["' + "p" * 70 + REDACTED[:7] + "\u2026"
    assert message == ResumeComplete(
        status=None, problems=(f"resume_complete.status: expected one of {ALLOWED}, got {got}",)
    )


def test_auth_failed_number_text_reason_is_mistyped() -> None:
    """A reason that is a number Python cannot hold is no string: it is named as mistyped,
    and the refusal's reason is the number's literal."""
    assert decode('{"type":"auth_failed","reason":1e400}') == AuthFailed(
        reason="1e400",
        problems=(
            "frame: number 1e400 (5 characters) read as text",
            "auth_failed.reason: expected str, got number Python cannot hold exactly",
        ),
    )


# --------------------------------------------------------------------------- numbers kept as text


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        (BIG, BIG_PROBLEM),
        ("-" + BIG, "frame: integer -9999999999999999999... (5001 characters) read as text"),
        ("1e400", "frame: number 1e400 (5 characters) read as text"),
        ("-1e400", "frame: number -1e400 (6 characters) read as text"),
        ("1" + "0" * 400 + ".5", f"frame: number 1{'0' * 19}... (403 characters) read as text"),
    ],
    ids=["5000-digits", "negative-5000-digits", "1e400", "-1e400", "long-float"],
)
def test_unholdable_number_is_kept_as_text(number: str, problem: str) -> None:
    """Valid JSON with a number Python cannot hold decodes, the number kept as a NumberText
    of its literal (not a str) and noted as a frame-level problem."""
    message = decode('{"type":"status_change","value":' + number + "}")
    assert message == UnknownMessage(type="status_change", problems=(problem,))
    assert isinstance(message, UnknownMessage)
    assert message.payload == {"type": "status_change", "value": NumberText(number)}
    assert message.payload["value"] != number


@pytest.mark.parametrize(
    ("number", "shown"),
    [("1.00000000000000e400", "1.00000000000000e400"),
     ("1.000000000000000e400", "1.000000000000000e40...")],
    ids=["20-characters", "21-characters"],
)  # fmt: skip
def test_frame_problem_shows_a_literal_up_to_20_characters(number: str, shown: str) -> None:
    """The frame-level problem shows a literal of up to 20 characters whole; a longer one
    is cut to its first 20, followed by "..."."""
    message = decode('{"type":"x","value":' + number + "}")
    assert message.problems == (f"frame: number {shown} ({len(number)} characters) read as text",)


@pytest.mark.parametrize(
    ("cls", "message_type"),
    [(AuthSuccess, "auth_success"), (AuthExpired, "auth_expired"),
     (HeartbeatAck, "heartbeat_ack"), (SessionComplete, "session_complete")],
)  # fmt: skip
def test_fieldless_frames_keep_frame_problems(cls: type[Any], message_type: str) -> None:
    """A message without fields still carries the frame-level problems of its frame."""
    text = '{"type":"' + message_type + '","extra":' + BIG + "}"
    assert decode(text) == cls(problems=(BIG_PROBLEM,))
    assert decode(frame(type=message_type)) == cls(problems=())


def test_number_kept_as_text_then_fails_its_field() -> None:
    """A field that needed the number gets the NumberText, fails its own check, and says so."""
    text = '{"type":"agent_event","event":{"type":"x","stepIndex":0,"timestamp":1e400}}'
    message = decode(text)
    assert isinstance(message, AgentEventMessage)
    assert message.event.timestamp == 0
    assert message.problems == (
        "frame: number 1e400 (5 characters) read as text",
        "agent_event.event.timestamp: expected number, got number Python cannot hold exactly",
    )


@pytest.mark.parametrize(
    ("number", "problem"),
    [(BIG, BIG_PROBLEM), ("1e400", "frame: number 1e400 (5 characters) read as text")],
    ids=["5000-digits", "1e400"],
)
def test_terminal_event_with_an_unholdable_number_is_still_terminal(
    number: str, problem: str
) -> None:
    """An agent_runtime_end whose data holds such a number still decodes as the own,
    terminal event it is: only that number's detail is lost."""
    text = (
        '{"type":"agent_event","id":"42","event":{"type":"agent_runtime_end",'
        '"operationId":"op-1","stepIndex":3,"timestamp":1700000000000,'
        '"data":{"reason":"completed","usage":{"tokens":' + number + "}}}}"
    )
    message = decode(text)
    assert isinstance(message, AgentEventMessage)
    assert message.id == "42"
    assert message.event.type == EventType.AGENT_RUNTIME_END
    assert message.event.is_terminal_type
    assert message.event.is_own("op-1")
    assert (message.event.step_index, message.event.timestamp) == (3, 1700000000000)
    assert message.event.data == {"reason": "completed", "usage": {"tokens": NumberText(number)}}
    assert message.problems == (problem,)
    view = parse_event_data(message.event)
    assert view == RuntimeEndData(reason="completed", problems=())
    assert isinstance(view, RuntimeEndData)
    assert view.ended_status is SessionStatus.COMPLETED


# --------------------------------------------------------------------------- the problem cap


def numbers_frame(count: int) -> str:
    """An auth_success frame with `count` distinct numbers Python cannot hold."""
    return '{"type":"auth_success","a":[' + ",".join(f"1e{400 + i}" for i in range(count)) + "]}"


def number_problem(i: int) -> str:
    """The problem `numbers_frame` gives for its `i`-th number."""
    return f"frame: number 1e{400 + i} (5 characters) read as text"


def test_eight_problems_are_all_kept() -> None:
    """Up to 8 problems are listed as they are."""
    assert decode(numbers_frame(8)).problems == tuple(number_problem(i) for i in range(8))


def test_ninth_problem_is_summarised() -> None:
    """With 9 problems the first 7 are kept and the last line says how many more there were."""
    expected = (*(number_problem(i) for i in range(7)), "... and 2 more")
    assert decode(numbers_frame(9)).problems == expected


def test_many_problems_are_capped_at_eight_lines() -> None:
    """However many problems a frame has, its message lists 8 lines."""
    problems = decode(numbers_frame(50)).problems
    assert len(problems) == 8
    assert problems[-1] == "... and 43 more"


def test_problem_cap_spans_frame_and_field_problems() -> None:
    """The cap counts frame-level and field problems together, in the order found."""
    event = '{"type":1,"operationId":true,"stepIndex":"a","timestamp":"b","id":[]}'
    text = '{"type":"agent_event","n":[1e400,1e401,1e402],"event":' + event + ',"id":[]}'
    message = decode(text)
    assert message.problems == (
        number_problem(0),
        number_problem(1),
        number_problem(2),
        "agent_event.event.type: expected str, got int",
        "agent_event.event.operationId: expected str, got true (treated as foreign)",
        "agent_event.event.stepIndex: expected int, got str",
        "agent_event.event.timestamp: expected number, got str",
        "... and 2 more",
    )
