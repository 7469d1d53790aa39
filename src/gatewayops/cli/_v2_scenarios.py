"""The demo over protocol v2: how each fault strikes one socket per user, and v2's own cases.

Owns: `when_ready` (a fault on the user's shared socket once it is ready and carries the
run) and `strike_link` (the same for a fault that spends a budget of the link, one at a
time: the next waits until the link is ready again, so that two scenarios' faults never
add up to a budget neither of them meant to spend),
the v2 forms of the faults whose v1 form acts on one operation's socket (`V2_FAULTS`,
by scenario name: drop the user's socket, expire by a 4401 close, fail the user token
service once), the cases only v2 has (`V2_CASES`: several operations over one socket
while it drops; a 4401 storm, each redial with a fresh user token; v2 unavailable --
``/v2/ws`` answers 404 -- and every run on that client moving to v1 from its cursor),
and their checks.

Must not know: terminals or argument parsing, which v1 scenarios exist beyond the
names of `V2_FAULTS`, or the reducer's rules (a case only states how a correct client
ends).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import attrs

from gatewayops.cli._lab import (
    Check,
    Expectation,
    Lab,
    reconnected,
    streamed,
    text_exactly_once,
    until_state,
)
from gatewayops.gateway import GatewayStatistics, RunHandle, Script, clean_run
from gatewayops.protocol import SessionStatus
from gatewayops.store import ConnectionStatus, FinishSource, GatewayState, Protocol, Result

__all__ = ["V2_CASES", "V2_FAULTS", "FaultDidNotBite", "V2Case", "strike_link", "when_ready"]

Fault = Callable[[Lab, RunHandle], Awaitable[None]]

_DELAY = 0.05


class FaultDidNotBite(Exception):
    """A v2 fault struck, but the gateway shows it did not do what the case is about."""


def _link_ready(lab: Lab, run: RunHandle) -> Callable[[GatewayState], bool]:
    """Whether the link carrying `run` is ready (or the run finished: nothing to strike)."""

    def ready(state: GatewayState) -> bool:
        op = state.operations[run.operation_id]
        return op.is_finished or state.link_of(op).status is ConnectionStatus.CONNECTED

    return ready


async def when_ready(
    lab: Lab,
    run: RunHandle,
    fault: Callable[[], object],
    gateway_ready: Callable[[GatewayStatistics], bool] = lambda stats: True,
) -> None:
    """Once the user's link is ready, the hub holds the run's subscription, no run waits
    for a tool result (one in flight would be lost with the socket: the protocol has no
    ack for it) and `gateway_ready` holds, call `fault` (which acts on the link);
    nothing if the run finished first."""
    await until_state(lab.client, _link_ready(lab, run))
    v2 = lab.gateway.v2
    await lab.gateway.wait_statistics(  # the client hears `ready` before the hub its subscribes
        lambda stats: (
            gateway_ready(stats)
            and not stats.waiting_tool_calls
            and run.operation_id in v2.subscriptions()
        )
    )
    if not lab.client.state.operations[run.operation_id].is_finished:
        generation = _generation(lab, run)
        fault()
        await _network_back(lab, run, generation)


async def _network_back(lab: Lab, run: RunHandle, generation: int) -> None:
    """Once the link lost its socket `generation` and waits out a backoff, tell the
    client the network is back (`Client.network_restored`, as a browser's ``online``):
    a demo's drop is a blip, and a backoff grown by the other scenarios' drops must
    not outlast the run the fault is about."""

    def backing_off(state: GatewayState) -> bool:
        op = state.operations[run.operation_id]
        link = state.link_of(op)
        waiting = link.status is ConnectionStatus.RECONNECTING
        return op.is_finished or waiting or link.generation > generation + 1

    await until_state(lab.client, backing_off, then=lab.client.network_restored)


async def _recovered(lab: Lab, run: RunHandle, generation: int) -> None:
    """Wait until the link carrying `run` is ready on a socket later than `generation`."""

    def recovered(state: GatewayState) -> bool:
        op = state.operations[run.operation_id]
        later = state.link_of(op).generation > generation
        return op.is_finished or (later and _link_ready(lab, run)(state))

    await until_state(lab.client, recovered)


def _generation(lab: Lab, run: RunHandle) -> int:
    state = lab.client.state
    return state.link_of(state.operations[run.operation_id]).generation


async def strike_link(lab: Lab, run: RunHandle, fault: Callable[[], object]) -> None:
    """`when_ready`, for a fault that spends one of the link's budgets (4401 closes,
    failed dials): one at a time across scenarios, each waiting until the link is ready
    again on a later socket, so that two strikes never add up to a budget spent."""
    async with lab.link_faults:
        generation = _generation(lab, run)
        await when_ready(lab, run, fault)
        await _recovered(lab, run, generation)


async def _after_six_events(lab: Lab, run: RunHandle) -> None:
    await streamed(lab.client, run.operation_id, lambda op: op.transcript.events >= 6)


async def _drop(lab: Lab, run: RunHandle) -> None:
    await _after_six_events(lab, run)
    await when_ready(lab, run, lab.gateway.v2.faults.drop_links)


async def _expire_by_4401(lab: Lab, run: RunHandle) -> None:
    await _after_six_events(lab, run)

    def expire() -> None:
        lab.gateway.v2.faults.reject_upgrades(1, reason="auth_expired")
        lab.gateway.v2.faults.drop_links()

    await strike_link(lab, run, expire)


async def _forget_then_drop(lab: Lab, run: RunHandle) -> None:
    await _after_six_events(lab, run)

    def forget() -> None:
        lab.gateway.faults.forget(run.operation_id)
        lab.gateway.v2.faults.drop_links()

    await when_ready(lab, run, forget)


async def _token_service_fails_twice(lab: Lab, run: RunHandle) -> None:
    await _after_six_events(lab, run)

    def fail() -> None:
        lab.gateway.v2.faults.fail_user_tokens(2)  # below StoreConfig.v2_dial_budget (3)
        lab.gateway.v2.faults.drop_links()

    await strike_link(lab, run, fail)


async def _hibernate_then_drop(lab: Lab, run: RunHandle) -> None:
    """Hibernate (and drop the link) at the first step at which the client has seen every
    event the run published and the run still goes on -- whatever other scenarios do to
    the shared link meanwhile -- so the buffer lost holds nothing the client lacks."""
    operation_id = run.operation_id

    def caught_up(state: GatewayState) -> bool:
        op = state.operations[operation_id]
        if op.is_finished or "before4" not in op.transcript.text:
            return False
        events = lab.gateway.events(operation_id)
        live = lab.gateway.operation_status(operation_id) is SessionStatus.RUNNING
        calm = not lab.gateway.statistics().waiting_tool_calls  # as `when_ready`
        return live and calm and bool(events) and events[-1].id == op.last_event_id

    generations: list[int] = []

    def hibernate() -> None:
        generations.append(_generation(lab, run))
        lab.gateway.faults.hibernate(operation_id)
        lab.gateway.v2.faults.drop_links()

    await until_state(lab.client, caught_up, then=hibernate)
    await _network_back(lab, run, generations[0])


V2_FAULTS: dict[str, tuple[str, Fault, Expectation | None]] = {
    "token-expiry": ("4401 auth_expired: a fresh user token, resubscribe", _expire_by_4401, None),
    "forgotten": ("run forgotten, link drops: subscribe_failed ends it", _forget_then_drop, None),
    "refresh-fails": (
        "user token service fails twice: counted dials, then ready",
        _token_service_fails_twice,
        Expectation(result=Result.COMPLETED, source=FinishSource.AGENT_EVENT),
    ),
    "network-drop": ("the user's socket drops: every run resubscribes", _drop, None),
    "hibernated": ("hibernate + drop: empty replay does not end it", _hibernate_then_drop, None),
}
"""For each v1 scenario whose fault acts on one operation's socket, its v2 form: the
line it shows, the fault, and its expected ending if not the v1 one."""


# ------------------------------------------------------------------------------- v2 cases


async def _drop_the_shared_socket(lab: Lab, run: RunHandle) -> None:
    await _after_six_events(lab, run)
    dropped: list[tuple[int, int]] = []
    await when_ready(
        lab,
        run,
        lambda: dropped.append(lab.gateway.v2.faults.drop_links()),
        gateway_ready=lambda stats: stats.v2_subscriptions >= 2,  # the other scenarios' runs
    )
    if not dropped:
        return  # the run finished first: `reconnected` says the fault did not bite
    sockets, subscriptions = dropped[0]
    if sockets != 1 or subscriptions < 2:
        raise FaultDidNotBite(
            f"the drop cut {sockets} sockets carrying {subscriptions} subscriptions, "
            "not one socket carrying several operations"
        )


async def _storm_of_4401(lab: Lab, run: RunHandle) -> None:
    await _after_six_events(lab, run)
    before: list[int] = []

    def storm() -> None:
        before.append(lab.gateway.statistics().v2_refused_total)
        lab.gateway.v2.faults.reject_upgrades(2, reason="auth_failed")
        lab.gateway.v2.faults.drop_links()

    await strike_link(lab, run, storm)
    if not before:
        return  # the run finished first: `reconnected` says the fault did not bite
    refused = lab.gateway.statistics().v2_refused_total - before[0]
    if refused != 2:
        raise FaultDidNotBite(f"the hub closed {refused} upgrades with 4401 instead of 2")


async def _remove_v2(lab: Lab, run: RunHandle) -> None:
    await _after_six_events(lab, run)
    lab.gateway.v2.faults.remove_endpoint()  # every v2 upgrade is a 404 from now on
    lab.gateway.v2.faults.drop_links()


async def _ride_along(lab: Lab, run: RunHandle) -> None:
    return None


def moved_to_v1(lab: Lab, run: RunHandle, script: Script) -> str | None:
    """The operation ended on a v1 link of its own (v2 was unavailable)."""
    op = lab.client.state.operations[run.operation_id]
    protocol = lab.client.state.link_of(op).protocol
    if protocol is Protocol.V1:
        return None
    return f"the operation ended on a {protocol} link, not moved to v1"


@attrs.frozen(kw_only=True)
class V2Case:
    """The parts of one v2-only `Scenario` (`_scenarios` builds it).

    Attributes:
        falls_back: runs on a client of its own opened with ``fallback="v1"``, after
            the shared socket's scenarios (v2 goes away for that whole client).
    """

    name: str
    shows: str
    script: Script
    fault: Fault
    checks: tuple[Check, ...]
    falls_back: bool = False
    expect: Expectation = Expectation(result=Result.COMPLETED, source=FinishSource.AGENT_EVENT)


def _words(count: int, label: str) -> str:
    return " ".join(f"{label}{index}" for index in range(1, count + 1))


V2_CASES: tuple[V2Case, ...] = (
    V2Case(
        name="one-socket",
        shows="one socket carries every run; it drops, all resubscribe",
        script=clean_run(_words(16, "shared"), chunks=16, delay=_DELAY),
        fault=_drop_the_shared_socket,
        checks=(text_exactly_once, reconnected),
    ),
    V2Case(
        name="4401-storm",
        shows="two 4401 closes in a row: each redial has a fresh token",
        script=clean_run(_words(24, "storm"), chunks=24, delay=_DELAY),
        fault=_storm_of_4401,
        checks=(text_exactly_once, reconnected),
    ),
    V2Case(
        name="fallback",
        shows="/v2/ws answers 404 (old worker): the run moves to v1",
        script=clean_run(_words(16, "fallback"), chunks=16, delay=_DELAY),
        fault=_remove_v2,
        checks=(text_exactly_once, moved_to_v1),
        falls_back=True,
    ),
    V2Case(
        name="fallback-also",
        shows="a second run on that client moves to v1 from its cursor",
        script=clean_run(_words(24, "also"), chunks=24, delay=_DELAY),
        fault=_ride_along,
        checks=(text_exactly_once, moved_to_v1),
        falls_back=True,
    ),
)
"""The scenarios only protocol v2 has, in the order the demo shows them."""
