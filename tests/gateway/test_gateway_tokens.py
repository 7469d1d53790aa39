"""TokenAuthority: HS256 pinned, claims required, `exp` read against the gateway clock."""

from __future__ import annotations

import base64
import hashlib
import hmac

import jwt
import pytest
import trio
from trio.testing import MockClock

from gatewayops.gateway._tokens import (
    ExpiredToken,
    GatewayClock,
    InvalidToken,
    TokenAuthority,
    ValidToken,
)

FORGERY_KEY = b"f" * 32


def _signed(authority: TokenAuthority, payload_json: str) -> str:
    """An HS256 JWT whose payload is exactly `payload_json`, signed with `authority`'s key.

    Written by hand so the payload can hold what `json.dumps` would never produce
    (``1e400``), byte for byte as a hostile client would send it.
    """

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    header = b64(b'{"alg":"HS256","typ":"JWT"}')
    signing_input = f"{header}.{b64(payload_json.encode())}"
    signature = hmac.new(authority._secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


async def test_issued_token_is_valid_and_carries_its_scope(mock_clock: MockClock) -> None:
    """A freshly issued token verifies and names its topic, operation and generation."""
    authority = TokenAuthority(GatewayClock(epoch=1000.0))
    check = authority.check(authority.issue("topic-a", "op-a", 60))
    assert isinstance(check, ValidToken)
    assert (check.claims.topic_id, check.claims.operation_id) == ("topic-a", "op-a")
    assert check.claims.expires_at == 1060.0
    assert check.claims.generation == authority.last_generation == 1


async def test_token_expires_with_trio_time(autojump_clock: MockClock) -> None:
    """Sleeping past the TTL in virtual time makes the same token `ExpiredToken`."""
    authority = TokenAuthority(GatewayClock(epoch=1000.0))
    token = authority.issue("t", "op", 60)
    await trio.sleep(59)
    assert isinstance(authority.check(token), ValidToken)
    await trio.sleep(1)
    assert isinstance(authority.check(token), ExpiredToken)


async def test_token_from_another_gateway_fails_signature() -> None:
    """Each authority has its own random secret: another one's token is invalid."""
    clock = GatewayClock()
    token = TokenAuthority(clock).issue("t", "op")
    check = TokenAuthority(clock).check(token)
    assert check == InvalidToken(reason="invalid token: bad signature")


async def test_none_algorithm_is_refused() -> None:
    """An unsigned ``alg: none`` token with perfect claims is refused."""
    clock = GatewayClock()
    claims = {"topic": "t", "op": "op", "exp": clock.now() + 60, "iat": 0, "gen": 99}
    token = jwt.encode(claims, None, algorithm="none")
    assert TokenAuthority(clock).check(token) == InvalidToken(
        reason="invalid token: algorithm not allowed"
    )


async def test_other_hmac_algorithm_is_refused() -> None:
    """HS512 is refused even with a valid-looking structure: only HS256 is allowed."""
    clock = GatewayClock()
    claims = {"topic": "t", "op": "op", "exp": clock.now() + 60, "iat": 0, "gen": 1}
    token = jwt.encode(claims, FORGERY_KEY * 2, algorithm="HS512")
    assert TokenAuthority(clock).check(token) == InvalidToken(
        reason="invalid token: algorithm not allowed"
    )


async def test_missing_claim_and_garbage_are_invalid() -> None:
    """A token without `op` (validly signed) and a non-JWT string are both invalid."""
    authority = TokenAuthority(GatewayClock())
    secret = authority._secret
    partial = jwt.encode({"topic": "t", "exp": 9e12, "iat": 0, "gen": 1}, secret, algorithm="HS256")
    assert authority.check(partial) == InvalidToken(reason="invalid token: missing claim 'op'")
    assert authority.check("not-a-jwt") == InvalidToken(reason="invalid token: malformed")


async def test_mistyped_claims_are_invalid() -> None:
    """A validly signed token whose `op` is not a string is invalid, not a crash."""
    authority = TokenAuthority(GatewayClock())
    claims = {"topic": "t", "op": 7, "exp": 9e12, "iat": 0, "gen": 1}
    token = jwt.encode(claims, authority._secret, algorithm="HS256")
    check = authority.check(token)
    assert isinstance(check, InvalidToken)
    assert "must be strings" in check.reason


async def test_repr_hides_the_secret() -> None:
    """Neither the authority's repr nor the verdict's repr contains key material."""
    authority = TokenAuthority(GatewayClock())
    token = authority.issue("t", "op")
    assert authority._secret.hex() not in repr(authority)
    assert "redacted" in repr(authority)
    assert token not in repr(authority.check(token))


@pytest.mark.parametrize(
    ("literal", "problem"),
    [
        ("NaN", "exp claim must be a finite number, got nan"),
        ("Infinity", "exp claim must be a finite number, got inf"),
        ("-Infinity", "exp claim must be a finite number, got -inf"),
        ("1e400", "exp claim must be a finite number, got inf"),
        ("1" + "0" * 400, "exp claim out of range (0 to 253402300799 epoch seconds)"),
        ("1e308", "exp claim out of range (0 to 253402300799 epoch seconds)"),
        ("-1", "exp claim out of range (0 to 253402300799 epoch seconds)"),
        ("true", "exp claim must be a number"),
        ('"2030-01-01"', "exp claim must be a number"),
    ],
    ids=[
        "nan",
        "infinity",
        "minus-infinity",
        "1e400",
        "10**400",
        "1e308",
        "negative",
        "bool",
        "string",
    ],
)
async def test_exp_that_is_not_a_sane_epoch_second_is_invalid(literal: str, problem: str) -> None:
    """A validly signed `exp` that is NaN, infinite, out of range or not a number is invalid.

    PyJWT's JSON decoding hands these through (NaN and 1e400 as floats, 10**400 as an
    int); each must be refused with a reason, never read as a token that never expires
    and never raise.
    """
    authority = TokenAuthority(GatewayClock(epoch=1000.0))
    payload = f'{{"topic":"t","op":"op","iat":1000,"gen":1,"exp":{literal}}}'
    assert authority.check(_signed(authority, payload)) == InvalidToken(
        reason=f"invalid token: {problem}"
    )


async def test_iat_that_is_not_finite_is_invalid() -> None:
    """`iat` is held to the same rule as `exp`: a NaN `iat` makes the token invalid."""
    authority = TokenAuthority(GatewayClock(epoch=1000.0))
    payload = '{"topic":"t","op":"op","iat":NaN,"gen":1,"exp":2000}'
    assert authority.check(_signed(authority, payload)) == InvalidToken(
        reason="invalid token: iat claim must be a finite number, got nan"
    )


async def test_issue_refuses_a_lifetime_that_gives_an_unusable_exp() -> None:
    """`issue` raises `ValueError` naming `ttl_seconds` rather than sign a token `check` refuses."""
    authority = TokenAuthority(GatewayClock(epoch=1000.0))
    with pytest.raises(ValueError, match=r"ttl_seconds=inf: .* \(exp claim must be a finite"):
        authority.issue("t", "op", float("inf"))
    with pytest.raises(ValueError, match=r"ttl_seconds=-2000: .* \(exp claim out of range"):
        authority.issue("t", "op", -2000)
