"""No token leaves through a recording, an imported HAR or a report, even where no
field name warns of it: a real HS256 JWT (PyJWT) echoed in an `auth_failed` reason, in
a socket URL, in a frame of any type, as a ``Bearer`` credential."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jwt
import pytest

from gatewayops.cli import main
from gatewayops.protocol import AuthFailed
from gatewayops.replay import REDACTED, Record, from_har, open_recorder, read_log, replay
from gatewayops.store import GatewayState, OperationStarted, SocketOpened, Store

from .helpers import CONFIG, GATEWAY, received, rewrite

TOKEN = jwt.encode({"operationId": "op-h1", "topicId": "t-1"}, "k" * 32, algorithm="HS256")
SIGNATURE = TOKEN.rsplit(".", 1)[1]
BEARER = "b3JpZ2luYWwtYmVhcmVyLWNyZWRlbnRpYWw"


def _assert_clean(text: str) -> None:
    assert SIGNATURE not in text
    assert BEARER not in text


def _har(tmp_path: Path) -> Path:
    """One socket whose URL, auth frame, a debug frame and `auth_failed` reason hold secrets."""
    frames = [
        ("send", {"type": "auth", "token": TOKEN}),
        ("receive", {"type": "debug", "note": f"upstream sent Authorization: Bearer {BEARER}"}),
        ("receive", {"type": "auth_failed", "reason": f"invalid token {TOKEN}"}),
    ]
    entry = {
        "startedDateTime": "2024-05-01T10:00:00.000Z",
        "request": {"url": f"wss://gw.example.com/ws?operationId=op-h1&token={TOKEN}"},
        "_webSocketMessages": [
            {"type": kind, "time": 1714557600.1 + number, "data": json.dumps(frame)}
            for number, (kind, frame) in enumerate(frames)
        ],
    }
    path = tmp_path / "leaky.har"
    path.write_text(json.dumps({"log": {"entries": [entry]}}))
    return path


def test_the_recorder_redacts_a_token_echoed_in_an_auth_failed_reason(tmp_path: Path) -> None:
    """The echoed JWT is redacted in the file, and the redacted log still replays clean."""
    path = tmp_path / "echo.jsonl"
    start = OperationStarted(operation_id="op-1", topic_id="t-1", gateway_url=GATEWAY, token=TOKEN)
    with open_recorder(path, config=CONFIG) as recorder:
        store = Store(GatewayState(config=CONFIG), middleware=[recorder])
        store.dispatch(start)
        store.dispatch(SocketOpened(link_id="op-1", generation=1))
        store.dispatch(received("op-1", 1, AuthFailed(reason=f"invalid token {TOKEN}")))
    text = path.read_text()
    _assert_clean(text)
    assert f'"reason":"invalid token {REDACTED}"' in text
    report = replay(read_log(path))
    assert report.ok, report.to_text()
    outcome = report.state.operations["op-1"].outcome
    assert outcome is not None
    assert outcome.detail == f"invalid token {REDACTED}"


def test_an_imported_har_holds_no_token_in_any_frame_or_url(tmp_path: Path) -> None:
    """`from_har` redacts the URL and every frame's text before it decodes them."""
    items = from_har(_har(tmp_path))
    _assert_clean(repr(items))
    records = [item.item for item in items if isinstance(item, Record)]
    assert any(REDACTED in repr(item) for item in records)


@pytest.mark.parametrize("extra", [[], ["--json"], ["--check"]], ids=["text", "json", "check"])
def test_replaying_a_har_prints_no_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    """`replay --from-har` (text, JSON or --check) prints no token, on stdout or stderr."""
    code = main(["replay", "--from-har", str(_har(tmp_path)), *extra])
    out, err = capsys.readouterr()
    assert code == 0, err
    _assert_clean(out + err)
    if extra == ["--json"]:
        assert json.loads(out)["operations"][0]["outcome"]["detail"] == f"invalid token {REDACTED}"


def test_a_har_imported_to_a_log_writes_no_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`replay --from-har FILE -o LOG`: the log holds no token and replays clean."""
    log = tmp_path / "imported.jsonl"
    assert main(["replay", "--from-har", str(_har(tmp_path)), "-o", str(log)]) == 0
    _assert_clean(log.read_text() + "".join(capsys.readouterr()))
    assert replay(read_log(log)).ok


def _unredacted_log(tmp_path: Path) -> Path:
    """A log as an older recorder (or a hand edit) could have left it: the token in clear."""
    path = tmp_path / "old.jsonl"
    with open_recorder(path, config=CONFIG):
        pass
    records: list[dict[str, Any]] = [
        {
            "payload": {"type": "OperationStarted", "topic_id": "t-1", "gateway_url": GATEWAY},
            "dir": "local",
            "kind": "app",
        },
        {
            "payload": {
                "type": "MessageReceived",
                "generation": 1,
                "frame": {"type": "auth_failed", "reason": f"bad {TOKEN}"},
            },
            "dir": "in",
            "kind": "frame",
        },
    ]
    records[0]["payload"]["token"] = TOKEN
    lines = [path.read_text()]
    for seq, record in enumerate(records, start=1):
        lines.append(json.dumps({"seq": seq, "t": 0.0, "op": "op-1", **record}) + "\n")
    return rewrite(path, lines)


@pytest.mark.parametrize("extra", [[], ["--json"]], ids=["text", "json"])
def test_a_report_on_an_unredacted_log_shows_no_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    """A log that holds a token in clear still replays to a report (text and JSON, and
    `to_text` / `to_json` themselves) that shows none."""
    log = _unredacted_log(tmp_path)
    assert TOKEN in log.read_text()
    report = replay(read_log(log))
    _assert_clean(report.to_text() + json.dumps(report.to_json()))
    main(["replay", str(log), *extra])
    _assert_clean("".join(capsys.readouterr()))
