"""A histogram of durations, as Prometheus lays one out: cumulative counts under fixed bounds.

The engine's lateness and the inbox's intake latency are measured over a recent window from the
database; :func:`distribution` turns the durations into the buckets that both the operations page
(its percentiles) and /metrics (a gauge histogram) show, so the two never disagree.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass

#: Bucket bounds in seconds: from "on time" to "an hour late".
SECONDS_BOUNDS: tuple[float, ...] = (1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 4 * 3600)


@dataclass(frozen=True)
class Distribution:
    bounds: tuple[float, ...]  # upper bounds, seconds (the last bucket, +Inf, is ``count``)
    cumulative: tuple[int, ...]  # values <= each bound
    count: int
    total_s: float

    def quantile(self, q: float) -> float | None:
        """The smallest bound holding a share ``q`` of the values (None when empty; ``inf`` past
        the last bound): what ``histogram_quantile`` would say, without interpolation."""
        if not self.count:
            return None
        need = q * self.count
        for bound, n in zip(self.bounds, self.cumulative, strict=True):
            if n >= need:
                return bound
        return float("inf")


def distribution(values: Iterable[float], bounds: tuple[float, ...] = SECONDS_BOUNDS) -> Distribution:
    counts = [0] * (len(bounds) + 1)
    total = 0.0
    n = 0
    for value in values:
        value = max(0.0, value)
        counts[bisect.bisect_left(bounds, value)] += 1
        total += value
        n += 1
    cumulative: list[int] = []
    running = 0
    for c in counts[:-1]:
        running += c
        cumulative.append(running)
    return Distribution(bounds=bounds, cumulative=tuple(cumulative), count=n, total_s=total)


__all__ = ["SECONDS_BOUNDS", "Distribution", "distribution"]
