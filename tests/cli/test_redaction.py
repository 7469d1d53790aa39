"""What the commands print holds no token, even one a gateway echoes back."""

from __future__ import annotations

from pathlib import Path

import jwt
import trio

from gatewayops.protocol import AuthFailed

from .helpers import observing_gateway, spawn

TOKEN = jwt.encode({"operationId": "op-1", "topicId": "op-1"}, "k" * 32, algorithm="HS256")
SIGNATURE = TOKEN.rsplit(".", 1)[1]


async def test_watch_shows_and_records_no_token_an_auth_failed_reason_echoes(
    tmp_path: Path,
) -> None:
    """A gateway answers `auth` with `auth_failed` quoting the JWT: `watch` prints the
    reason redacted, and neither its output nor its recording holds the token."""
    log = tmp_path / "echo.jsonl"
    with trio.fail_after(30):
        async with observing_gateway(
            lambda auth: AuthFailed(reason=f"invalid token {auth.token}")
        ) as gateway:
            argv = ["watch", gateway.url, "--operation", "op-1", "--token", TOKEN]
            async with spawn(*argv, "--record", str(log)) as watch:
                assert await watch.wait() == 1
    assert watch.out.splitlines()[-2] == (
        "outcome    auth_failed (auth_failed): invalid token <redacted>"
    )
    assert SIGNATURE not in watch.out + watch.err + log.read_text()
