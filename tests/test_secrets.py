"""Redaction of secret-shaped text (tokens never reach a log, a report or a repr)."""

from __future__ import annotations

import logging

import jwt
import pytest

from gatewayops._secrets import REDACTED, contains_secret, get_logger, redact_secrets

TOKEN = jwt.encode({"sub": "user-1", "exp": 2_000_000_000}, "s" * 32, algorithm="HS256")


def test_a_jwt_anywhere_in_text_is_redacted() -> None:
    """A JWT inside other text is replaced, and the text around it is kept."""
    text = f"auth failed: token {TOKEN} is not for this topic"
    assert redact_secrets(text) == f"auth failed: token {REDACTED} is not for this topic"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abcdefgh12345678", f"Authorization: Bearer {REDACTED}"),
        (
            "wss://gw/v2/ws?token=abc.def&clientId=c1",
            f"wss://gw/v2/ws?token={REDACTED}&clientId=c1",
        ),
        ("ws://gw/ws?operationId=op-1&token=xyz", f"ws://gw/ws?operationId=op-1&token={REDACTED}"),
    ],
)
def test_bearer_credentials_and_token_url_parameters_are_redacted(text: str, expected: str) -> None:
    """Bearer credentials and ``token=`` query values are secrets too."""
    assert redact_secrets(text) == expected


@pytest.mark.parametrize(
    "text", ["", "operation op-1 finished: completed", "eyJ is a prefix only", "tokens=3"]
)
def test_text_without_secrets_is_unchanged(text: str) -> None:
    """Ordinary text passes through untouched."""
    assert redact_secrets(text) == text
    assert not contains_secret(text)


def test_gatewayops_loggers_redact_messages_arguments_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A token in a log message, its arguments or an exception's text never reaches output."""
    log = get_logger("gatewayops.test-secrets")
    with caplog.at_level(logging.INFO, logger="gatewayops.test-secrets"):
        log.info("refused %s", TOKEN)
        try:
            raise ValueError(f"bad token {TOKEN}")
        except ValueError:
            log.exception("handling failed")
    output = caplog.text
    assert TOKEN not in output
    assert output.count(REDACTED) >= 2
