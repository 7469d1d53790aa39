"""Hypothesis strategies for store actions: what the application, a socket and the
runtime's effect handlers report.

Owns: actions about one operation or link whose ids the caller names (and, for a
socket, its generation; for a timer, the timers that are live), because which of those
are current is a matter of state; everything else in an action is drawn here: tokens,
cursors, gateway urls, close codes, errors, tool results, the user's answers, the
server's message list a refetch brings. Must not
know: the reducer, the state, or which action makes sense when (the state machine
decides that).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

from hypothesis import strategies as st

from gatewayops.store import (
    BadMessageReceived,
    InterruptConfirmed,
    InterruptFailed,
    InterventionAnswered,
    InterventionDeclined,
    InterventionSubmitFailed,
    InterventionSubmitted,
    MessagesFetched,
    MessagesFetchFailed,
    OperationAttached,
    OperationStarted,
    SocketClosed,
    SocketFailed,
    SocketOpened,
    SocketWentQuiet,
    Timer,
    TimerFired,
    TimerKind,
    TokenRefreshed,
    TokenRefreshFailed,
    TokenReplaced,
    ToolFinished,
)
from gatewayops.testing._event_data_strategies import ui_message_lists
from gatewayops.testing._message_strategies import tool_result_messages
from gatewayops.testing._value_strategies import as_strategy, event_ids, json_values, tokens

__all__ = [
    "GATEWAY_URLS",
    "fetch_answers",
    "interrupt_results",
    "intervention_answers",
    "operations_attached",
    "operations_started",
    "refresh_results",
    "socket_events",
    "submission_results",
    "timers_fired",
    "tokens_replaced",
    "tool_finishes",
]

_SocketEvent: TypeAlias = (
    SocketOpened | SocketClosed | SocketFailed | SocketWentQuiet | BadMessageReceived
)

GATEWAY_URLS = st.sampled_from(("ws://127.0.0.1:9", "wss://gw.test", "https://gw.test/"))
"""A few gateway base URLs (each its own v2 link)."""
_CURSORS = st.just("") | event_ids()
_CLOSE_CODES = st.sampled_from((None, 1000, 1001, 1006, 1011, 4000))
_CLOSE_REASONS = st.sampled_from(("", "going away", "server restart"))
_SOCKET_ERRORS = st.sampled_from(("connection refused", "handshake timed out", "reset by peer"))
_UNREADABLE_FRAME_ERRORS = st.sampled_from(("not JSON", "no type", "frame too large"))
_QUIET_MS = st.integers(1, 120_000)
_REFRESH_ERRORS = st.sampled_from(("refresh failed", "HTTP 503", "timed out"))
_INTERRUPT_ERRORS = st.sampled_from(("unconfirmed", "HTTP 500", "timed out"))
_FETCH_ERRORS = st.sampled_from(("HTTP 503", "OSError: message API unreachable"))


# --------------------------------------------------------------------------- application


def operations_started(
    *,
    operation_id: str,
    topic_id: str,
    gateway_url: str | st.SearchStrategy[str] = GATEWAY_URLS,
) -> st.SearchStrategy[OperationStarted]:
    """The app starts `operation_id` on `topic_id`, with a token and a gateway url (or
    a strategy for it; default: one of a few)."""
    return st.builds(
        OperationStarted,
        operation_id=st.just(operation_id),
        topic_id=st.just(topic_id),
        gateway_url=as_strategy(gateway_url),
        token=tokens(),
    )


def operations_attached(
    *,
    operation_id: str,
    topic_id: str,
    last_event_id: str | st.SearchStrategy[str] = _CURSORS,
    gateway_url: str | st.SearchStrategy[str] = GATEWAY_URLS,
) -> st.SearchStrategy[OperationAttached]:
    """The app attaches to `operation_id` on `topic_id`, with a token and a gateway url.

    Args:
        operation_id: the operation followed.
        topic_id: the topic it runs on.
        last_event_id: the cursor to resume after (a string), or a strategy for it
            (default: from the beginning or after an arbitrary event id).
        gateway_url: the gateway's base URL, or a strategy for it (default: one of a few).
    """
    return st.builds(
        OperationAttached,
        operation_id=st.just(operation_id),
        topic_id=st.just(topic_id),
        gateway_url=as_strategy(gateway_url),
        token=tokens(),
        last_event_id=as_strategy(last_event_id),
    )


def tokens_replaced(*, operation_id: str) -> st.SearchStrategy[TokenReplaced]:
    """The app hands over a fresh token for `operation_id`."""
    return st.builds(TokenReplaced, operation_id=st.just(operation_id), token=tokens())


# --------------------------------------------------------------------------- transport


@st.composite
def socket_events(draw: st.DrawFn, *, link_id: str, generation: int) -> _SocketEvent:
    """News of socket `generation` of `link_id`, other than a frame it received.

    It opens (as often as all the rest together, since nothing else happens to a socket
    that never opened), closes with or without a code, fails (retryably or not), goes
    quiet, or delivers a frame from which nothing can be read.
    """
    if draw(st.booleans()):  # first, as `opened | rest` would be flattened to 1 in 5
        return SocketOpened(link_id=link_id, generation=generation)
    socket = {"link_id": st.just(link_id), "generation": st.just(generation)}
    rest = st.one_of(
        st.builds(SocketClosed, **socket, code=_CLOSE_CODES, reason=_CLOSE_REASONS),
        st.builds(SocketFailed, **socket, error=_SOCKET_ERRORS, retryable=st.booleans()),
        st.builds(SocketWentQuiet, **socket, quiet_ms=_QUIET_MS),
        st.builds(BadMessageReceived, **socket, error=_UNREADABLE_FRAME_ERRORS),
    )
    return draw(rest)


# --------------------------------------------------------------------------- effect results


def timers_fired(*, owner: str, live: Sequence[Timer] = ()) -> st.SearchStrategy[TimerFired]:
    """A timer fires: one of the `live` ones, or (as often) a long-gone timer of `owner`.

    Args:
        owner: the link or operation the long-gone timers belonged to.
        live: the timers that exist now (sort them: the order is part of the draw).
    """
    gone = st.builds(
        Timer,
        owner=st.just(owner),
        kind=st.sampled_from(TimerKind),
        generation=st.just(0),
        seq=st.just(99),
        delay_ms=st.just(1),
    )
    timers = (st.sampled_from(live) | gone) if live else gone
    return st.builds(TimerFired, timer=timers)


def refresh_results(*, operation_id: str) -> st.SearchStrategy[TokenRefreshed | TokenRefreshFailed]:
    """A token refresh for `operation_id` returns a token, fails, or now and then finds
    the operation gone (``not_found``)."""
    refreshed = st.builds(TokenRefreshed, operation_id=st.just(operation_id), token=tokens())
    failed = st.builds(
        TokenRefreshFailed,
        operation_id=st.just(operation_id),
        error=_REFRESH_ERRORS,
        not_found=st.sampled_from((False, False, True)),
    )
    return refreshed | failed


def interrupt_results(
    *, operation_id: str
) -> st.SearchStrategy[InterruptConfirmed | InterruptFailed]:
    """The interrupt call for `operation_id` returns: confirmed or not."""
    confirmed = st.just(InterruptConfirmed(operation_id=operation_id))
    failed = st.builds(InterruptFailed, operation_id=st.just(operation_id), error=_INTERRUPT_ERRORS)
    return confirmed | failed


_ANSWERS = st.one_of(
    st.sampled_from(("yes", "Release 42", "")),
    st.fixed_dictionaries(
        {"answers": st.lists(st.fixed_dictionaries({"selected": st.lists(st.text(max_size=5))}))}
    ),
    st.none(),
)
_SUBMIT_ERRORS = st.sampled_from(("OSError: gateway unreachable", "answer endpoint said 503"))


def intervention_answers(
    *, operation_id: str, tool_call_id: str, resolution_request_id: str
) -> st.SearchStrategy[InterventionAnswered | InterventionDeclined]:
    """The user answers `tool_call_id` (any JSON answer) or, now and then, declines it."""
    keys = {
        "operation_id": st.just(operation_id),
        "tool_call_id": st.just(tool_call_id),
        "resolution_request_id": st.just(resolution_request_id),
    }
    answered = st.builds(InterventionAnswered, **keys, result=_ANSWERS)
    declined = st.builds(InterventionDeclined, **keys)
    return answered | answered | answered | declined


def submission_results(
    *, operation_id: str, tool_call_id: str, resolution_request_id: str
) -> st.SearchStrategy[InterventionSubmitted | InterventionSubmitFailed]:
    """The submission of an answer returns: delivered, or failed with an error."""
    keys = {
        "operation_id": operation_id,
        "tool_call_id": tool_call_id,
        "resolution_request_id": resolution_request_id,
    }
    failed = st.builds(
        InterventionSubmitFailed, **{k: st.just(v) for k, v in keys.items()}, error=_SUBMIT_ERRORS
    )
    return st.just(InterventionSubmitted(**keys)) | failed


def tool_finishes(*, operation_id: str, tool_call_id: str) -> st.SearchStrategy[ToolFinished]:
    """The client tool `tool_call_id` of `operation_id` finishes, with any result."""
    return st.builds(
        ToolFinished,
        operation_id=st.just(operation_id),
        result=tool_result_messages(tool_call_id),
    )


def fetch_answers(*, operation_id: str) -> st.SearchStrategy[MessagesFetched | MessagesFetchFailed]:
    """The fetch of `operation_id`'s message list returns: a list (with or without the
    revision it stands at), now and then JSON that is no list, or a failure."""
    fetched = st.builds(
        MessagesFetched,
        operation_id=st.just(operation_id),
        messages=ui_message_lists() | ui_message_lists() | json_values(max_leaves=2),
        revision=st.none() | st.integers(0, 22),
    )
    failed = st.builds(MessagesFetchFailed, operation_id=st.just(operation_id), error=_FETCH_ERRORS)
    return fetched | fetched | failed
