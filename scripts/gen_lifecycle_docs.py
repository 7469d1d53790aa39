"""Generate docs/lifecycle.md: the operation lifecycle, with diagrams from the tables.

The state diagrams and rows are rendered from `OPERATION_TABLE`, `CONNECTION_TABLE`,
`REFRESH_TABLE`, `RESUME_TABLE`, `TOOL_TABLE`, `INTERVENTION_TABLE` and `REFETCH_TABLE` (via
`gatewayops.store.mermaid`), and the
numbers in the prose come from `StoreConfig`, so the page cannot drift from the code: `tests/store/test_lifecycle.py` fails when the
committed page differs from what this script writes.

Usage::

    python scripts/gen_lifecycle_docs.py          # rewrite docs/lifecycle.md
    python scripts/gen_lifecycle_docs.py --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import argparse
import enum
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from gatewayops.store import (
    CONNECTION_TABLE,
    IGNORED,
    INTERVENTION_TABLE,
    MAX_INTERVENTION_WAIT_MS,
    OPERATION_TABLE,
    REFETCH_ATTEMPTS,
    REFETCH_TABLE,
    REFRESH_TABLE,
    RESUME_TABLE,
    TOOL_TABLE,
    ConnectionStatus,
    FinishSource,
    InterventionStatus,
    OperationStatus,
    RefetchStatus,
    RefreshStatus,
    ResumeStatus,
    StoreConfig,
    ToolStatus,
    backoff_delay_ms,
    mermaid,
)

OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "lifecycle.md"

# What ends an operation: (provenance, results it can carry, what happened).
_ENDINGS: dict[FinishSource, tuple[str, str]] = {
    FinishSource.AGENT_EVENT: (
        "`completed`, `interrupted`, `parked`, `failed`",
        "The operation's own `agent_runtime_end` (its `data.reason` picks the result: none "
        "-> completed, `interrupted`, `waiting_for_async_tool` -> parked, `error` -> failed) "
        "or own `error` event (failed; the message becomes the transcript's inline error). "
        "An event with no `operationId` counts as the operation's own.",
    ),
    FinishSource.SESSION_COMPLETE: (
        "`ended`",
        "A `session_complete` frame that is not an owed echo of a member's terminal.",
    ),
    FinishSource.RESUME_STATUS: (
        "`completed`, `failed`, `interrupted`",
        "A terminal `resume_complete` status that is not the stale status a replayed "
        "member terminal left.",
    ),
    FinishSource.AUTH_FAILED: ("`auth_failed`", "An `auth_failed` frame: bad token or gone."),
    FinishSource.REFRESH_FAILED: (
        "`auth_failed`",
        "Token refreshes kept failing until the refresh budget was spent.",
    ),
    FinishSource.REFRESH_NOT_FOUND: (
        "`gone`",
        "A token refresh reported that the gateway no longer knows the operation.",
    ),
    FinishSource.REFRESH_BUDGET: (
        "`auth_failed`",
        "Fresh tokens kept being answered with `auth_expired`: the budget of refreshes "
        "without an `auth_success` was spent.",
    ),
    FinishSource.INTERRUPT_CONFIRMED: (
        "`interrupted`",
        "The user pressed stop and the server confirmed the interrupt.",
    ),
    FinishSource.CONNECTION_REJECTED: (
        "`rejected`",
        "The transport reported a failure that will never succeed (e.g. HTTP 404 on the "
        "WebSocket upgrade).",
    ),
    FinishSource.DIAL_BUDGET: (
        "`unreachable`",
        "Only with `StoreConfig.dial_budget` set: that many dials in a row failed (refused, "
        "DNS, TLS) before any socket of the operation ever opened. Once one has opened, "
        "a lost socket only reconnects.",
    ),
    FinishSource.INTERNAL_ERROR: (
        "`failed`",
        "Handling an action for the operation raised (a bug, or an input nobody planned "
        "for): rather than leave the run open, it ends here, once, with its socket closed; "
        "the detail names the exception and where it was raised.",
    ),
    FinishSource.STATUS_CHANGE: (
        "`completed`, `failed`, `interrupted`",
        "Protocol v2: a terminal `status_change` from the hub (its watchdog, say) that is "
        "not an owed echo of a member's terminal.",
    ),
    FinishSource.V2_UNAVAILABLE: (
        "`unreachable`",
        "Protocol v2 without the fallback to v1: the user's socket never reached `ready` "
        "within `StoreConfig.v2_dial_budget` dials in a row (or the hub refused it for "
        "good), so every run it carried ends here rather than wait for ever.",
    ),
}


def _seconds(milliseconds: int) -> str:
    if milliseconds < 1000:
        return f"{milliseconds} ms"
    return f"{milliseconds / 1000:g} s"


def _endings_table() -> str:
    missing = set(FinishSource) - set(_ENDINGS)
    if missing:  # a new FinishSource must be documented here
        raise SystemExit(f"gen_lifecycle_docs: undocumented finish sources: {sorted(missing)}")
    rows = ["| Provenance (`FinishSource`) | Result | What happened |", "|---|---|---|"]
    for source in FinishSource:
        results, what = _ENDINGS[source]
        rows.append(f"| `{source.value}` | {results} | {what} |")
    return "\n".join(rows)


_Status = TypeVar("_Status", bound=enum.Enum)
_Event = TypeVar("_Event", bound=enum.Enum)


def _order(member: enum.Enum) -> int:
    return list(type(member)).index(member)


def _table_rows(table: Mapping[tuple[_Status, _Event], Any]) -> str:
    rows = ["| From | Event | To |", "|---|---|---|"]
    entries = sorted(table.items(), key=lambda entry: (_order(entry[0][0]), _order(entry[0][1])))
    for (source, event), target in entries:
        to = "(ignored: no change)" if target is IGNORED else target.name
        rows.append(f"| {source.name} | {event.value} | {to} |")
    return "\n".join(rows)


def render() -> str:
    """The full text of docs/lifecycle.md."""
    config = StoreConfig()
    backoffs = ", ".join(_seconds(backoff_delay_ms(config, attempt)) for attempt in range(1, 8))
    watchdog = _seconds(config.connect_timeout_ms)
    heartbeat = _seconds(config.heartbeat_interval_ms)
    missed = config.max_missed_heartbeats
    backoff_range = (
        f"{_seconds(config.initial_backoff_ms)} doubling to {_seconds(config.max_backoff_ms)}"
    )
    operation_diagram = mermaid(OPERATION_TABLE, OperationStatus.RUNNING)
    connection_diagram = mermaid(CONNECTION_TABLE, ConnectionStatus.DISCONNECTED)
    tool_diagram = mermaid(TOOL_TABLE, ToolStatus.RUNNING)
    intervention_diagram = mermaid(INTERVENTION_TABLE, InterventionStatus.PENDING)
    refetch_diagram = mermaid(REFETCH_TABLE, RefetchStatus.IDLE)
    longest_wait = f"{MAX_INTERVENTION_WAIT_MS // 3_600_000} hours"
    refresh_diagram = mermaid(REFRESH_TABLE, RefreshStatus.IDLE)
    resume_diagram = mermaid(RESUME_TABLE, ResumeStatus.IDLE)
    quiet = _seconds(config.quiet_after_ms)
    return f"""\
