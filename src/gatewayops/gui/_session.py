"""The chat app's model: topics, turns, and what Send, Stop and the fault buttons do.

Owns: `AppOptions` (embedded reference gateway, or a remote one), `ChatSession` (which
topics exist, what was sent or followed on each, and the synchronous actions a GUI
callback calls: `send` (embedded: start a run from a prompt), `follow` (``--url``: follow
the given operation, with no prompt, since the app did not start it), `stop`,
`answer` and `decline` (the agent's request for the user; embedded: delivered in
process by `Gateway.submit_intervention`), `expire_token`, `forget`, `drop_network`),
and `serve_session`, the
Trio function behind the window: it opens the embedded gateway (unless `--url`) and
the client, hands the session to the GUI, and waits until cancelled.

Every method of `ChatSession` is synchronous and is meant to be called on the GUI
thread, which in Trio guest mode is Trio's thread too; none awaits anything.

Must not know: Tk or any widget (the GUI subscribes to `client` and reads `turns`).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

import attrs
import trio

from gatewayops.effects import Client, ClientStatistics, open_client
from gatewayops.exceptions import UnknownOperation
from gatewayops.gateway import (
    ASK_KINDS,
    Gateway,
    GatewayStatistics,
    Script,
    asking_run,
    open_gateway,
    tool_run,
)
from gatewayops.gui._view import Turn
from gatewayops.store import Operation, OperationStatus, StoreConfig, running_operation

__all__ = [
    "DEFAULT_TOPICS",
    "AppOptions",
    "ChatSession",
    "Shutdown",
    "answer_script",
    "answer_text",
    "serve_session",
]

DEFAULT_TOPICS = ("topic-1", "topic-2", "topic-3")
_ASK_WAIT_MS = 120_000
"""How long an asking run's agent waits for the user."""
_SETTLE_SECONDS = 2.0


@attrs.frozen(kw_only=True)
class AppOptions:
    """How the app runs.

    Attributes:
        url: base URL of another gateway (``ws://host:port``); None starts the
            embedded reference gateway on 127.0.0.1 and enables the fault buttons.
        token: with `url`: the operation's token (it cannot be refreshed).
        operation: with `url`: the running operation that Send follows.
        topics: the topics listed (with `url`, Send follows `operation` on any).
        chunks: text chunks of each scripted answer (embedded gateway).
        chunk_delay: seconds between the scripted run's events (embedded gateway).
        config: the client's protocol timings and budgets.
        ask: with the embedded gateway: Send starts a run whose agent asks the user
            this kind of request (one of `ASK_KINDS`) instead of the scripted answer.
    """

    url: str | None = None
    token: str | None = attrs.field(default=None, repr=False)
    operation: str | None = None
    topics: tuple[str, ...] = DEFAULT_TOPICS
    chunks: int = 24
    chunk_delay: float = 0.25
    config: StoreConfig = StoreConfig()
    ask: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.ask is not None and self.ask not in ASK_KINDS:
            raise ValueError(f"ask: expected one of {', '.join(ASK_KINDS)}, got {self.ask!r}")
        if self.url is not None and (not self.token or not self.operation):
            raise ValueError("a gateway URL needs a token and an operation id")
        if not self.topics:
            raise ValueError("at least one topic is needed")


@attrs.frozen(kw_only=True)
class Shutdown:
    """What was still held once the session closed (all zero after a clean close).

    Attributes:
        client: the client's statistics after it closed.
        gateway: the embedded gateway's statistics as it closed (None with `--url`).
    """

    client: ClientStatistics
    gateway: GatewayStatistics | None


def answer_text(prompt: str, chunks: int) -> str:
    """The answer a scripted run streams for `prompt`, in `chunks` pieces."""
    words = " ".join(f"Streaming word {index} of the reply." for index in range(1, chunks + 1))
    return f"You wrote “{prompt}”. {words}"


