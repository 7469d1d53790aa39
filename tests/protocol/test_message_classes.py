"""Message classes: secret redaction, terminal statuses and event ownership."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given

from gatewayops.protocol import (
    TERMINAL_STATUSES,
    AgentEvent,
    Auth,
    EventType,
    Resume,
    SessionStatus,
    UnknownMessage,
)
from gatewayops.testing import strategies as gs


def test_auth_repr_redacts_the_token() -> None:
    """repr(Auth(...)) hides the token."""
    auth = Auth(token="eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln")
    assert repr(auth) == "Auth(token='<redacted>')"
    assert "eyJ" not in str(auth)
    assert auth.token == "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln"


@given(gs.auth_messages())
def test_no_token_ever_appears_in_a_repr(auth: Auth) -> None:
    """Whatever the token, neither repr nor str of the message contains it."""
    assert auth.token not in repr(auth)
    assert auth.token not in str(auth)


def test_messages_are_frozen() -> None:
    """Messages are immutable values."""
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        Resume().last_event_id = "7"  # type: ignore[misc]


def test_resume_defaults() -> None:
    """A Resume built without arguments replays everything and asks for the status."""
    assert Resume() == Resume(last_event_id="", want_status=True)


def test_unknown_messages_compare_by_type_only() -> None:
    """UnknownMessage equality ignores the payload (it is kept for inspection, not identity)."""
    assert UnknownMessage(type="x", payload={"a": 1}) == UnknownMessage(type="x")
    assert UnknownMessage(type="x") != UnknownMessage(type="y")


@pytest.mark.parametrize("status", list(SessionStatus))
def test_terminal_statuses(status: SessionStatus) -> None:
    """Exactly completed, error and interrupted are terminal."""
    expected = status.value in {"completed", "error", "interrupted"}
    assert status.is_terminal is expected
    assert (status in TERMINAL_STATUSES) is expected


@pytest.mark.parametrize(
    ("event_operation_id", "own"), [("op-1", True), ("", True), ("op-2", False)]
)
def test_event_ownership(event_operation_id: str, own: bool) -> None:
    """An event is op-1's own when its operationId is op-1 or empty (PROTOCOL.md 1.4)."""
    assert AgentEvent(type="error", operation_id=event_operation_id).is_own("op-1") is own


@pytest.mark.parametrize("event_type", [t.value for t in EventType])
def test_terminal_event_types(event_type: str) -> None:
    """Only agent_runtime_end and error are terminal event types."""
    expected = event_type in {"agent_runtime_end", "error"}
    assert AgentEvent(type=event_type).is_terminal_type is expected
