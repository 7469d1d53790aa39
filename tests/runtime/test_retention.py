"""The client forgets finished operations: explicitly (`Client.forget`) and past the
retention (`StoreConfig.retain_finished`), without losing a `wait_finished` outcome."""

from __future__ import annotations

import pytest
import trio

from gatewayops.exceptions import OperationNotFinished, UnknownOperation
from gatewayops.store import MessageReceived, Outcome, Result, StoreConfig
from gatewayops.transport import MemoryTransport

from .helpers import GATEWAY, TOKEN, client_on, handshake, runtime_end, settle


async def test_forget_drops_a_finished_operation_and_it_is_unknown_afterwards(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """After `forget`, the state has neither the operation nor its link, and waiting
    for it raises `UnknownOperation`."""
    async with client_on(transport) as client:
        client.start(operation_id="a", topic_id="topic-a", gateway_url=GATEWAY, token=TOKEN)
        server, _ = await handshake(transport)
        server.send_message(runtime_end(op="a"))
        await client.wait_finished("a")
        client.forget("a")
        assert "a" not in client.state.operations
        assert "a" not in client.state.links
        with pytest.raises(UnknownOperation, match="'a'"):
            await client.wait_finished("a")


async def test_forget_of_a_running_operation_raises_operation_not_finished(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """Forgetting a running operation is the caller's error; the run goes on."""
    async with client_on(transport) as client:
        client.start(operation_id="a", topic_id="topic-a", gateway_url=GATEWAY, token=TOKEN)
        with pytest.raises(OperationNotFinished, match="'a' is running"):
            client.forget("a")
        assert not client.state.operations["a"].is_finished


async def test_wait_finished_returns_the_outcome_of_an_operation_evicted_meanwhile(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """With `retain_finished=1`, an operation that finishes and is evicted (another
    finished right after) before its socket task exited still gives its waiter its
    outcome."""
    outcomes: list[Outcome] = []
    async with client_on(transport, config=StoreConfig(retain_finished=1)) as client:
        client.start(operation_id="a", topic_id="topic-a", gateway_url=GATEWAY, token=TOKEN)
        await handshake(transport)
        client.start(operation_id="b", topic_id="topic-b", gateway_url=GATEWAY, token=TOKEN)
        await handshake(transport)

        async def wait_for_a() -> None:
            outcomes.append(await client.wait_finished("a"))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(wait_for_a)
            await settle()
            for op in ("a", "b"):  # both in one go: no socket task can exit in between
                generation = client.state.links[op].generation
                client.dispatch(
                    MessageReceived(link_id=op, generation=generation, message=runtime_end(op=op))
                )
            assert "a" not in client.state.operations
        assert client.statistics().open_sockets == 0
    assert [outcome.result for outcome in outcomes] == [Result.COMPLETED]


async def test_the_client_holds_no_more_than_the_retention_after_many_runs(
    transport: MemoryTransport, autojump_clock: trio.testing.MockClock
) -> None:
    """Ten runs one after another with `retain_finished=3` leave three in the state."""
    async with client_on(transport, config=StoreConfig(retain_finished=3)) as client:
        for number in range(10):
            op = f"op-{number}"
            client.start(
                operation_id=op, topic_id=f"topic-{number}", gateway_url=GATEWAY, token=TOKEN
            )
            server, _ = await handshake(transport)
            server.send_message(runtime_end(op=op))
            assert (await client.wait_finished(op)).result is Result.COMPLETED
        assert sorted(client.state.operations) == ["op-7", "op-8", "op-9"]
        assert len(client.state.links) == 3
