"""Time and tokens of the reference gateway.

Owns: `GatewayClock` (epoch time driven by `trio.current_time`, so a test's
`autojump_clock` moves token lifetimes and event timestamps together) and
`TokenAuthority` (issues and checks the HS256 JWTs a v1 client sends in its `auth` frame).

PyJWT checks the signature with ``algorithms=["HS256"]`` pinned (a ``none`` or any other
algorithm is refused) and the presence of every claim. The time claims (`exp`, `iat`) must
then be finite numbers of epoch seconds from 0 to the end of year 9999: PyJWT's JSON
decoding lets ``NaN``, ``Infinity`` and integers of hundreds of digits through, and such a
claim is refused rather than read as a token that never expires (or overflowing a float).
`exp` is checked against the gateway clock rather than the wall clock, which is what lets a
test expire a token by sleeping in virtual time. Each token carries a generation number
(`gen`), unique per gateway, so "every token issued so far for this operation counts as
expired" is one integer compare.

`verified_payload` is the one place a signature and the time claims are checked; the
user-level tokens of protocol v2 (`_user_tokens`) use it too. Must not know: sockets,
operations or what the server does with a verdict. Never logs or
reprs a token or the signing secret.
"""

from __future__ import annotations

import itertools
import math
import secrets
import time
from typing import Any, TypeAlias

import attrs
import jwt
import trio

__all__ = [
    "DEFAULT_TOKEN_TTL",
    "LATEST_TIME_CLAIM",
    "ExpiredToken",
    "GatewayClock",
    "InvalidToken",
    "TokenAuthority",
    "TokenCheck",
    "TokenClaims",
    "ValidToken",
    "time_claim_problem",
    "time_claims_problem",
    "verified_payload",
]

DEFAULT_TOKEN_TTL = 300.0
"""Lifetime of a token in seconds when the caller names none (upstream: about 5 min)."""

LATEST_TIME_CLAIM = 253_402_300_799
"""The largest `exp` or `iat` accepted (9999-12-31T23:59:59Z); the smallest is 0."""

_ALGORITHM = "HS256"
_REQUIRED_CLAIMS = ("exp", "iat", "topic", "op", "gen")
_TIME_CLAIMS = ("exp", "iat")


class GatewayClock:
    """Epoch time that advances with Trio's clock.

    Reads ``epoch + (trio.current_time() - start)``, so under a `MockClock` the gateway's
    idea of "now" jumps with virtual time. Create it inside a running Trio loop.

    Args:
        epoch: the epoch second the clock reads at creation; the wall clock if ``None``.
    """

    def __init__(self, epoch: float | None = None) -> None:
        self._epoch = time.time() if epoch is None else epoch
        self._start = trio.current_time()

    def now(self) -> float:
        """Seconds since the Unix epoch, by this clock."""
        return self._epoch + (trio.current_time() - self._start)

    def now_ms(self) -> int:
        """Whole milliseconds since the Unix epoch (an event `timestamp`)."""
        return int(self.now() * 1000)

    def __repr__(self) -> str:
        return f"GatewayClock(now={self.now():.3f})"


@attrs.frozen(kw_only=True)
class TokenClaims:
    """What a verified token says: who it is for and until when.

    Attributes:
        topic_id: the `topic` claim.
        operation_id: the `op` claim.
        expires_at: the `exp` claim, epoch seconds.
        generation: the `gen` claim; larger means issued later by the same gateway.
    """

    topic_id: str
    operation_id: str
    expires_at: float
    generation: int


@attrs.frozen(kw_only=True)
class ValidToken:
    """The signature, the claims and the lifetime are all good."""

    claims: TokenClaims


@attrs.frozen(kw_only=True)
class ExpiredToken:
    """The signature and claims are good; only `exp` has passed (recoverable)."""

    claims: TokenClaims


@attrs.frozen(kw_only=True)
class InvalidToken:
    """The token is unusable (bad signature, algorithm, shape or claims).

    Attributes:
        reason: a short reason that is safe to send to the client and to log.
    """

    reason: str


TokenCheck: TypeAlias = ValidToken | ExpiredToken | InvalidToken


