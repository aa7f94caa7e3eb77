"""A histogram of durations, as Prometheus lays one out: cumulative counts under fixed bounds.

The engine's lateness and the inbox's intake latency are measured over a recent window from the
database; :func:`distribution` turns the durations into the buckets that both the operations page
(its percentiles) and /metrics (a gauge histogram) show, so the two never disagree.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum

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


def by_group(
    rows: QuerySet[Any], start: str, end: str, group: str, bounds: tuple[float, ...] = SECONDS_BOUNDS
) -> dict[str, Distribution]:
    """The distribution of ``end - start`` per value of ``group`` over ``rows``, counted by the
    database (one grouped query; no row leaves it): for the windows a scrape reads every 30 s."""
    span = ExpressionWrapper(F(end) - F(start), output_field=DurationField())
    counts = {
        f"le_{i}": Count("pk", filter=Q(span__lte=dt.timedelta(seconds=bound)))
        for i, bound in enumerate(bounds)
    }
    out: dict[str, Distribution] = {}
    for row in (
        rows.filter(**{f"{start}__isnull": False, f"{end}__isnull": False})
        .annotate(span=span)
        .values(group)
        .annotate(n=Count("pk"), total=Sum("span"), **counts)
        .order_by(group)
    ):
        total = row["total"]
        seconds = total.total_seconds() if isinstance(total, dt.timedelta) else float(total or 0) / 1e6
        out[str(row[group])] = Distribution(
            bounds=bounds,
            cumulative=tuple(int(row[f"le_{i}"]) for i in range(len(bounds))),
            count=int(row["n"]),
            total_s=max(0.0, seconds),
        )
    return out


__all__ = ["SECONDS_BOUNDS", "Distribution", "by_group", "distribution"]
