"""Time counted in a workspace's business hours: how much of an interval fell in working time.

Written here rather than taken from a library: the business-time packages installable offline
either predate ``zoneinfo`` (naive datetimes, no DST) or pull in pandas. The rules:

- A working day is a local date whose weekday is in ``days`` and which is not a holiday.
- Its working window runs from ``start`` to ``end`` wall-clock time in ``zone``. When ``end`` is
  not after ``start`` the window runs overnight into the next morning (22:00-06:00) and belongs
  to the day it starts on (a holiday on that date removes the whole night shift).
- Wall-clock times are turned into instants with the zone's rules of that date, so a window on a
  DST day is an hour shorter or longer, as the team's working day really is. A start or end that
  falls in a spring-forward gap is read with the offset before the jump (as ``fold=0`` does).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Schedule:
    days: frozenset[int]  # Monday = 0 … Sunday = 6
    start: dt.time
    end: dt.time
    zone: str
    holidays: frozenset[dt.date] = field(default_factory=frozenset)

    @property
    def overnight(self) -> bool:
        return self.end <= self.start

    def windows(self, since: dt.datetime, until: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """The working windows (aware UTC instants) that may overlap [since, until), in order."""
        tz = zoneinfo.ZoneInfo(self.zone)
        first = since.astimezone(tz).date() - dt.timedelta(days=1)  # an overnight window of the eve
        last = until.astimezone(tz).date()
        day = first
        while day <= last:
            if day.weekday() in self.days and day not in self.holidays:
                opens = dt.datetime.combine(day, self.start, tzinfo=tz)
                end_day = day + dt.timedelta(days=1) if self.overnight else day
                closes = dt.datetime.combine(end_day, self.end, tzinfo=tz)
                yield opens.astimezone(dt.UTC), closes.astimezone(dt.UTC)
            day += dt.timedelta(days=1)


def business_seconds(schedule: Schedule, since: dt.datetime, until: dt.datetime) -> float:
    """Seconds of [since, until) that fall in working windows; 0 when until is not after since."""
    if until <= since:
        return 0.0
    total = 0.0
    for opens, closes in schedule.windows(since, until):
        overlap = (min(until, closes) - max(since, opens)).total_seconds()
        if overlap > 0:
            total += overlap
    return total


def elapsed_seconds(schedule: Schedule | None, since: dt.datetime, until: dt.datetime) -> float:
    """Business seconds under ``schedule``, or wall-clock seconds without one (never negative)."""
    if schedule is None:
        return max(0.0, (until - since).total_seconds())
    return business_seconds(schedule, since, until)
