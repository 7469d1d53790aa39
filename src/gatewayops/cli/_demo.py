"""`gatewayops demo`: every scenario side by side, against the embedded reference gateway.

Owns: the ``demo`` subcommand -- starting the gateway on a free loopback port, one real
client (trio-websocket transport; `refresh_token`, `interrupt` and `submit_intervention`
wired to the gateway's, a local tool registered; with ``--protocol v2`` one socket for
every run, its user token from the gateway's token service), one operation per
scenario run concurrently with its fault (over v2, the scenarios that take v2 away run
afterwards on a client of their own that falls back to v1), the live board, the summary
(fitted to 80 columns), per-operation recordings (``--record DIR``) and the exit code:
0 only if every scenario ended as expected and nothing leaked.

Must not know: what each scenario does (`_scenarios`) or how the board is drawn
(`_console`).
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TextIO

import attrs
import trio

from gatewayops._words import plural
from gatewayops.cli._console import PLAIN_COLUMNS, Board, run_command, table
from gatewayops.cli._endings import EXIT_FAILED, EXIT_OK, CommandError, say
from gatewayops.cli._lab import Lab, Witness, refresh_dependency
from gatewayops.cli._scenarios import (
    LOCAL_TOOLS,
    SCENARIOS,
    V2_SCENARIOS,
    Scenario,
    misconfigured,
    operation_id_of,
    scenarios_for,
    start,
)
from gatewayops.cli._v2_scenarios import FaultDidNotBite
from gatewayops.effects import Client, ClientStatistics, open_client
from gatewayops.gateway import Gateway, RunHandle, open_gateway
from gatewayops.replay import open_recorder
from gatewayops.store import Middleware, Outcome, Protocol, StoreConfig

__all__ = ["DEMO_CONFIG", "DEMO_TIMEOUT", "DemoReport", "Verdict", "register", "run_demo"]

DEMO_TIMEOUT = 25.0
"""Seconds the scenarios of one client may take before unfinished ones count as failed."""

DEMO_CONFIG = StoreConfig(initial_backoff_ms=200, max_backoff_ms=2_000)
"""Protocol defaults, with a short backoff so reconnects and refresh retries are quick."""

_LEAK_GRACE = 2.0

_CLOSE_POLL = 0.01

_OVER_V2 = (
    "over protocol v2: one socket carries every run (those that fall back to v1 run "
    "afterwards, on a client of their own)"
)


@attrs.frozen(kw_only=True)
class Verdict:
    """How one scenario ended and what was wrong with it (nothing, if it passed)."""

    scenario: Scenario
    outcome: Outcome | None
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """Whether the scenario ended as expected and passed every check."""
        return not self.problems


@attrs.frozen(kw_only=True)
class DemoReport:
    """Everything the demo found: one verdict per scenario, plus leaks after the runs."""

    verdicts: tuple[Verdict, ...]
    leaks: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """Whether every scenario passed and nothing leaked."""
        return not self.leaks and all(verdict.passed for verdict in self.verdicts)


def register(parser: argparse.ArgumentParser) -> None:
    """Describe the ``demo`` subcommand and add its arguments to `parser`."""
    names = list(dict.fromkeys(scenario.name for scenario in (*SCENARIOS, *V2_SCENARIOS)))
    parser.description = (
        "Run one operation per scenario, side by side, against the embedded reference "
        "gateway, and check that each ends as a correct client must."
    )
    parser.add_argument(
        "--record", metavar="DIR", type=Path, help="write one recording per operation to DIR"
    )
    parser.add_argument(
        "--only",
        metavar="SCENARIO",
        action="append",
        choices=names,
        help=f"run only this scenario (repeatable): {', '.join(names)}",
    )
    parser.add_argument(
        "--protocol",
        choices=[protocol.value for protocol in Protocol],
        default=Protocol.V1.value,
        help="v1: a socket per run (default); v2: one socket carries every run, and "
        "v2's own scenarios run too",
    )
    parser.add_argument(
        "--plain", action="store_true", help="print one line per change even on a terminal"
    )
    # For tests: give SCENARIO an expectation it cannot meet, to see the demo fail.
    parser.add_argument(
        "--expect-wrong", metavar="SCENARIO", action="append", choices=names, help=argparse.SUPPRESS
    )
    parser.set_defaults(func=_handle)


def _selected(args: argparse.Namespace, protocol: Protocol) -> list[Scenario]:
    wrong = set(args.expect_wrong or ())
    offered = scenarios_for(protocol)
    missing = set(args.only or ()) - {scenario.name for scenario in offered}
    if missing:
        raise CommandError(f"--only {', '.join(sorted(missing))}: runs over --protocol v2 only")
    return [
        misconfigured(scenario) if scenario.name in wrong else scenario
        for scenario in offered
        if not args.only or scenario.name in args.only
    ]


def _handle(args: argparse.Namespace) -> int:
    live = sys.stdout.isatty() and not args.plain and os.environ.get("TERM") != "dumb"
    return run_command("demo", _main, args, live)


async def _main(args: argparse.Namespace, live: bool) -> int:
    protocol, record = Protocol(args.protocol), args.record
    scenarios = _selected(args, protocol)
    started = time.monotonic()
    report = await run_demo(scenarios, out=sys.stdout, live=live, record=record, protocol=protocol)
    say("")
    say(_summary(report))
    elapsed = time.monotonic() - started
    passed = sum(verdict.passed for verdict in report.verdicts)
    total = plural(len(report.verdicts), "scenario")
    say(f"\n{passed} of {total} ended as expected in {elapsed:.1f} s")
    if record is not None:
        say(f"recordings: {record}/<scenario>.jsonl")
    if report.passed:
        return EXIT_OK
    failing = [verdict.scenario.name for verdict in report.verdicts if not verdict.passed]
    why = ", ".join(failing) if failing else "leaks: " + "; ".join(report.leaks)
    say(f"gatewayops demo: FAILED: {why}", file=sys.stderr)
    return EXIT_FAILED


def _fitted(text: str, indent: int) -> str:
    """`text` wrapped to fit `PLAIN_COLUMNS`, its later lines indented by `indent`."""
    return textwrap.fill(
        text,
        width=PLAIN_COLUMNS - 1,
        subsequent_indent=" " * indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _summary(report: DemoReport) -> str:
    """The table of outcomes and verdicts, what failed and why, and the leaks (80 columns:
    the problems are listed under the table, not in it)."""
    rows = [
        [
            verdict.scenario.name,
            "unfinished"
            if verdict.outcome is None
            else f"{verdict.outcome.result}/{verdict.outcome.source}",
            "ok" if verdict.passed else "FAILED",
        ]
        for verdict in report.verdicts
    ]
    lines = [table(["scenario", "outcome", "verdict"], rows), ""]
    for verdict in report.verdicts:
        if not verdict.passed:
            lines.append(_fitted(f"{verdict.scenario.name}: {'; '.join(verdict.problems)}", 4))
    leaks = "none" if not report.leaks else "; ".join(report.leaks)
    lines.append(_fitted(f"leaks after every run finished: {leaks}", 4))
    return "\n".join(lines)


def _recorders(
    directory: Path,
    runs: Sequence[tuple[Scenario, RunHandle]],
    config: StoreConfig,
    stack: ExitStack,
) -> list[Middleware]:
    return [
        stack.enter_context(
            open_recorder(
                directory / f"{scenario.name}.jsonl", operation_id=run.operation_id, config=config
            )
        )
        for scenario, run in runs
    ]


async def _play(lab: Lab, scenario: Scenario, run: RunHandle, problems: list[str]) -> None:
    lab.client.start(
        operation_id=run.operation_id,
        topic_id=run.topic_id,
        gateway_url=lab.gateway.url,
        token=run.token,
    )
    async with trio.open_nursery() as nursery:

        async def inject() -> None:
            try:
                await scenario.fault(lab, run)
            except FaultDidNotBite as finding:
                problems.append(str(finding))
            except Exception as error:  # a fault that cannot be injected is a finding
                problems.append(f"fault not injected: {type(error).__name__}: {error}")

        nursery.start_soon(inject)
        await lab.client.wait_finished(run.operation_id)
        nursery.cancel_scope.cancel()


async def _closes_done(client: Client) -> None:
    """Wait until the client has no socket left closing. Over v2 `wait_finished` does
    not wait for the shared socket, whose close ends a moment after the gateway's side;
    the client offers no event for it, so this looks every `_CLOSE_POLL` seconds."""
    while client.statistics().closing_sockets:
        await trio.sleep(_CLOSE_POLL)


def _leaks(client: ClientStatistics, gateway: Gateway) -> tuple[str, ...]:
    found = [f"client {name}={value}" for name, value in attrs.asdict(client).items() if value]
    if gateway.statistics().open_sockets:
        found.append(f"gateway open_sockets={gateway.statistics().open_sockets}")
    return tuple(found)


async def _play_all(
    lab: Lab,
    runs: Sequence[tuple[Scenario, RunHandle]],
    board: Board,
    timeout: float,
) -> dict[str, list[str]]:
    """Play every run side by side; the problems found while playing, per scenario."""
    problems: dict[str, list[str]] = {scenario.name: [] for scenario, _ in runs}
    try:
        with trio.fail_after(timeout):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(board.animate)
                async with trio.open_nursery() as plays:
                    for scenario, run in runs:
                        plays.start_soon(_play, lab, scenario, run, problems[scenario.name])
                nursery.cancel_scope.cancel()
    except trio.TooSlowError:
        for scenario, run in runs:
            if lab.client.state.operations[run.operation_id].outcome is None:
                problems[scenario.name].append(f"did not finish within {timeout:g} s")
    board.draw()
    return problems


def _announce(out: TextIO, url: str, scenarios: Sequence[Scenario], protocol: Protocol) -> None:
    together = " side by side" if len(scenarios) > 1 else ""
    say(f"reference gateway at {url}; {plural(len(scenarios), 'scenario')}{together}", file=out)
    if protocol is Protocol.V2:
        say(_fitted(_OVER_V2, 2), file=out)
    width = max(len(scenario.name) for scenario in scenarios)
    for scenario in scenarios:
        say(_fitted(f"  {scenario.name:<{width}}  {scenario.shows}", 2 + width + 2), file=out)
    say("", file=out)


@attrs.frozen(kw_only=True)
class _Setting:
    """What every client of one demo shares."""

    gateway: Gateway
    board: Board
    witness: Witness
    protocol: Protocol
    record: Path | None
    timeout: float


def _config(protocol: Protocol, falls_back: bool) -> StoreConfig:
    return attrs.evolve(DEMO_CONFIG, protocol=protocol, v2_fallback=falls_back)


async def _run_client(
    setting: _Setting, scenarios: Sequence[Scenario], falls_back: bool
) -> tuple[list[Verdict], tuple[str, ...]]:
    """Start the runs of `scenarios` and follow them on one client until they finish;
    their verdicts and what leaked."""
    gateway, witness, refusing = setting.gateway, setting.witness, set[str]()
    runs = [(scenario, start(gateway, scenario)) for scenario in scenarios]
    config = _config(setting.protocol, falls_back)
    v2 = setting.protocol is Protocol.V2
    with ExitStack() as stack:
        recorders = (
            [] if setting.record is None else _recorders(setting.record, runs, config, stack)
        )
        async with open_client(
            refresh_token=refresh_dependency(gateway, refusing),
            interrupt=gateway.interrupt,
            submit_intervention=gateway.submit_intervention,
            fetch_messages=gateway.fetch_messages,
            tools=LOCAL_TOOLS,
            config=config,
            user_token=gateway.v2.user_token if v2 else None,
            middleware=[witness, *recorders],
        ) as client:
            lab = Lab(gateway=gateway, client=client, witness=witness, refusing_topics=refusing)
            client.subscribe(setting.board.listener)
            problems = await _play_all(lab, runs, setting.board, setting.timeout)
            with trio.move_on_after(_LEAK_GRACE):
                await gateway.wait_statistics(lambda stats: stats.open_sockets == 0)
                await _closes_done(client)
            leaks = _leaks(client.statistics(), gateway)
            verdicts = [
                Verdict(
                    scenario=scenario,
                    outcome=client.state.operations[run.operation_id].outcome,
                    problems=(*problems[scenario.name], *scenario.problems(lab, run)),
                )
                for scenario, run in runs
            ]
    gateway.faults.clear()  # the next client starts on a gateway without faults
    return verdicts, leaks


async def run_demo(
    scenarios: Sequence[Scenario],
    *,
    out: TextIO,
    live: bool = False,
    record: Path | None = None,
    timeout: float = DEMO_TIMEOUT,
    protocol: Protocol = Protocol.V1,
) -> DemoReport:
    """Run `scenarios` side by side against a fresh embedded gateway and judge them.

    Over v2, one client follows every scenario over one socket; those that fall back
    (`Scenario.falls_back`) run after them, on a client of their own.

    Args:
        scenarios: what to run (each gets one operation).
        out: where the header and the board are written.
        live: redraw the board in place (a terminal) instead of printing changes.
        record: a directory (created if missing) for one recording per operation.
        timeout: seconds each client has before its unfinished scenarios are given up on.
        protocol: what the clients speak.

    Raises:
        OSError: the recording directory or a log in it cannot be created.
    """
    if record is not None:
        record.mkdir(parents=True, exist_ok=True)
    async with open_gateway() as gateway:
        _announce(out, gateway.url, scenarios, protocol)
        rows = [(scenario.name, operation_id_of(scenario)) for scenario in scenarios]
        board = Board(rows, out, live=live)
        setting = _Setting(
            gateway=gateway,
            board=board,
            witness=Witness(),
            protocol=protocol,
            record=record,
            timeout=timeout,
        )
        verdicts: dict[str, Verdict] = {}
        leaks: list[str] = []
        for falls_back in (False, True):
            group = [scenario for scenario in scenarios if scenario.falls_back is falls_back]
            if group:
                found, leaked = await _run_client(setting, group, falls_back)
                verdicts.update((verdict.scenario.name, verdict) for verdict in found)
                leaks += leaked
    ordered = tuple(verdicts[scenario.name] for scenario in scenarios)
    return DemoReport(verdicts=ordered, leaks=tuple(leaks))