def answer_script(prompt: str, *, chunks: int, delay: float) -> Script:
    """The scripted run Send starts on the embedded gateway: a tool call, then an answer."""
    return tool_run(
        client=False,
        reasoning=f"The user wrote {prompt!r}; a search makes the answer realistic.",
        answer=answer_text(prompt, chunks),
        chunks=chunks,
        delay=delay,
    )


async def _no_refresh(topic_id: str) -> str:
    await trio.lowlevel.checkpoint()
    raise RuntimeError("tokens of a remote gateway cannot be refreshed; restart with a new --token")


class ChatSession:
    """The app's topics and actions over one client (and the embedded gateway, if any).

    Args:
        client: the client, inside its `open_client` block.
        gateway: the embedded gateway; None when following a remote one.
        options: the app's options.
    """

    def __init__(self, client: Client, gateway: Gateway | None, options: AppOptions) -> None:
        self.client = client
        self.gateway = gateway
        self.options = options
        self._turns: dict[str, tuple[Turn, ...]] = dict.fromkeys(options.topics, ())
        self._remote: tuple[str, str, str] | None = None
        if gateway is None:
            url, operation, token = options.url, options.operation, options.token
            if not (url and operation and token):
                raise ValueError("a remote gateway needs a URL, an operation and a token")
            self._remote = (url, operation, token)

    @property
    def topics(self) -> tuple[str, ...]:
        """The topics, in list order."""
        return self.options.topics

    @property
    def embedded(self) -> bool:
        """Whether the app runs the embedded gateway: Send starts a run from the prompt
        and the fault buttons work. Otherwise (``--url``) Send follows `--operation`, a
        run started elsewhere, and no prompt is sent anywhere."""
        return self._remote is None

    def turns(self, topic_id: str) -> tuple[Turn, ...]:
        """What was sent (or followed) on the topic, oldest first."""
        return self._turns[topic_id]

    def latest_operation(self, topic_id: str) -> str | None:
        """The operation of the topic's last turn, if any."""
        turns = self._turns[topic_id]
        return turns[-1].operation_id if turns else None

    def running(self, topic_id: str) -> Operation | None:
        """The topic's running operation (what Stop and the faults act on)."""
        return running_operation(self.client.state, topic_id)

    def can_send(self) -> bool:
        """Whether Send has something to do: always on the embedded gateway; with
        ``--url``, while `--operation` is neither followed already nor finished."""
        if self._remote is None:
            return True
        op = self.client.state.operations.get(self._remote[1])
        return op is None or op.status is OperationStatus.DETACHED

    def send(self, topic_id: str, prompt: str) -> str:
        """Start a scripted run answering `prompt` on the topic (embedded gateway).

        Returns:
            The operation id.

        Raises:
            LocalUsageError: the client refused (the topic is busy, ...).
            RuntimeError: the app follows a remote gateway (use `follow`).
        """
        if self.gateway is None:
            raise RuntimeError("a remote gateway's run is followed, not sent: use follow()")
        delay = self.options.chunk_delay
        if self.options.ask is None:
            script = answer_script(prompt, chunks=self.options.chunks, delay=delay)
        else:
            script = asking_run(self.options.ask, wait_ms=_ASK_WAIT_MS, delay=delay)
        run = self.gateway.start_run(script, topic_id=topic_id)
        self.client.start(
            operation_id=run.operation_id,
            topic_id=topic_id,
            gateway_url=self.gateway.url,
            token=run.token,
        )
        return self._add_turn(topic_id, Turn(prompt=prompt, operation_id=run.operation_id))

    def follow(self, topic_id: str) -> str:
        """Follow `--operation` on the topic (``--url``); the turn has no prompt.

        Returns:
            The operation id.

        Raises:
            LocalUsageError: the client refused (the operation finished, ...).
            RuntimeError: the app runs the embedded gateway (use `send`).
        """
        if self._remote is None:
            raise RuntimeError("the embedded gateway's runs are sent, not followed: use send()")
        base_url, operation_id, token = self._remote
        self.client.attach(
            operation_id=operation_id, topic_id=topic_id, gateway_url=base_url, token=token
        )
        return self._add_turn(topic_id, Turn(prompt=None, operation_id=operation_id))

    def _add_turn(self, topic_id: str, turn: Turn) -> str:
        self._turns[topic_id] = (*self._turns[topic_id], turn)
        return turn.operation_id

    def stop(self, topic_id: str) -> None:
        """Stop the topic's run: interrupt it (embedded) or stop following it (remote)."""
        op = self.running(topic_id)
        if op is None:
            return
        if self.gateway is not None:
            self.client.stop(op.id)
        else:
            self.client.detach(op.id)

    def answer(self, topic_id: str, tool_call_id: str, result: Any) -> None:
        """Answer the agent's request `tool_call_id` of the topic's run with `result`.

        Raises:
            LocalUsageError: nothing runs on the topic, or the request cannot take it.
        """
        self.client.answer(
            operation_id=self._asking(topic_id), tool_call_id=tool_call_id, result=result
        )

    def decline(self, topic_id: str, tool_call_id: str) -> None:
        """Decline the agent's request `tool_call_id` of the topic's run.

        Raises:
            LocalUsageError: nothing runs on the topic, or the request has ended.
        """
        self.client.decline(operation_id=self._asking(topic_id), tool_call_id=tool_call_id)

    def _asking(self, topic_id: str) -> str:
        op = self.running(topic_id)
        if op is None:
            raise UnknownOperation(f"no run on {topic_id} asks anything")
        return op.id

    def _fault_target(self, topic_id: str) -> tuple[Gateway, str] | None:
        op = self.running(topic_id)
        if self.gateway is None or op is None:
            return None
        return self.gateway, op.id

    def expire_token(self, topic_id: str) -> int:
        """Expire the running operation's tokens on the gateway; sockets told (0: none)."""
        target = self._fault_target(topic_id)
        return 0 if target is None else target[0].faults.expire_tokens(target[1])

    def forget(self, topic_id: str) -> bool:
        """Make the gateway forget the running operation; whether there was one."""
        target = self._fault_target(topic_id)
        if target is None:
            return False
        target[0].faults.forget(target[1])
        return True

    def drop_network(self, topic_id: str) -> int:
        """Drop the running operation's sockets without a close frame; how many."""
        target = self._fault_target(topic_id)
        return 0 if target is None else target[0].faults.drop_sockets(target[1])


