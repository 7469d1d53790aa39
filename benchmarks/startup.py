"""Start-up cost: the wall time of a fresh interpreter that imports a gatewayops module.

Owns: timing, hyperfine-like, fresh ``python -c`` processes (``pass``, then one import
per target) in interleaved rounds, so a burst of load on the shared machine slows all
of them alike, and printing per target the median, the fastest run and the ratio of
medians to ``python -c pass``. ``--importtime`` adds, per target, the modules that
took longest by themselves (``python -X importtime``). Must not know: what the
modules contain.

    .venv/bin/python benchmarks/startup.py
    .venv/bin/python benchmarks/startup.py --rounds 40 --importtime
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence

TARGETS = (
    "gatewayops",
    "gatewayops.protocol",
    "gatewayops.store",
    "gatewayops.effects",
)
BASELINE = "pass"


def _code(target: str) -> str:
    return BASELINE if target == BASELINE else f"import {target}"


def wall_seconds(code: str) -> float:
    """One fresh interpreter running `code`, start to exit."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - started


def medians(targets: Sequence[str], rounds: int) -> dict[str, tuple[float, float]]:
    """Median and fastest wall time of each target, over interleaved rounds."""
    times: dict[str, list[float]] = {target: [] for target in targets}
    for target in targets:
        wall_seconds(_code(target))  # warm the file cache
    for _ in range(rounds):
        for target in targets:
            times[target].append(wall_seconds(_code(target)))
    return {target: (statistics.median(ts), min(ts)) for target, ts in times.items()}


def slowest_modules(target: str, count: int) -> list[tuple[int, str]]:
    """The `count` modules whose own import took longest (microseconds, name)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", _code(target)],
        check=True,
        capture_output=True,
        text=True,
    )
    own: list[tuple[int, str]] = []
    for line in result.stderr.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if len(fields) == 3 and fields[0].strip().isdigit():
            own.append((int(fields[0]), fields[2].strip()))
    return sorted(own, reverse=True)[:count]


def main(rounds: int, importtime: bool) -> None:
    """Print the medians and ratios (and, if asked, the slowest imports)."""
    results = medians([BASELINE, *TARGETS], rounds)
    base = results[BASELINE][0]
    print(f"{rounds} interleaved rounds, {sys.executable}")
    print(f"{'python -c':<32} {'median ms':>10} {'fastest ms':>11} {'ratio':>7}")
    for target, (median, fastest) in results.items():
        print(
            f"{_code(target):<32} {median * 1e3:>10.1f} {fastest * 1e3:>11.1f}"
            f" {median / base:>6.1f}x"
        )
    if importtime:
        for target in TARGETS:
            print(f"\nslowest own imports of {target}:")
            for micros, name in slowest_modules(target, 8):
                print(f"  {micros / 1e3:7.1f} ms  {name}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="interleaved rounds (20)")
    parser.add_argument("--importtime", action="store_true", help="show the slowest imports")
    arguments = parser.parse_args()
    main(arguments.rounds, arguments.importtime)