<!-- Generated by scripts/gen_lifecycle_docs.py from gatewayops.store; do not edit. -->

# The operation lifecycle

This page explains how `gatewayops` follows one gateway operation from the moment the
application starts (or reattaches to) it until it ends, and why. Every decision on it is
made by the pure reducer `gatewayops.store.reduce`; the diagrams below are generated
from the lifecycle tables the reducer itself looks transitions up in
(`OPERATION_TABLE`, `CONNECTION_TABLE`, `REFRESH_TABLE`, `RESUME_TABLE`, `TOOL_TABLE`,
`INTERVENTION_TABLE` and `REFETCH_TABLE`,
in the manner of h11's `_state.py`), so they cannot disagree with the code. The protocol itself is described
in [protocol.md](protocol.md).

## Statuses of an operation

An `Operation` has one of three statuses:

- **`running`**: the application follows it. A socket exists or is being
  (re)established; events stream into its transcript.
- **`detached`**: the application stopped looking (`OperationDetached`) without the
  operation ending, or (with `StoreConfig(auto_reconnect=False)`) its socket was lost.
  Its link is disconnected (no socket, no connection timers); it emits no notification, and can be followed
  again with `OperationAttached` or `ReconnectRequested`, which dial a new socket.
- **`finished`**: it reached its one terminal state. `Operation.outcome` says how
  (`Outcome.result`) and what said so (`Outcome.source`). Nothing leaves `finished`: the
  table has no edge out of it, and the reducer drops every later action for the operation,
  so a finished operation never revives and is never notified twice.

```mermaid
{operation_diagram}```

Every table is total over the pairs that can happen: a pair whose event has no effect
in that status is written out as *ignored*, with the reason beside it in the source.
A pair that is missing can only be reached by a bug, so the lookup raises `KeyError`,
and the reducer's safety net ends the operation as an internal error (see below).

## Links and sessions

An operation is followed over a **link** (`GatewayState.links[op.link_id]`, or
`state.link_of(op)`): the socket, its connection status, the generation of the current
attempt, the backoff attempt count, missed heartbeats and whether it has gone quiet. The
operation itself holds its **session**: the resume cursor, the token and its refresh,
the resume buffer, the echo guard, client tools and the transcript. Protocol v1 has one
link per operation, named after it; the split is what lets a later protocol carry many
operations on one socket without touching the session rules. Transport actions (`Socket*`)
name a link; timers name their `owner` (a link for the connect watchdog, heartbeat and
backoff, else an operation).

## The connection of a link

While its operation runs, a link moves through the v1 client's statuses, plus one of
our own, `expired` (the socket is open but the server answered `auth_expired`; no events
flow until a fresh token redials):

```mermaid
{connection_diagram}```

The same table, as rows:

{_table_rows(CONNECTION_TABLE)}

- **dial**: a new socket attempt. Each attempt gets the next **generation**; every
  transport action and timer carries it, and news from an older generation is dropped, so
  an old socket's late close cannot tear down its replacement.
- **opened**: the handshake completed; the first frame is `auth` with the current token.
- **auth_succeeded**: the client is connected. It sends `resume` with its cursor and
  `wantStatus: true`, then any tool results queued while it was away.
- **lost**: the socket closed or failed, the connect watchdog fired (after {watchdog}
  over dial, handshake and the wait for `auth_success`), or the heartbeat tick found
  {missed} heartbeats in a row unanswered (one is sent every {heartbeat} while connected;
  `heartbeat_ack` resets the count).
- **backoff_elapsed**: the reconnect delay passed. Consecutive lost attempts wait
  {backoffs}, ... (doubling, capped at {_seconds(config.max_backoff_ms)}; the runtime adds
  jitter). The count restarts only once a connection **proved healthy**: an agent event
  or a heartbeat ack after `auth_success`. Neither a socket that merely opens nor one that
  only authenticates resets it, so a server that accepts (or authenticates) and then
  drops is redialled a few times a minute, not every second. With
  `StoreConfig(auto_reconnect=False)` a lost socket is not redialled at all: the
  operation becomes `detached` and no ending is invented.
- **redial**: a fresh token arrived, or the application asked to reconnect
  (`ReconnectRequested`: one socket at a time, the backoff started again, the cursor
  kept); dial again at once.
- **close**: the operation finished or was detached.

A connected socket on which nothing but heartbeat acks arrives for {quiet} is reported
**quiet** (`Link.quiet`, the selector `is_quiet`): the gateway may have forgotten
the run without saying so. It is news for the user, never an ending; the next frame
clears it.

## What ends an operation

Each operation emits exactly one `NotifyFinished` effect, carrying its `Outcome`:

{_endings_table()}

Just as important is what never ends an operation:

- **Silence.** No timer infers completion: an empty replay after the gateway hibernated
  is ambiguous, and guessing "completed" was the multi-device false-cancel bug. Firing
  every timer of a reattached operation forever never finishes it.
- **`auth_expired`** alone: it starts a token refresh (see below).
- **A member's terminal.** In a group run, events of other operations are forwarded on
  the supervisor's socket. They are delivered (counted in `Transcript.member_events`) but
  a member's `agent_runtime_end` or `error` never ends the supervisor.
- **A lost socket**: it only reconnects (a gateway never reached at all can end a run
  with `dial_budget` set, above).

When an operation finishes, the topic's `running_operation` marker is cleared only if it
still names that operation; a newer run's marker is never touched. `is_input_loading`
turns false as soon as the operation is no longer running.

## Resources are derived from state

Sockets and timers are not started by effects. `link_resources(link, config)` and
`operation_resources(op, config)` are pure functions that say which should exist right
now (`resources(state)` is their union over the whole state):

| Resource | Owner | Exists while |
|---|---|---|
| socket of the current generation | link | connecting, authenticating, connected or expired |
| connect watchdog ({watchdog}) | link | connecting or authenticating |
| heartbeat tick ({heartbeat}) | link | connected or expired |
| backoff ({backoff_range}) | link | reconnecting |
| resume flush ({_seconds(config.resume_flush_ms)} quiet) | operation | a reattach's replay is being buffered |
| refresh retry | operation | a failed token refresh waits to be retried |
| refresh timeout ({_seconds(config.refresh_timeout_ms)}) | operation | a token refresh is in flight |
| tool deadline | operation | a client tool's result is still owed (also while detached) |
| intervention deadline | operation | an intervention is pending or resolving (also while detached) |

The socket task itself watches for a quiet socket ({quiet} without a frame other than a
heartbeat ack) and reports `SocketWentQuiet`, as it reports a close.

The runtime diffs the set after every step and opens what appeared, closes or cancels
what disappeared. It recomputes only the resources of the links and operations a step
changed, so the diff costs what changed, not what the store holds. A timer's value is its
identity: re-arming it (the next heartbeat tick, a debounce) produces a different value,
and a timer that fires after it left the set is ignored. A finished operation has no
resources at all, and neither has its link, so "no socket or timer survives a terminal
state" is a property of state that a pure test can check.

## The echo guard

Older gateways mirror a group member's `agent_runtime_end` onto the supervisor's channel
and then also send the supervisor a `session_complete`, and leave the stored status
terminal. Taken at face value, that would end a supervisor that is still running.

The guard is order-counted, not timed (a suspended laptop may deliver an echo late):

- each foreign `agent_runtime_end` owes one `session_complete` echo, and records the
  status it leaves (`error`, `interrupted`, or `completed` for any other reason);
- a `session_complete` that arrives while echoes are owed consumes one and is ignored;
  once none are owed, the next one genuinely ends the operation;
- any event of the operation's own clears the owed echoes (the owner is demonstrably
  alive), and every new subscription (`auth_success`) clears the guard entirely: only
  what the current replay carries counts;
