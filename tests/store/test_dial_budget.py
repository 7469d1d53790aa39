"""The dial budget: a gateway never reached ends the run, once (PROTOCOL.md 12.13).

With `StoreConfig.dial_budget` set, the dial that fails that many times in a row before
any socket of the link opened ends the operation as `unreachable`; once a socket has
opened, losses only reconnect; without a budget (the default) nothing changes.
"""

from __future__ import annotations

import pytest

from gatewayops.store import (
    ConnectionStatus,
    FinishSource,
    GatewayState,
    NotifyFinished,
    Outcome,
    Result,
    SocketClosed,
    SocketFailed,
    Step,
    StoreConfig,
    TimerKind,
    reduce,
)
from gatewayops.store._config import out_of_dials

from .helpers import OP, TOPIC, fired, fold, opened, resources_of, started, timer

REFUSED = "cannot connect to 127.0.0.1:9: Connection refused"

# (dial_budget, a socket ever opened, consecutive failed dials) -> gives up
_RULE = [
    (None, False, 1, False),
    (None, False, 1_000, False),
    (3, False, 1, False),
    (3, False, 2, False),
    (3, False, 3, True),
    (3, False, 4, True),
    (1, False, 1, True),
    (3, True, 3, False),
    (3, True, 1_000, False),
]


@pytest.mark.parametrize(("budget", "ever_opened", "failed", "gives_up"), _RULE)
def test_the_rule(budget: int | None, ever_opened: bool, failed: int, gives_up: bool) -> None:
    """`out_of_dials` gives up only with a budget, only before a socket ever opened, and
    only once the failed dials reach the budget."""
    config = StoreConfig(dial_budget=budget)
    assert out_of_dials(config, ever_opened=ever_opened, failed_dials=failed) is gives_up


def _fail(state: GatewayState, error: str = REFUSED) -> Step:
    """The link's current dial fails (retryably)."""
    generation = state.links[OP].generation
    return reduce(state, SocketFailed(link_id=OP, generation=generation, error=error))


def _failed_dials(config: StoreConfig, dials: int) -> tuple[GatewayState, Step]:
    """Start a run and let `dials - 1` dials fail with the backoff elapsing after each;
    the state before the last dial fails, and the step of that failure."""
    state = fold(GatewayState(config=config), started())
    for _ in range(dials - 1):
        state = _fail(state).state
        state = fold(state, fired(timer(state, TimerKind.BACKOFF)))
    return state, _fail(state)


def test_the_last_dial_of_the_budget_ends_the_run_as_unreachable() -> None:
    """The third refused dial of a budget of 3 ends the run once, as unreachable, with the
    last problem and the count; the socket and every timer are gone, the topic free."""
    before, step = _failed_dials(StoreConfig(dial_budget=3), 3)
    assert not before.operations[OP].is_finished
    outcome = Outcome(
        result=Result.UNREACHABLE,
        source=FinishSource.DIAL_BUDGET,
        detail=f"{REFUSED} (3 attempts)",
    )
    assert step.state.operations[OP].outcome == outcome
    notices = [e for e in step.effects if isinstance(e, NotifyFinished)]
    assert notices == [NotifyFinished(operation_id=OP, topic_id=TOPIC, outcome=outcome)]
    assert step.state.links[OP].status is ConnectionStatus.DISCONNECTED
    assert resources_of(step.state, OP) == set()
    assert step.state.topics[TOPIC].running_operation is None


def test_a_budget_of_one_gives_up_at_the_first_failure() -> None:
    """`dial_budget=1` ends the run at its first failed dial ("1 attempt")."""
    _, step = _failed_dials(StoreConfig(dial_budget=1), 1)
    outcome = step.state.operations[OP].outcome
    assert outcome is not None
    assert outcome.detail == f"{REFUSED} (1 attempt)"


def test_before_the_budget_is_spent_the_link_backs_off() -> None:
    """The second failure of a budget of 3 only backs off (the run goes on)."""
    _, step = _failed_dials(StoreConfig(dial_budget=3), 2)
    assert not step.state.operations[OP].is_finished
    assert step.state.links[OP].status is ConnectionStatus.RECONNECTING
    assert step.state.operations[OP].last_problem == REFUSED


def test_without_a_budget_an_unreachable_gateway_is_dialled_for_ever() -> None:
    """The default config never gives up: 50 refused dials leave the run reconnecting."""
    _, step = _failed_dials(StoreConfig(), 50)
    assert not step.state.operations[OP].is_finished
    assert step.state.links[OP].attempt == 50


def test_after_a_socket_opened_failures_only_reconnect() -> None:
    """Once a socket opened (and dropped before it proved healthy), a budget of 2 no
    longer applies: five refused redials later the run is still reconnecting."""
    config = StoreConfig(dial_budget=2)
    state = fold(GatewayState(config=config), started(), opened())
    assert state.links[OP].ever_opened
    state = fold(state, SocketClosed(link_id=OP, generation=1, code=1006, reason=""))
    for _ in range(5):
        state = fold(state, fired(timer(state, TimerKind.BACKOFF)))
        state = _fail(state).state
    assert not state.operations[OP].is_finished
    assert state.links[OP].ever_opened
    assert state.links[OP].status is ConnectionStatus.RECONNECTING


@pytest.mark.parametrize("budget", [0, -1, True, 2.5, "3"])
def test_a_budget_that_is_not_a_positive_int_is_refused(budget: object) -> None:
    """`StoreConfig(dial_budget=...)` refuses anything but None or a positive int, naming
    the field."""
    with pytest.raises(ValueError, match=r"StoreConfig\.dial_budget: expected None or a positive"):
        StoreConfig(dial_budget=budget)  # type: ignore[arg-type]
