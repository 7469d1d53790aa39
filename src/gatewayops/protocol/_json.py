"""Strict JSON (RFC 8259) in both directions, shared by the codec and the replay log.

Owns: one encoder and one decoder. NaN and +/-Infinity are not JSON: the encoder refuses
them, and the decoder rejects those literals and numbers that overflow to infinity
(``1e400``), so everything decoded can be encoded again. Module-level instances, because
`json.dumps`/`json.loads` with keyword arguments build a new encoder or decoder per call.
Must not know: messages.
"""

from __future__ import annotations

import json
import math
from typing import NoReturn

__all__ = ["STRICT_JSON_DECODER", "STRICT_JSON_ENCODER"]


def _reject_constant(literal: str) -> NoReturn:
    raise ValueError(f"{literal} is not a JSON number")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):
        raise ValueError(f"number {literal[:40]} is out of range")
    return value


STRICT_JSON_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)
"""Compact, and refuses NaN and +/-Infinity (`ValueError`)."""

STRICT_JSON_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)
"""Rejects NaN, +/-Infinity and overflowing numbers (`ValueError`)."""
