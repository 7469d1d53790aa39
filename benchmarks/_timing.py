"""Interleaved micro-timing shared by the benchmarks (`codec.py`, `reduce.py`).

Owns: `medians_us`, the median time of one call of each of several functions, measured
in interleaved rounds so that a burst of load on a shared machine slows all of them
alike instead of skewing their ratios. Must not know: what is being timed.
"""

from __future__ import annotations

import statistics
import timeit
from collections.abc import Callable, Mapping

__all__ = ["medians_us"]


def medians_us(
    calls: Mapping[str, Callable[[], object]], *, rounds: int, round_seconds: float
) -> dict[str, float]:
    """Median time of one call of each function, in microseconds, over `rounds` rounds.

    Each round times every function in turn, each call repeated enough times to take
    about `round_seconds`.
    """
    timers = {name: timeit.Timer(call) for name, call in calls.items()}
    numbers = {}
    for name, timer in timers.items():
        number, elapsed = timer.autorange()  # calls taking >= 0.2 s; also a warm-up
        numbers[name] = max(1, int(number * round_seconds / max(elapsed, 1e-9)))
    per_call: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, timer in timers.items():
            per_call[name].append(timer.timeit(numbers[name]) / numbers[name])
    return {name: statistics.median(times) * 1e6 for name, times in per_call.items()}