- a terminal `resume_complete` whose status equals the one a member terminal of the
  current replay left is stale and ignored; any other terminal status is honoured.

## Client tools

Each `tool_execute` asks the client to run a tool and answer with exactly one
`tool_result`. A call still owed its result is in `Operation.tools`; once sent (or
expired) it moves to `Operation.settled_tools`, so the resources derived from pending
calls cost what is pending, not what the run ever asked.

```mermaid
{tool_diagram}```

A result is sent at once when the socket is authenticated, else queued and sent after
the next `auth_success`; a write that failed queues it again; its deadline passing
expires it, and nothing is sent after that. A second `tool_execute` with the same call
id runs nothing.

## Interventions

When the agent asks the user something (`agent_intervention_request`: a question form,
a permission, a plan), the request is reviewed at once and kept in
`Operation.human.open` by its `toolCallId`, with the questions to show or, if the
review refused it, the reason it "cannot be reviewed here". While any is open (or a
`step_start` of phase `human_approval` waits), `is_waiting_for_human` is true and
`pending_interventions` lists them; once one ends it moves to `Operation.human.settled`.

```mermaid
{intervention_diagram}```

{_table_rows(INTERVENTION_TABLE)}

- **answered**: the user answered or declined (`InterventionAnswered`,
  `InterventionDeclined`, with a client-minted resolution request id); one
  `SubmitIntervention` effect carries it to the producer. The same id again changes
  nothing; another answer while one resolves is refused (`InterventionClosed`).
