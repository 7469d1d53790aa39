"""Running a state machine against a seeded bug, as the seeded-bug tests (v1 and v2) do.

Owns `assert_finds_a_violation`: a machine run, derandomized and generation only, that
must end in an `AssertionError` (an invariant broken, or the model contradicted). Must
not know: which bugs are seeded, or what the machines check.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test


def assert_finds_a_violation(machine: type[RuleBasedStateMachine], *, max_examples: int) -> None:
    """Run `machine` for up to `max_examples` derandomized examples of 100 steps each;
    pass only if one of them fails an assertion (each run stops at its first)."""
    with pytest.raises(AssertionError):
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=max_examples,
                stateful_step_count=100,
                deadline=None,
                derandomize=True,
                database=None,
                phases=(Phase.generate,),
                suppress_health_check=list(HealthCheck),
                print_blob=False,
            ),
        )