async def serve_session(
    options: AppOptions,
    on_ready: Callable[[ChatSession], None],
    on_shutdown: Callable[[Shutdown], None],
) -> None:
    """Open the gateway (unless remote) and the client, then wait until cancelled.

    Args:
        options: the app's options.
        on_ready: called with the session once the client is open.
        on_shutdown: called once the client has closed (and before the embedded
            gateway stops), with what was still held -- all zero when clean.
    """
    async with AsyncExitStack() as stack:
        gateway = None
        if options.url is None:
            gateway = await stack.enter_async_context(open_gateway())
        client: Client | None = None
        try:
            async with open_client(
                refresh_token=_no_refresh if gateway is None else gateway.refresh_token,
                interrupt=None if gateway is None else gateway.interrupt,
                submit_intervention=None if gateway is None else gateway.submit_intervention,
                fetch_messages=None if gateway is None else gateway.fetch_messages,
                config=options.config,
            ) as client:
                on_ready(ChatSession(client, gateway, options))
                await trio.sleep_forever()
        finally:
            if client is not None:
                gateway_stats = None
                if gateway is not None:
                    gateway_stats = await _settled_statistics(gateway)
                on_shutdown(Shutdown(client=client.statistics(), gateway=gateway_stats))


async def _settled_statistics(gateway: Gateway) -> GatewayStatistics:
    """The gateway's statistics once it saw the client's sockets close (bounded, shielded)."""
    with trio.CancelScope(shield=True) as scope:
        scope.deadline = trio.current_time() + _SETTLE_SECONDS
        return await gateway.wait_statistics(lambda stats: stats.open_sockets == 0)
    return gateway.statistics()