- **submit_failed**: the submission did not arrive; the intervention may be answered
  again until its deadline.
- **echoed**: the producer's response names a `resolutionRequestId` but has no
  `producerAck`: the answer is not durable yet.
- **acked** / **producer_cancelled**: a response with `producerAck`, or a legacy one
  without a `resolutionRequestId`: resolved, or cancelled with its `cancelReason`.
- **deadline_passed**: the request's `deadline` (epoch ms on the producer's clock,
  counted from the request's own `timestamp`; at most {longest_wait} when either is
  missing) passed: cancelled with `timeout`.
- **session_ended**: the operation finished; every open intervention is cancelled with
  `session_ended`, so nothing is pending after a terminal.

## Fetching the server's message list

When `message_patch` revisions cannot keep the transcript (a gap, an unknown anchor, a
run that ended at a revision not held, `resume_complete{{gap: true}}`), the transcript
asks for the server's list once (`FetchMessages`; PROTOCOL.md 7.8). The fetch is not
part of the operation's life: the run ends when its events say so, and a fetch still
out then goes on; its answer changes only the transcript.

```mermaid
{refetch_diagram}```

{_table_rows(REFETCH_TABLE)}

- **needed**: the transcript has come to need the list; asked once, not again while
  one is out or after giving up.
- **gap**: a resume replay reported a gap; after giving up it asks again, with a fresh
  budget.
