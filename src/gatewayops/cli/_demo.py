"""`gatewayops demo`: every scenario side by side, against the embedded reference gateway.

Owns: the ``demo`` subcommand -- starting the gateway on a free loopback port, one real
client (trio-websocket transport; `refresh_token`, `interrupt` and `submit_intervention`
wired to the gateway's, a local tool registered), one operation per scenario run
concurrently with its fault, the live board, the summary (fitted to 80 columns),
per-operation recordings (``--record DIR``) and the exit code: 0 only if every scenario
ended as expected and nothing leaked.

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
from gatewayops.cli._endings import EXIT_FAILED, EXIT_OK, say
from gatewayops.cli._lab import Lab, Witness, refresh_dependency
from gatewayops.cli._scenarios import LOCAL_TOOLS, SCENARIOS, Scenario, misconfigured, start
from gatewayops.effects import ClientStatistics, open_client
from gatewayops.gateway import Gateway, RunHandle, open_gateway
from gatewayops.replay import open_recorder
from gatewayops.store import Middleware, Outcome, StoreConfig

__all__ = ["DEMO_CONFIG", "DEMO_TIMEOUT", "DemoReport", "Verdict", "register", "run_demo"]

DEMO_TIMEOUT = 25.0
"""Seconds the whole demo may take before unfinished scenarios count as failed."""

DEMO_CONFIG = StoreConfig(initial_backoff_ms=200, max_backoff_ms=2_000)
"""Protocol defaults, with a short backoff so reconnects and refresh retries are quick."""

_LEAK_GRACE = 2.0


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
    names = [scenario.name for scenario in SCENARIOS]
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
        "--plain", action="store_true", help="print one line per change even on a terminal"
    )
    # For tests: give SCENARIO an expectation it cannot meet, to see the demo fail.
    parser.add_argument(
        "--expect-wrong", metavar="SCENARIO", action="append", choices=names, help=argparse.SUPPRESS
    )
    parser.set_defaults(func=_handle)


def _selected(args: argparse.Namespace) -> list[Scenario]:
    wrong = set(args.expect_wrong or ())
    return [
        misconfigured(scenario) if scenario.name in wrong else scenario
        for scenario in SCENARIOS
        if not args.only or scenario.name in args.only
    ]


def _handle(args: argparse.Namespace) -> int:
    scenarios = _selected(args)
    live = sys.stdout.isatty() and not args.plain and os.environ.get("TERM") != "dumb"
    return run_command("demo", _main, scenarios, args.record, live)


async def _main(scenarios: Sequence[Scenario], record: Path | None, live: bool) -> int:
    started = time.monotonic()
    report = await run_demo(scenarios, out=sys.stdout, live=live, record=record)
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
    directory: Path, runs: Sequence[tuple[Scenario, RunHandle]], stack: ExitStack
) -> list[Middleware]:
    return [
        stack.enter_context(
            open_recorder(
                directory / f"{scenario.name}.jsonl",
                operation_id=run.operation_id,
                config=DEMO_CONFIG,
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
            except Exception as error:  # a fault that cannot be injected is a finding
                problems.append(f"fault not injected: {type(error).__name__}: {error}")

        nursery.start_soon(inject)
        await lab.client.wait_finished(run.operation_id)
        nursery.cancel_scope.cancel()


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


def _announce(out: TextIO, url: str, scenarios: Sequence[Scenario]) -> None:
    together = " side by side" if len(scenarios) > 1 else ""
    say(f"reference gateway at {url}; {plural(len(scenarios), 'scenario')}{together}", file=out)
    width = max(len(scenario.name) for scenario in scenarios)
    for scenario in scenarios:
        say(_fitted(f"  {scenario.name:<{width}}  {scenario.shows}", 2 + width + 2), file=out)
    say("", file=out)


async def run_demo(
    scenarios: Sequence[Scenario],
    *,
    out: TextIO,
    live: bool = False,
    record: Path | None = None,
    timeout: float = DEMO_TIMEOUT,
) -> DemoReport:
    """Run `scenarios` side by side against a fresh embedded gateway and judge them.

    Args:
        scenarios: what to run (each gets one operation).
        out: where the header and the board are written.
        live: redraw the board in place (a terminal) instead of printing changes.
        record: a directory (created if missing) for one recording per operation.
        timeout: seconds before unfinished scenarios are given up on.

    Raises:
        OSError: the recording directory or a log in it cannot be created.
    """
    if record is not None:
        record.mkdir(parents=True, exist_ok=True)
    async with open_gateway() as gateway:
        runs = [(scenario, start(gateway, scenario)) for scenario in scenarios]
        _announce(out, gateway.url, scenarios)
        board = Board([(s.name, run.operation_id) for s, run in runs], out, live=live)
        witness, refusing = Witness(), set[str]()
        with ExitStack() as stack:
            recorders = _recorders(record, runs, stack) if record is not None else []
            async with open_client(
                refresh_token=refresh_dependency(gateway, refusing),
                interrupt=gateway.interrupt,
                submit_intervention=gateway.submit_intervention,
                fetch_messages=gateway.fetch_messages,
                tools=LOCAL_TOOLS,
                config=DEMO_CONFIG,
                middleware=[witness, *recorders],
            ) as client:
                lab = Lab(gateway=gateway, client=client, witness=witness, refusing_topics=refusing)
                client.subscribe(board.listener)
                problems = await _play_all(lab, runs, board, timeout)
                with trio.move_on_after(_LEAK_GRACE):
                    await gateway.wait_statistics(lambda stats: stats.open_sockets == 0)
                leaks = _leaks(client.statistics(), gateway)
                verdicts = tuple(
                    Verdict(
                        scenario=scenario,
                        outcome=client.state.operations[run.operation_id].outcome,
                        problems=(*problems[scenario.name], *scenario.problems(lab, run)),
                    )
                    for scenario, run in runs
                )
    return DemoReport(verdicts=verdicts, leaks=leaks)
