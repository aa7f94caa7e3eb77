"""Turning what a person typed in their workspace's time zone into UTC, DST included."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.utils.translation import gettext as _


class LocalTimeError(ValueError):
    """The local time does not exist (clocks jumped forward over it)."""


def zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def to_utc(value: dt.datetime, tz_name: str) -> dt.datetime:
    """Aware values are converted; naive ones are read as wall-clock time in ``tz_name``.

    A wall-clock time inside a spring-forward gap does not exist and is refused; one inside an
    autumn overlap is read as its first occurrence (``fold=0``), as calendars do.
    """
    if value.tzinfo is not None:
        return value.astimezone(dt.UTC)
    tz = zone(tz_name)
    local = value.replace(tzinfo=tz, fold=0)
    round_trip = local.astimezone(dt.UTC).astimezone(tz)
    if round_trip.replace(tzinfo=None) != value:
        raise LocalTimeError(
            _("%(time)s does not exist in %(zone)s: the clocks jump forward over it.")
            % {"time": f"{value:%Y-%m-%d %H:%M}", "zone": tz_name}
        )
    return local.astimezone(dt.UTC)


def to_local(value: dt.datetime, tz_name: str) -> dt.datetime:
    return value.astimezone(zone(tz_name))
