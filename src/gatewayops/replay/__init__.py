"""Recording and replay of sessions (DESIGN.md section 6; the format: docs/replay.md).

A `Recorder` is store middleware that writes every action the reducer sees, and every
effect it produces, to a JSON Lines log, with tokens redacted. `replay` folds today's
`reduce` over a log's actions, compares its effects with the log's, reports the first
divergence with a field-level diff, checks the invariants of PROTOCOL.md section 11
over the whole log, and can stop after any record (time travel). `from_har` imports a
browser HAR capture's WebSocket frames as a log. Pure: no Trio.

    with open_recorder("session.jsonl") as recorder:
        store = Store(middleware=[recorder])
        ...
    report = replay(read_log("session.jsonl"))
    print(report.to_text())
"""

from gatewayops.replay._format import (
    FORMAT,
    VERSION,
    Header,
    LogItem,
    LogWarning,
    Record,
    ReplayFormatError,
    parse_log,
    read_log,
    write_log,
)
from gatewayops.replay._har import from_har
from gatewayops.replay._places import REDACTED, Direction, Kind
from gatewayops.replay._recorder import Recorder, open_recorder
from gatewayops.replay._replayer import replay
from gatewayops.replay._report import Divergence, ReplayReport
from gatewayops.replay._summary import OperationSummary
from gatewayops.replay._timeline import OperationTimeline, TimelineEntry
from gatewayops.store import InvariantChecker, Violation

__all__ = [
    "FORMAT",
    "REDACTED",
    "VERSION",
    "Direction",
    "Divergence",
    "Header",
    "InvariantChecker",
    "Kind",
    "LogItem",
    "LogWarning",
    "OperationSummary",
    "OperationTimeline",
    "Record",
    "Recorder",
    "ReplayFormatError",
    "ReplayReport",
    "TimelineEntry",
    "Violation",
    "from_har",
    "open_recorder",
    "parse_log",
    "read_log",
    "replay",
    "write_log",
]
