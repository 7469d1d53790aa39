"""The user-level tokens of protocol v2: who may open a ``/v2/ws`` socket.

Owns: `UserTokenAuthority`, which issues and checks the HS256 JWTs a v2 client puts in
its socket URL (PROTOCOL.md 7.1: the user id in `sub`, `exp`, `iat`), `DEFAULT_USER`,
and the verdicts `ValidUser` / `ExpiredUser` (an `InvalidToken` otherwise). Its secret is
its own, so an operation token of v1 never opens a v2 socket, nor the reverse (each also
lacks the other's claims). Signatures and time claims are checked by
`_tokens.verified_payload`, as v1's are; `exp` is read against the gateway clock.

Must not know: sockets, operations, or what the hub does with a verdict. Never logs or
reprs a token or the signing secret.
"""

from __future__ import annotations

import secrets
from typing import TypeAlias

import attrs
import jwt

from gatewayops.gateway._tokens import (
    DEFAULT_TOKEN_TTL,
    GatewayClock,
    InvalidToken,
    time_claim_problem,
    time_claims_problem,
    verified_payload,
)

__all__ = [
    "DEFAULT_USER",
    "ExpiredUser",
    "UserCheck",
    "UserTokenAuthority",
    "ValidUser",
]

DEFAULT_USER = "user-1"
"""The user who owns a run started without naming one."""

_REQUIRED_CLAIMS = ("sub", "exp", "iat")


@attrs.frozen(kw_only=True)
class ValidUser:
    """The token is good: it speaks for `user_id`."""

    user_id: str


@attrs.frozen(kw_only=True)
class ExpiredUser:
    """The signature and claims are good; only `exp` has passed (a fresh token will do)."""

    user_id: str


UserCheck: TypeAlias = ValidUser | ExpiredUser | InvalidToken


class UserTokenAuthority:
    """Issues and checks the user-level JWTs of one gateway instance.

    Args:
        clock: the gateway clock; `exp` and `iat` are read against it.
    """

    def __init__(self, clock: GatewayClock) -> None:
        self._clock = clock
        self._secret = secrets.token_bytes(32)

    def issue(self, user_id: str, ttl_seconds: float = DEFAULT_TOKEN_TTL) -> str:
        """A token for `user_id`, valid for `ttl_seconds` (zero or less: already expired).

        Raises:
            ValueError: `user_id` is empty, or the `exp` it would carry is not a finite
                epoch second in range (such a token would be refused by `check`).
        """
        if not user_id:
            raise ValueError("user_id: must not be empty")
        now = self._clock.now()
        problem = time_claim_problem("exp", now + ttl_seconds)
        if problem is not None:
            raise ValueError(f"ttl_seconds={ttl_seconds!r}: the token would be refused ({problem})")
        payload = {"sub": user_id, "iat": int(now), "exp": now + ttl_seconds}
        return jwt.encode(payload, self._secret, algorithm="HS256")

    def check(self, token: str) -> UserCheck:
        """The verdict on `token`: `InvalidToken` (its reason is safe to send and log),
        `ExpiredUser` when only `exp` has passed, else `ValidUser`. Never raises."""
        payload = verified_payload(token, self._secret, _REQUIRED_CLAIMS)
        if isinstance(payload, InvalidToken):
            return payload
        user_id = payload["sub"]
        if type(user_id) is not str or not user_id:
            return InvalidToken(reason="invalid token: sub claim must be a non-empty string")
        problem = time_claims_problem(payload)
        if problem is not None:
            return problem
        if float(payload["exp"]) <= self._clock.now():
            return ExpiredUser(user_id=user_id)
        return ValidUser(user_id=user_id)

    def __repr__(self) -> str:
        return "UserTokenAuthority(secret=<redacted>)"