- **adopted**: `MessagesFetched` brought a list (not behind the run's end): adopted as a
  `uiMessages` snapshot is.
- **failed** / **failed_for_good**: `MessagesFetchFailed`, or an answer that is not a
  list or is behind the run's end: asked again at once, until {REFETCH_ATTEMPTS}
  attempts were made; then the transcript stays flagged (`needs_refetch`,
  `refetch_problem`).

## The resume cursor and buffering

The resume cursor is the envelope `id` of the last `agent_event`, and it follows what
the server sends (an empty id leaves it, as upstream). It survives reconnects and token
refreshes, so the next `resume` asks only for what came after it. Outside a resume
replay nothing is deduplicated: a live event is delivered whatever its id, and an id
that does not come after the cursor (a gateway that lost its counter restarts at 1) is
reported as a problem of the operation (`Operation.problems`, `last_problem`), never a
reason to drop the rest of the run. Ids are compared as digit strings, so an id of any
length is an id.

When the application **reattaches** to a running operation **without a cursor** (page
reload, second device), the replay is buffered instead of shown as it arrives:

```mermaid
{resume_diagram}```

The buffer is flushed, deduplicated (by envelope id, else by type, step and timestamp,
keeping the first copy) and shown in arrival order when:

- {_seconds(config.resume_flush_ms)} pass with no new replayed event (a debounce), or
- `resume_complete` arrives (with any status), or
- the operation's own terminal event arrives, or a genuine `session_complete`.

The flush always happens before the completion decision the same frame triggers, so
the replayed events are in the transcript before the operation is notified as finished.
Leaving the connection mid-replay flushes as well (the cursor already moved past those
events). A brand-new run (`OperationStarted`) and a reattach with a cursor never buffer.

## Token refresh and its budget

`auth_expired` means only the token's `exp` failed; the server keeps the socket open.
The reducer moves the link to `expired` and emits one `RefreshToken`. The refresh
is **single-flight**: further `auth_expired` frames while it is in flight do nothing.

```mermaid
{refresh_diagram}```

- `TokenRefreshed` stores the new token and redials a new generation at once; the new
  socket authenticates with the new token and resumes from the same cursor.
- `TokenRefreshFailed` with `not_found` ends the operation as `gone` (no infinite 404
  loop); any other failure is retried after a delay.
- A refresh that has not answered within {_seconds(config.refresh_timeout_ms)} counts as
  failed, so a hung refresh endpoint cannot leave a run stuck on "Stop".
- The **refresh budget** ({config.refresh_budget}) counts refreshes since the last
  `auth_success`. A failure once it is spent ends the operation `auth_failed`
  (`refresh_failed`); an `auth_expired` once it is spent ends it `auth_failed`
  (`refresh_budget`). Either way the socket is gone in the same step that emits the
  notification.

The application can also replace a followed operation's token itself
(`TokenReplaced`, `Client.update_token`): nothing is sent until the next `auth` frame,
which `ReconnectRequested` (`Client.reconnect`) brings about at once.

## Frames nobody planned for

What decides an operation's life is read from the fewest fields possible: the frame's
`type`, the event's `type` and `operationId`, whether it is terminal. A field that does
not read (a missing `stepIndex`, an object where a string was expected, a 5,000-digit
number) is degraded to a default, counted in `Operation.problems` and named in
`last_problem`; the frame still has its effect on the lifecycle. Only a frame whose type
cannot be read at all is refused (`BadMessageReceived`, counted in `bad_frames`); the
socket stays up. If handling an action still fails, the operation ends once as
`failed` with the source `internal_error` (see the table above).
"""


def main(argv: list[str] | None = None) -> int:
    """Write docs/lifecycle.md, or with --check report whether it is up to date."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT} is out of date; run scripts/gen_lifecycle_docs.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