def time_claim_problem(name: str, value: object) -> str | None:
    """Why the time claim `name` is unusable, or ``None`` when it is a sane epoch second."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{name} claim must be a number"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{name} claim must be a finite number, got {value}"
    # An int is compared exactly here, so a 400-digit one cannot overflow a float.
    if not 0 <= value <= LATEST_TIME_CLAIM:
        return f"{name} claim out of range (0 to {LATEST_TIME_CLAIM} epoch seconds)"
    return None


def verified_payload(
    token: str, secret: bytes, required: tuple[str, ...]
) -> dict[str, Any] | InvalidToken:
    """The claims of `token` if its HS256 signature verifies with `secret` and it holds
    every `required` claim; the caller checks their types, then `time_claims_problem`,
    then `exp`. Never raises."""
    try:
        payload: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            options={
                "require": list(required),
                "verify_signature": True,
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.MissingRequiredClaimError as error:
        return InvalidToken(reason=f"invalid token: missing claim {error.claim!r}")
    except jwt.InvalidAlgorithmError:
        return InvalidToken(reason="invalid token: algorithm not allowed")
    except jwt.InvalidSignatureError:
        return InvalidToken(reason="invalid token: bad signature")
    except jwt.InvalidTokenError:
        return InvalidToken(reason="invalid token: malformed")
    return payload


def time_claims_problem(payload: dict[str, Any]) -> InvalidToken | None:
    """Why the `exp` or `iat` claim of a verified payload is unusable, or None."""
    for name in _TIME_CLAIMS:
        problem = time_claim_problem(name, payload[name])
        if problem is not None:
            return InvalidToken(reason=f"invalid token: {problem}")
    return None


def _claims(payload: dict[str, Any]) -> TokenClaims | InvalidToken:
    topic, op, exp, gen = payload["topic"], payload["op"], payload["exp"], payload["gen"]
    if type(topic) is not str or type(op) is not str:
        return InvalidToken(reason="invalid token: topic and op claims must be strings")
    if type(gen) is not int:
        return InvalidToken(reason="invalid token: gen claim must be an integer")
    problem = time_claims_problem(payload)
    if problem is not None:
        return problem
    return TokenClaims(topic_id=topic, operation_id=op, expires_at=float(exp), generation=gen)


class TokenAuthority:
    """Issues and checks the operation-scoped JWTs of one gateway instance.

    The signing secret is 32 random bytes made per instance, so a token from another
    gateway (or another run of this one) never verifies.

    Args:
        clock: the gateway clock; `exp` and `iat` are read against it.
    """

    def __init__(self, clock: GatewayClock) -> None:
        self._clock = clock
        self._secret = secrets.token_bytes(32)
        self._generations = itertools.count(1)
        self._last_generation = 0

    @property
    def last_generation(self) -> int:
        """The generation of the most recently issued token (0 before the first)."""
        return self._last_generation

    def issue(
        self, topic_id: str, operation_id: str, ttl_seconds: float = DEFAULT_TOKEN_TTL
    ) -> str:
        """A fresh token for `operation_id` on `topic_id`, valid for `ttl_seconds`.

        A zero or negative `ttl_seconds` gives a token that is already expired, which is
        how a test hands a client a stale token.

        Args:
            topic_id: the topic the token is scoped to.
            operation_id: the operation the token is scoped to.
            ttl_seconds: lifetime from now, by the gateway clock.

        Returns:
            The encoded JWT.

        Raises:
            ValueError: the `exp` it would carry is not a finite epoch second from 0 to
                `LATEST_TIME_CLAIM` (such a token would be refused by `check`).
        """
        now = self._clock.now()
        problem = time_claim_problem("exp", now + ttl_seconds)
        if problem is not None:
            raise ValueError(f"ttl_seconds={ttl_seconds!r}: the token would be refused ({problem})")
        self._last_generation = next(self._generations)
        payload = {
            "topic": topic_id,
            "op": operation_id,
            "iat": int(now),
            "exp": now + ttl_seconds,
            "gen": self._last_generation,
        }
        return jwt.encode(payload, self._secret, algorithm=_ALGORITHM)

    def check(self, token: str) -> TokenCheck:
        """The verdict on `token`.

        Returns:
            `InvalidToken` when the signature, the algorithm, the encoding or a claim is
            bad (a time claim that is not a finite epoch second in range included);
            `ExpiredToken` when only `exp` has passed; `ValidToken` otherwise. Never raises.
        """
        payload = verified_payload(token, self._secret, _REQUIRED_CLAIMS)
        if isinstance(payload, InvalidToken):
            return payload
        claims = _claims(payload)
        if isinstance(claims, InvalidToken):
            return claims
        if claims.expires_at <= self._clock.now():
            return ExpiredToken(claims=claims)
        return ValidToken(claims=claims)

    def __repr__(self) -> str:
        return f"TokenAuthority(last_generation={self._last_generation}, secret=<redacted>)"
