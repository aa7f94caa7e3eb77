"""The one spike detector: an hourly count against the same hour of earlier days.

Counts of comments, mentions or posts rise and fall with the time of day (evenings are busy,
nights are quiet). Comparing an hour with *the same wall-clock hour on previous days* takes that
daily cycle out: an evening peak that comes every evening is no spike. The inbox's negativity
alert (14 days of baseline) and the trend alerts of keywords (7 days) both use it.

``z = (count - mean) / max(sd, sqrt(mean), floor)``, where ``mean`` and ``sd`` (population
standard deviation) are over the same hour of each baseline day. The ``sqrt(mean)`` term is a
Poisson floor: counts of rare events vary about as much as the square root of their mean, so a
quiet series whose baseline happens to be flat (``sd`` = 0) does not turn one extra item into an
infinite score; ``floor`` keeps an all-zero baseline finite.

Sources: the z-score with a Poisson floor for sparse terms, and removing the daily cycle before
thresholding, as listening tools describe it (Socialmetrix "variation alerts",
https://socialmetrix.freshdesk.com/support/solutions/articles/1000143951-variation-alerts).
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rupor.core import timezones

HOUR = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Score:
    """An hour's count against its baseline: ``z`` standard deviations above the mean."""

    count: int
    mean: float
    sd: float
    z: float

    def spike(self, *, min_count: int, z_alert: float) -> bool:
        return self.count >= min_count and self.z >= z_alert


def score(count: int, history: Sequence[int], *, sd_floor: float = 1.0) -> Score:
    """How far ``count`` stands above ``history`` (the same hour on earlier days)."""
    mean = statistics.fmean(history) if history else 0.0
    sd = statistics.pstdev(history) if len(history) > 1 else 0.0
    spread = max(sd, math.sqrt(mean), sd_floor)
    return Score(count, mean, sd, (count - mean) / spread)


def hour_of(at: dt.datetime) -> dt.datetime:
    """The start of the clock hour (UTC) that ``at`` falls in."""
    return at.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def same_hours(hour: dt.datetime, zone: str, days: int) -> list[dt.datetime]:
    """The starts of the same wall-clock hour on each of the ``days`` previous days in ``zone``
    (so the daily cycle stays put across a DST change)."""
    tz = timezones.zone(zone)
    local = hour.astimezone(tz)
    return [(local - dt.timedelta(days=back)).astimezone(dt.UTC) for back in range(1, days + 1)]


def history_counts(times: Iterable[dt.datetime], starts: Sequence[dt.datetime]) -> list[int]:
    """How many of ``times`` fall in each hour that starts at one of ``starts``."""
    counts = dict.fromkeys(starts, 0)
    for at in times:
        for start in starts:
            if start <= at < start + HOUR:
                counts[start] += 1
                break
    return [counts[s] for s in starts]


def score_hour(
    times: Sequence[dt.datetime],
    hour: dt.datetime,
    zone: str,
    *,
    days: int,
    until: dt.datetime | None = None,
    sd_floor: float = 1.0,
) -> Score:
    """Score the hour starting at ``hour`` from the event ``times`` (which must reach ``days``
    back): its count (up to ``until`` when the hour is not over) against the same hour of the
    previous ``days`` days in ``zone``."""
    end = hour + HOUR if until is None else min(hour + HOUR, until)
    count = sum(1 for at in times if hour <= at < end)
    return score(count, history_counts(times, same_hours(hour, zone, days)), sd_floor=sd_floor)


def hourly_counts(times: Iterable[dt.datetime], start: dt.datetime, hours: int) -> list[int]:
    """Counts per clock hour for ``hours`` hours from ``start`` (an hour start): a sparkline."""
    out = [0] * hours
    for at in times:
        index = int((at - start).total_seconds() // 3600)
        if 0 <= index < hours:
            out[index] += 1
    return out
