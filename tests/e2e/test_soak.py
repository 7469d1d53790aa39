"""A soak: 100 operations, each hit by a random fault, none lost and none shown twice.

Among the faults, a detach and a stop strike while the next socket is being dialled, a
few scheduler ticks in: `wait_finished` must return for every operation and the client
must close (a cancelled dial that never returned once hung both).

The faults are drawn from a seeded `random.Random`, so a failure is reproducible by its
seed (timing still varies). Every operation must end exactly once (counted from the
store's `NotifyFinished` effects and from outcome transitions seen by a subscriber), in
the state its fault calls for, with no chunk of text shown twice.

Runs are started one after another as soon as the previous one is connected, so the
handshakes do not pile up; all of them then stream side by side. Hibernation is
injected only while the client has seen every event published so far: a real durable
object hibernates only when idle, and losing the buffer under frames still in flight
would lose events no client could get back.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Awaitable, Callable

import attrs
import trio

from gatewayops.effects import Client
from gatewayops.gateway import Gateway, RunHandle, Script
from gatewayops.protocol import SessionStatus
from gatewayops.store import Action, GatewayState, Operation, Result, StoreConfig, concerned

from .helpers import Env, assert_nothing_leaked, e2e, long_script, script_text

SEED = 20_240_519
OPERATIONS = 100

CONFIG = StoreConfig(
    heartbeat_interval_ms=150,
    max_missed_heartbeats=2,
    connect_timeout_ms=1_000,
    initial_backoff_ms=50,
    max_backoff_ms=400,
)


def _expire(gateway: Gateway, client: Client, run: RunHandle) -> None:
    gateway.faults.expire_tokens(run.operation_id)


def _drop(gateway: Gateway, client: Client, run: RunHandle) -> None:
    gateway.faults.drop_sockets(run.operation_id)


def _hibernate_and_drop(gateway: Gateway, client: Client, run: RunHandle) -> None:
    gateway.faults.hibernate(run.operation_id)
    gateway.faults.drop_sockets(run.operation_id)


def _malformed(gateway: Gateway, client: Client, run: RunHandle) -> None:
    gateway.faults.send_malformed_frame(run.operation_id)


def _mirror(gateway: Gateway, client: Client, run: RunHandle) -> None:
    gateway.faults.mirror_member_terminal(run.operation_id)


def _heartbeats(gateway: Gateway, client: Client, run: RunHandle) -> None:
    gateway.faults.stop_heartbeat_acks(run.operation_id)


def _blackhole(gateway: Gateway, client: Client, run: RunHandle) -> None:
    gateway.faults.blackhole_handshakes(1)
    gateway.faults.drop_sockets(run.operation_id)


def _ignore_auth(gateway: Gateway, client: Client, run: RunHandle) -> None:
    gateway.faults.ignore_auth(1)
    gateway.faults.drop_sockets(run.operation_id)


def _stop(gateway: Gateway, client: Client, run: RunHandle) -> None:
    client.stop(run.operation_id)


def _forget_and_drop(gateway: Gateway, client: Client, run: RunHandle) -> None:
    gateway.faults.forget(run.operation_id)
    gateway.faults.drop_sockets(run.operation_id)


def _expire_and_forget(gateway: Gateway, client: Client, run: RunHandle) -> None:
    gateway.faults.expire_tokens(run.operation_id)
    gateway.faults.forget(run.operation_id)


async def _mid_dial(client: Client, run: RunHandle, ticks: int) -> None:
    """Wait until the operation dials its next socket, then `ticks` scheduler ticks more."""
    dialling = trio.Event()

    def watch(old: GatewayState, new: GatewayState, action: Action) -> None:
        op = new.operations.get(run.operation_id)
        if op is not None and new.link_of(op).status == "connecting":
            dialling.set()

    unsubscribe = client.subscribe(watch)
    try:
        await dialling.wait()
    finally:
        unsubscribe()
    for _ in range(ticks):
        await trio.lowlevel.checkpoint()


async def _detach_mid_dial(gateway: Gateway, client: Client, run: RunHandle) -> None:
    gateway.faults.drop_sockets(run.operation_id)
    await _mid_dial(client, run, random.Random(run.operation_id).randint(0, 8))
    client.detach(run.operation_id)  # the socket being dialled is removed
    client.attach(
        operation_id=run.operation_id,
        topic_id=run.topic_id,
        gateway_url=gateway.url,
        token=run.token,
    )


async def _stop_mid_dial(gateway: Gateway, client: Client, run: RunHandle) -> None:
    gateway.faults.drop_sockets(run.operation_id)
    await _mid_dial(client, run, random.Random(run.operation_id).randint(0, 8))
    client.stop(run.operation_id)  # confirmed at once: it finishes while dialling


@attrs.frozen
class Fault:
    name: str
    inject: Callable[[Gateway, Client, RunHandle], Awaitable[None] | None]
    results: frozenset[Result] = frozenset({Result.COMPLETED})
    """What the run may end as when the fault hits it mid-run."""
    when_idle: bool = False
    """Inject only when the client has every event published so far."""


FAULTS = (
    Fault("none", lambda gateway, client, run: None),
    Fault("expire_tokens", _expire),
    Fault("drop_sockets", _drop),
    Fault("hibernate+drop", _hibernate_and_drop, when_idle=True),
    Fault("malformed_frame", _malformed),
    Fault("mirror_member_terminal", _mirror),
    Fault("stop_heartbeat_acks", _heartbeats),
    Fault("blackhole_handshake+drop", _blackhole),
    Fault("ignore_auth+drop", _ignore_auth),
    Fault("client_stop", _stop, frozenset({Result.INTERRUPTED})),
    Fault("forget+drop", _forget_and_drop, frozenset({Result.AUTH_FAILED})),
    # Gone when the refresh learns it first; an auth failure when a heartbeat loss makes
    # the client redial first and the gateway answers `auth_failed` (both end it cleanly).
    Fault("expire+forget", _expire_and_forget, frozenset({Result.GONE, Result.AUTH_FAILED})),
    # Striking while a socket is being dialled (a cancelled dial must return at any tick).
    Fault("detach_mid_dial", _detach_mid_dial),
    Fault("stop_mid_dial", _stop_mid_dial, frozenset({Result.INTERRUPTED})),
)


@attrs.define
class Plan:
    script: Script
    fault: Fault
    after_events: int
    run: RunHandle | None = None
    expected: frozenset[Result] = frozenset()
    """Set when the fault is injected: its results, or COMPLETED if the run had ended."""


def _ready(env: Env, plan: Plan, run: RunHandle) -> Callable[[Operation], bool]:
    def ready(op: Operation) -> bool:
        if op.transcript.events < plan.after_events or env.link(op).status != "connected":
            return False
        if not plan.fault.when_idle:
            return True
        published = env.gateway.events(run.operation_id)
        return not published or published[-1].id == op.last_event_id

    return ready


async def _follow(env: Env, plan: Plan, run: RunHandle, injected: Counter[str]) -> None:
    ready = _ready(env, plan, run)
    while not ready(op := env.operation(run)) and not op.is_finished:
        await env.until(run, ready)
    if op.is_finished or env.gateway.operation_status(run.operation_id) != SessionStatus.RUNNING:
        plan.expected = frozenset({Result.COMPLETED})  # it ended before the fault could bite
        injected["(run ended first)"] += 1
    else:
        injecting = plan.fault.inject(env.gateway, env.client, run)
        if injecting is not None:
            await injecting
        plan.expected = plan.fault.results
        injected[plan.fault.name] += 1
    await env.client.wait_finished(run.operation_id)


async def test_soak_random_faults_lose_no_operation() -> None:
    """100 operations under random faults: each finishes exactly once, as its fault calls
    for, with no duplicated text, and nothing is left open."""
    rng = random.Random(SEED)
    plans = [
        Plan(
            script=long_script(f"soak{index}", chunks=rng.randint(15, 25), delay=0.03),
            fault=rng.choice(FAULTS),
            after_events=rng.randint(3, 8),
        )
        for index in range(OPERATIONS)
    ]
    injected: Counter[str] = Counter()
    endings: Counter[str] = Counter()

    def count_endings(old: GatewayState, new: GatewayState, action: Action) -> None:
        _, op_id = concerned(new, action)  # the operation the action is about
        assert op_id is not None, action
        before, after = old.operations.get(op_id), new.operations[op_id]
        if after.outcome is not None and (before is None or before.outcome is None):
            endings[op_id] += 1

    with trio.fail_after(40):
        async with e2e(config=CONFIG) as env:
            env.client.subscribe(count_endings)
            async with trio.open_nursery() as nursery:
                for plan in plans:
                    run = plan.run = env.start(plan.script)
                    nursery.start_soon(_follow, env, plan, run, injected)
                    await env.until(run, lambda op: env.link(op).status == "connected")

            results: Counter[str] = Counter()
            for plan in plans:
                assert plan.run is not None
                op = env.operation(plan.run)
                assert op.outcome is not None
                results[str(op.outcome.result)] += 1
                assert op.outcome.result in plan.expected, (plan.fault.name, op.outcome)
                assert endings[op.id] == 1
                assert env.witness.finished[op.id] == 1
                text = script_text(plan.script)
                if op.outcome.result is Result.COMPLETED:
                    assert op.transcript.text == text, plan.fault.name
                else:
                    assert text.startswith(op.transcript.text), plan.fault.name
            await assert_nothing_leaked(env)
    print(f"\nsoak (seed {SEED}): faults injected {dict(sorted(injected.items()))}")
    print(f"soak: outcomes {dict(sorted(results.items()))}")
