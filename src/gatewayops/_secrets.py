"""Redaction of anything shaped like a secret, wherever text leaves the process.

Owns: `redact_secrets(text)` (JWTs, ``Bearer`` credentials and ``token=`` URL
parameters become ``<redacted>``), `redacted` (the attrs field repr that hides a secret
field whole), `contains_secret`, `RedactingFilter` (a logging filter that applies the
rule to every record of the logger it is attached to) and `get_logger`, which every
module of gatewayops uses so that each of its loggers carries that filter (a filter on
a parent logger does not see its children's records). Fields named ``token`` are
redacted by name elsewhere; this module catches the token that turns up where no field
name warns of it: an `auth_failed` reason that echoes it, a HAR entry, an error message,
a URL. Must not know: anything about the protocol or the store.
"""

from __future__ import annotations

import logging
import re

__all__ = [
    "REDACTED",
    "RedactingFilter",
    "contains_secret",
    "get_logger",
    "redact_secrets",
    "redacted",
]

REDACTED = "<redacted>"
"""What a secret is replaced by."""

_SECRET = re.compile(
    # A JWT (JWS compact form): base64url header that starts '{"', payload, signature.
    r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*"
    # An HTTP bearer credential.
    r"|(?<=Bearer )[A-Za-z0-9._~+/=-]{8,}"
    # A token carried in a URL query (protocol v2 dials with ?token=...).
    r"|(?<=[?&]token=)[^&#\s\"'<>]+",
    re.IGNORECASE,
)


def redact_secrets(text: str) -> str:
    """`text` with every JWT, bearer credential and ``token=`` URL value redacted."""
    lowered = text.lower()
    if "eyj" not in lowered and "token=" not in lowered and "bearer" not in lowered:
        return text  # the common case: nothing that could match, no regex pass
    return _SECRET.sub(REDACTED, text)


def contains_secret(text: str) -> bool:
    """Whether `redact_secrets` would change `text`."""
    return _SECRET.search(text) is not None


def redacted(_value: object) -> str:
    """attrs field repr that hides a secret (tokens never appear in a repr or a log)."""
    return f"'{REDACTED}'"


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (arguments merged in) with `redact_secrets`.

    The formatted exception text is redacted too, so a traceback that quotes a frame
    holding a token does not leak it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact_secrets(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info is not None and record.exc_text is None:
            record.exc_text = redact_secrets(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text is not None:
            record.exc_text = redact_secrets(record.exc_text)
        return True


_FILTER = RedactingFilter()


def get_logger(name: str) -> logging.Logger:
    """`logging.getLogger(name)`, with the redacting filter attached (once)."""
    log = logging.getLogger(name)
    if _FILTER not in log.filters:
        log.addFilter(_FILTER)
    return log
