"""`gatewayops watch` and the agent's requests for the user: show them, answer them.

Owns: the answer arguments (``--answer-url``, where answers go; ``--answer JSON`` or
``--answer-file FILE``, the answer a script gives every request; ``--decline``, declining
every request), checked once into an `Answering`; `human_lines`, the lines a change of
the followed run's interventions prints (each request as `request_lines` reads it when
it is asked, how each one ended when it ends); and `ask`, which answers one pending
request: declines it (``--decline``, or a request that failed review, which cannot be
answered), gives it the fixed answer, or, when stdin is a terminal, reads one reply per
question (option numbers, or text where allowed; an empty line declines; a reply that
fits no rule is named and asked again) and answers with `answer_result`; and `Asker`,
which runs one `ask` per pending request of the followed run, its replies read from
`TerminalLines`.

Without ``--answer-url`` nothing can be answered: a request prints how to get one (serve
prints it); with one, but stdin not a terminal and no fixed policy, it prints which flag
to pass. Must not know: how answers travel (`_answer_client`), the reference gateway.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import attrs
import trio

from gatewayops._chat_text import folded
from gatewayops._question_text import Reply, answer_result, choice_hint, parse_reply, request_lines
from gatewayops.cli._answer_client import check_answer_url
from gatewayops.cli._endings import CommandError, say
from gatewayops.effects import Client
from gatewayops.exceptions import LocalUsageError
from gatewayops.protocol import ReviewedRequest
from gatewayops.store import Intervention, InterventionStatus, Operation

__all__ = [
    "NO_ANSWERER",
    "NO_ANSWER_URL",
    "Answering",
    "Asker",
    "TerminalLines",
    "answering_from",
    "ask",
    "human_lines",
    "register",
]

NO_ANSWER_URL = (
    "to answer, run watch with --answer-url (gatewayops serve prints it) and answer at the "
    "prompt, or pass --answer JSON or --decline"
)
"""What a request prints when `watch` has nowhere to send an answer."""

NO_ANSWERER = "stdin is not a terminal, so nobody answers here: pass --answer JSON or --decline"
"""What a request prints when `watch` has an answer URL but no way to decide."""

_LABEL = f"{'question':<10}"

ReadLine = Callable[[], Awaitable[str]]
"""Reads one line from the user ("" at the end of the input)."""


@attrs.frozen(kw_only=True)
class Answering:
    """How `watch` answers the agent's requests.

    Attributes:
        url: the answer endpoint (None: nothing can be answered).
        fixed: whether `answer` is given to every request (``--answer``/``--answer-file``).
        answer: that answer.
        decline: every request is declined (``--decline``).
        interactive: replies are read from the terminal (stdin is a TTY, no fixed policy).
    """

    url: str | None = None
    fixed: bool = False
    answer: Any = None
    decline: bool = False
    interactive: bool = False

    @property
    def answers(self) -> bool:
        """Whether requests are answered at all (somewhere to send, someone to decide)."""
        return self.url is not None and (self.fixed or self.decline or self.interactive)


def register(parser: argparse.ArgumentParser) -> None:
    """Add the answer arguments to the ``watch`` parser."""
    parser.add_argument(
        "--answer-url",
        metavar="URL",
        help="answer endpoint (http://HOST:PORT/answer; gatewayops serve prints it)",
    )
    policy = parser.add_mutually_exclusive_group()
    policy.add_argument(
        "--answer", metavar="JSON", help="answer every request of the agent with this JSON"
    )
    policy.add_argument(
        "--answer-file", metavar="FILE", type=Path, help="... with the JSON in FILE"
    )
    policy.add_argument("--decline", action="store_true", help="decline every request")


def _fixed(args: argparse.Namespace) -> tuple[bool, Any]:
    if args.answer_file is not None:
        try:
            text, where = (
                args.answer_file.read_text(encoding="utf-8"),
                f"--answer-file {args.answer_file}",
            )
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise CommandError(f"--answer-file {args.answer_file}: {reason}") from None
    elif args.answer is not None:
        text, where = args.answer, "--answer"
    else:
        return False, None
    try:
        return True, json.loads(text)
    except json.JSONDecodeError as error:
        raise CommandError(f"{where}: not JSON ({error.msg} at line {error.lineno})") from None


def answering_from(args: argparse.Namespace, *, stdin_is_tty: bool) -> Answering:
    """The checked answer arguments; raises `CommandError` naming a bad one."""
    fixed, answer = _fixed(args)
    if args.answer_url is not None:
        try:
            check_answer_url(args.answer_url)
        except ValueError as error:
            raise CommandError(f"--answer-url: {error}") from None
    elif fixed or args.decline:
        flag = "--decline" if args.decline else "--answer"
        raise CommandError(f"{flag} needs --answer-url (gatewayops serve prints it)")
    interactive = stdin_is_tty and not (fixed or args.decline)
    return Answering(
        url=args.answer_url,
        fixed=fixed,
        answer=answer,
        decline=args.decline,
        interactive=interactive,
    )


def _ended_line(item: Intervention) -> str:
    if item.status is InterventionStatus.CANCELLED:
        return f"{'answer':<10} {item.tool_call_id} cancelled ({item.cancel_reason})"
    return f"{'answer':<10} {item.tool_call_id} {item.status}: {folded(item.result)}"


def human_lines(old: Operation | None, new: Operation, answering: Answering) -> list[str]:
    """The lines one change of the followed run's interventions prints: each new request
    (and, if it cannot be answered here, how to answer it), each one that ended."""
    before = old.human.open if old is not None else None
    lines: list[str] = []
    for item in sorted(new.human.open.values(), key=lambda item: item.order):
        if before is None or item.tool_call_id not in before:
            lines += [f"{_LABEL} {line}" for line in request_lines(item.review, item.deadline_ms)]
            if not answering.answers:
                hint = NO_ANSWER_URL if answering.url is None else NO_ANSWERER
                lines.append(f"{_LABEL} {hint}")
    for tool_call_id, item in new.human.settled.items():
        if old is None or tool_call_id not in old.human.settled:
            lines.append(_ended_line(item))
    return lines


async def _replies(request: ReviewedRequest, read_line: ReadLine) -> list[Reply] | None:
    """One reply per question from the terminal; None when the user declines."""
    replies: list[Reply] = []
    for number, question in enumerate(request.questions, start=1):
        while True:
            prompt = f"{_LABEL} answer {number}/{len(request.questions)} "
            sys.stdout.write(f"{prompt}[{choice_hint(request, question)}; empty: decline] > ")
            sys.stdout.flush()
            line = await read_line()
            if not line.strip():
                return None
            try:
                replies.append(parse_reply(request, question, line))
                break
            except ValueError as error:
                say(f"{_LABEL} {error}")
    return replies


async def ask(
    client: Client, operation_id: str, item: Intervention, answering: Answering, read_line: ReadLine
) -> None:
    """Answer (or decline) the pending request `item` as `answering` says."""
    request = item.review
    result: Any = answering.answer
    if answering.interactive and isinstance(request, ReviewedRequest):
        replies = await _replies(request, read_line)
        result = None if replies is None else answer_result(request, replies)
        declined = replies is None
    else:
        declined = answering.decline or not isinstance(request, ReviewedRequest)
        await trio.lowlevel.checkpoint()
    keys = {"operation_id": operation_id, "tool_call_id": item.tool_call_id}
    try:
        if declined:
            client.decline(**keys)
            say(f"{'answer':<10} {item.tool_call_id} declined")
        else:
            client.answer(**keys, result=result)
            say(f"{'answer':<10} {item.tool_call_id} sent: {folded(result)}")
    except LocalUsageError as error:  # it ended meanwhile (its deadline passed)
        say(f"{'answer':<10} {item.tool_call_id} not taken: {error}")


class TerminalLines:
    """The lines typed on stdin, read by one thread for the whole run: a prompt that is
    cancelled (its request ended) leaves no reader behind to swallow the next line,
    which goes to the next prompt instead. At the end of the input every read is ""."""

    def __init__(self) -> None:
        self._send, self._receive = trio.open_memory_channel[str](0)
        self._started = False

    def start(self, nursery: trio.Nursery) -> None:
        """Start reading stdin in `nursery` (once)."""
        if not self._started:
            self._started = True
            nursery.start_soon(self._pump)

    async def _pump(self) -> None:
        async with self._send:
            while line := await trio.to_thread.run_sync(sys.stdin.readline, abandon_on_cancel=True):
                await self._send.send(line)

    async def read_line(self) -> str:
        """The next line typed ("" once stdin has ended)."""
        try:
            return await self._receive.receive()
        except trio.EndOfChannel:
            return ""


class Asker:
    """Starts one `ask` per pending request of the followed run, one prompt at a time;
    a prompt whose request ended meanwhile (its deadline passed) is cancelled. A fixed
    policy answers each request once; at the terminal, a request pending again (its
    submission failed) is asked again."""

    def __init__(self, client: Client, operation_id: str, answering: Answering) -> None:
        self._client, self._operation_id = client, operation_id
        self._answering = answering
        self._terminal = TerminalLines()
        self._asking: dict[str, trio.CancelScope] = {}
        self._asked: set[str] = set()
        self._prompt = trio.Lock()

    def update(self, nursery: trio.Nursery, op: Operation) -> None:
        """Start asking what `op` newly waits for; stop asking what ended."""
        for tool_call_id, scope in list(self._asking.items()):
            if tool_call_id not in op.human.open:
                scope.cancel()
        if not self._answering.answers:
            return
        for item in sorted(op.human.open.values(), key=lambda item: item.order):
            again = self._answering.interactive or item.tool_call_id not in self._asked
            pending = item.status is InterventionStatus.PENDING
            if pending and again and item.tool_call_id not in self._asking:
                if self._answering.interactive:
                    self._terminal.start(nursery)
                self._asked.add(item.tool_call_id)
                self._asking[item.tool_call_id] = trio.CancelScope()
                nursery.start_soon(self._ask, item)

    async def _ask(self, item: Intervention) -> None:
        try:
            with self._asking[item.tool_call_id]:
                async with self._prompt:
                    await ask(
                        self._client,
                        self._operation_id,
                        item,
                        self._answering,
                        self._terminal.read_line,
                    )
        finally:
            del self._asking[item.tool_call_id]
