"""Repeated wall-clock timing: warm-up calls first, then the median and spread."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    """Seconds per call of one measured function over `repeats` timed calls."""

    seconds: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def rates(self, items: int, prefix: str) -> dict[str, float | int]:
        """Return items per second as median, min and max, plus the repeat count.

        The min rate comes from the slowest call and the max from the fastest.
        """
        return {
            f"{prefix}": items / self.median,
            f"{prefix}_min": items / max(self.seconds),
            f"{prefix}_max": items / min(self.seconds),
            "repeats": len(self.seconds),
        }


def measure(function: Callable[[], object], repeats: int, warmup: int = 1) -> Timing:
    """Call `function` `warmup` times untimed, then `repeats` times timed."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    for _ in range(warmup):
        function()
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - started)
    return Timing(tuple(seconds))


def measure_interleaved(
    functions: dict[str, Callable[[], object]], repeats: int
) -> tuple[dict[str, object], dict[str, Timing]]:
    """Time several functions in rounds, one call of each per round.

    Interleaving spreads a change in machine load over every function alike,
    so ratios between them stay fair on a shared machine. Each function's
    first call is the untimed warm-up, and its output is returned for checks.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    outputs = {key: function() for key, function in functions.items()}
    seconds: dict[str, list[float]] = {key: [] for key in functions}
    for _ in range(repeats):
        for key, function in functions.items():
            started = time.perf_counter()
            function()
            seconds[key].append(time.perf_counter() - started)
    return outputs, {key: Timing(tuple(values)) for key, values in seconds.items()}
