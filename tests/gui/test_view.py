"""The app's view model: pure functions of the store's state (no display needed)."""

from __future__ import annotations

from gatewayops.cli._console import describe
from gatewayops.gui import Turn, composer_view, indicator, topic_label, transcript_lines
from gatewayops.protocol import AuthSuccess
from gatewayops.store import (
    Action,
    GatewayState,
    InterruptConfirmed,
    MessageReceived,
    OperationStarted,
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
    assert indicator(state, OP).text == "● finished: interrupted"
    assert topic_label(state, TOPIC) == "   topic-1"


def test_indicator_follows_the_socket_while_running() -> None:
    """While the run is followed the indicator shows its socket status; with none, idle."""
    assert indicator(GatewayState(), None).text == "● idle"
    assert indicator(_fold(_STARTED), OP).text == "● connecting"
    assert topic_label(_fold(_STARTED), TOPIC) == "▶ topic-1"


def test_indicator_says_why_it_is_reconnecting() -> None:
    """While reconnecting the indicator names the retry and the last problem in words."""
    refused = "cannot connect to 127.0.0.1:1: Connection refused"
    state = _fold(_STARTED, SocketFailed(link_id=OP, generation=1, error=refused))
    assert indicator(state, OP).text == f"● reconnecting (retry 1): {refused}"


def test_indicator_says_when_a_connected_run_has_no_news() -> None:
    """A quiet socket (only heartbeat acks for `quiet_after_ms`) shows "no news", and the
    watch line says "quiet"; the run still shows Stop."""
    quiet = _fold(
        _STARTED,
        SocketOpened(link_id=OP, generation=1),
        MessageReceived(link_id=OP, generation=1, message=AuthSuccess()),
        SocketWentQuiet(link_id=OP, generation=1, quiet_ms=180_000),
    )
    assert indicator(quiet, OP).text == "● connected, no news for 3 min"
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
