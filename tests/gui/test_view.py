"""The app's view model: pure functions of the store's state (no display needed)."""

from __future__ import annotations

import attrs
import pytest

from gatewayops.cli._console import describe
from gatewayops.gui import (
    Turn,
    composer_view,
    indicator,
    stop_news,
    topic_label,
    transcript_lines,
)
from gatewayops.protocol import AuthSuccess
from gatewayops.store import (
    Action,
    ConnectionStatus,
    FinishSource,
    GatewayState,
    InterruptConfirmed,
    InterruptFailed,
    MessageReceived,
    OperationDetached,
    OperationStarted,
    OperationStatus,
    Outcome,
    Result,
    SocketFailed,
    SocketOpened,
    SocketWentQuiet,
    StopRequested,
    reduce,
)

OP, TOPIC = "op-1", "topic-1"


def _fold(*actions: Action) -> GatewayState:
    state = GatewayState()
    for action in actions:
        state = reduce(state, action).state
    return state


_STARTED = OperationStarted(
    operation_id=OP, topic_id=TOPIC, gateway_url="ws://127.0.0.1:1", token="jwt"
)


def test_button_reads_send_without_a_run_and_stop_while_input_is_loading() -> None:
    """The composer button is "Send" with no run and "Stop" while is_input_loading holds."""
    assert composer_view(GatewayState(), TOPIC).button_text == "Send"
    running = composer_view(_fold(_STARTED), TOPIC)
    assert (running.button_text, running.loading, running.stopping) == ("Stop", True, False)


def test_a_requested_stop_keeps_stop_but_disables_it_until_confirmed() -> None:
    """After Stop the button still reads "Stop" (disabled); a confirmed interrupt gives "Send"."""
    stopping = composer_view(_fold(_STARTED, StopRequested(operation_id=OP)), TOPIC)
    assert (stopping.button_text, stopping.stopping) == ("Stop", True)
    state = _fold(_STARTED, StopRequested(operation_id=OP), InterruptConfirmed(operation_id=OP))
    assert composer_view(state, TOPIC).button_text == "Send"
    assert indicator(state, OP).text == "Finished: interrupted"
    assert topic_label(state, TOPIC) == "   topic-1"


def test_indicator_follows_the_socket_while_running() -> None:
    """While the run is followed the indicator says how its socket stands; with none, idle."""
    assert indicator(GatewayState(), None).text == "Idle: nothing sent on this topic yet"
    assert indicator(_fold(_STARTED), OP).text == "Connecting…"
    assert topic_label(_fold(_STARTED), TOPIC) == "▶ topic-1"


def test_indicator_says_why_it_is_reconnecting() -> None:
    """While reconnecting the indicator names the retry and the last problem in words."""
    refused = "cannot connect to 127.0.0.1:1: Connection refused"
    state = _fold(_STARTED, SocketFailed(link_id=OP, generation=1, error=refused))
    assert indicator(state, OP).text == f"Reconnecting (retry 1): {refused}"


def test_indicator_says_when_a_connected_run_has_no_news() -> None:
    """A quiet socket (only heartbeat acks for `quiet_after_ms`) shows "no news", and the
    watch line says "quiet"; the run still shows Stop."""
    quiet = _fold(
        _STARTED,
        SocketOpened(link_id=OP, generation=1),
        MessageReceived(link_id=OP, generation=1, message=AuthSuccess()),
        SocketWentQuiet(link_id=OP, generation=1, quiet_ms=180_000),
    )
    assert indicator(quiet, OP).text == "Connected, no news for 3 min"
    assert describe(quiet.operations[OP], quiet).startswith("quiet ")
    assert composer_view(quiet, TOPIC).button_text == "Stop"


def test_transcript_lines_show_the_prompt_and_how_the_run_ended() -> None:
    """Each turn shows the user's prompt, then the run's ending once it has one."""
    turns = [Turn(prompt="hello", operation_id=OP)]
    state = _fold(_STARTED, StopRequested(operation_id=OP), InterruptConfirmed(operation_id=OP))
    lines = transcript_lines(state, turns)
    assert [line.tag for line in lines] == ["user", "outcome"]
    assert lines[0].text == "You: hello"
    assert lines[1].text.startswith("— interrupted via interrupt_confirmed")


def _with_status(status: ConnectionStatus) -> GatewayState:
    state = _fold(_STARTED)
    return attrs.evolve(
        state, links=state.links.set(OP, attrs.evolve(state.links[OP], status=status))
    )


def _with_result(result: Result) -> GatewayState:
    state = _fold(_STARTED)
    ended = Outcome(result=result, source=FinishSource.AGENT_EVENT, detail="why")
    op = attrs.evolve(state.operations[OP], status=OperationStatus.FINISHED, outcome=ended)
    return attrs.evolve(state, operations=state.operations.set(OP, op))


_EVERY_STATE = [
    *(pytest.param(_with_status(status), id=status.value) for status in ConnectionStatus),
    *(pytest.param(_with_result(result), id=result.value) for result in Result),
    pytest.param(_fold(_STARTED, OperationDetached(operation_id=OP)), id="detached"),
]


@pytest.mark.parametrize("state", _EVERY_STATE)
def test_indicator_is_a_plain_sentence_for_every_status_and_result(state: GatewayState) -> None:
    """Every socket status, every result and a detached run read as a capitalised sentence
    in words: no enum or attrs repr, no snake_case value."""
    text = indicator(state, OP).text
    assert text[0].isupper()
    for repr_mark in ("Result.", "ConnectionStatus.", "Outcome(", "<", "_"):
        assert repr_mark not in text


def test_indicator_names_a_result_in_words() -> None:
    """A finished run reads "Finished: <result>", underscores read as spaces."""
    assert indicator(_with_result(Result.COMPLETED), OP).text == "Finished: completed"
    assert indicator(_with_result(Result.AUTH_FAILED), OP).text == "Finished: auth failed"


def test_a_refused_interrupt_says_stop_failed_and_enables_stop_again() -> None:
    """InterruptFailed: the message line says "Stop failed: <reason>"; the run goes on and
    the button reads "Stop", no longer disabled."""
    stopping = _fold(_STARTED, StopRequested(operation_id=OP))
    refused = InterruptFailed(operation_id=OP, error="interrupt was refused")
    after = reduce(stopping, refused).state
    assert stop_news(stopping, after, refused) == "Stop failed: interrupt was refused"
    composer = composer_view(after, TOPIC)
    assert (composer.button_text, composer.loading, composer.stopping) == ("Stop", True, False)


def test_a_confirmed_stop_says_stopped() -> None:
    """A stopping run that ends interrupted says so on the message line."""
    stopping = _fold(_STARTED, StopRequested(operation_id=OP))
    confirmed = InterruptConfirmed(operation_id=OP)
    after = reduce(stopping, confirmed).state
    assert stop_news(stopping, after, confirmed) == "Stopped: the run was interrupted."


def test_other_actions_bring_no_stop_news() -> None:
    """Actions that settle no stop (a start, a stop request itself) leave the line alone."""
    started = _fold(_STARTED)
    assert stop_news(GatewayState(), started, _STARTED) is None
    stop = StopRequested(operation_id=OP)
    assert stop_news(started, reduce(started, stop).state, stop) is None


def test_a_followed_run_shows_no_prompt_it_never_sent() -> None:
    """A turn without a prompt (a run followed with --url) shows a note naming the
    operation, and no "You:" line."""
    lines = transcript_lines(_fold(_STARTED), [Turn(prompt=None, operation_id=OP)])
    assert [(line.tag, line.text) for line in lines] == [
        ("note", f"Following {OP}, a run started elsewhere")
    ]
