"""The web analytics emulators' one model of a site's visitors (Metrica's and GA4's alike).

A site gets visits from *landings*: addresses people arrive at, each with its UTM tags (the
tagged links Rupor publishes; the emulators learn them from ``POST /_emulator/landings``) and the
moment it was first shared. Visits of a landing decay from that moment (most in the first days:
time constant :data:`DECAY_DAYS`), scaled by the landing's own quality (log-normal, median 1,
drawn from the seed and its tags) and its network (:data:`SOURCE_REACH`). Besides them the site
has a steady background of visits no campaign brought (search engines, direct), so a report that
does not filter by ``utm_medium`` sees more than Rupor's links.

Every figure is a pure function of (seed, the landing's tags, its start, the day, the clock's
now), so two emulators with the same seed and landings answer the same numbers, whatever
happened in between; a day still in progress grows as the clock runs and never shrinks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

#: Visits of a landing fall by e each this many days after it is first shared.
DECAY_DAYS = 1.5
#: Lifetime sessions of an average landing from an average network.
BASE_SESSIONS = 140.0
#: How many visits a network's posts bring, against the average.
SOURCE_REACH = {
    "vk": 1.4,
    "telegram": 1.2,
    "ok": 0.8,
    "x": 0.6,
    "bluesky": 0.5,
    "linkedin": 0.7,
    "mastodon": 0.4,
    "facebook": 0.9,
    "instagram": 0.6,
    "youtube": 1.1,
}
#: Of a landing's sessions, the share that are a returning person's second visit that day.
REPEAT_SHARE = 0.15
#: Background visits a day (no UTM campaign): source, medium, campaign, sessions a day.
BACKGROUND = (
    ("google", "organic", "", 46.0),
    ("yandex", "organic", "", 61.0),
    ("", "", "", 38.0),
    ("newsletter", "email", "weekly", 9.0),
)
#: How long before the world's start the background has been running.
BACKGROUND_DAYS = 400


@dataclass(frozen=True)
class Landing:
    """An address people arrive at, with its tags, first shared at ``since`` (unix time)."""

    source: str
    medium: str
    campaign: str
    content: str
    since: float
    weight: float = 1.0

    @property
    def key(self) -> str:
        return "|".join((self.source, self.medium, self.campaign, self.content))


@dataclass(frozen=True)
class Visits:
    sessions: int
    users: int
    bounces: int
    pageviews: int


def landing_from_url(url: str, since: float) -> Landing | None:
    """The landing of a tagged address (``None`` when it has no ``utm_source``)."""
    tags = {k.lower(): v for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True)}
    source = tags.get("utm_source", "").strip()
    if not source:
        return None
    return Landing(
        source=source[:200],
        medium=tags.get("utm_medium", "").strip()[:200],
        campaign=tags.get("utm_campaign", "").strip()[:200],
        content=tags.get("utm_content", "").strip()[:200],
        since=since,
    )


def _uniform(*parts: object) -> float:
    """A number in (0, 1), the same every time for the same parts."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return (int.from_bytes(digest[:8], "big") + 0.5) / 2**64


def quality(seed: int, key: str) -> float:
    """The landing's own factor: log-normal with median 1 (sigma 0.5), held in [0.25, 4]."""
    u1, u2 = _uniform(seed, "q1", key), _uniform(seed, "q2", key)
    z = math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)
    return min(4.0, max(0.25, math.exp(0.5 * z)))


def _share(since: float, start: float, end: float) -> float:
    """The share of a landing's lifetime visits between ``start`` and ``end`` (unix times)."""
    tau = DECAY_DAYS * 86400

    def done(t: float) -> float:
        return 0.0 if t <= since else 1.0 - math.exp(-(t - since) / tau)

    return max(0.0, done(end) - done(start))


def _round(value: float, *parts: object) -> int:
    """``value`` rounded down or up, up with the probability of its fraction (seeded)."""
    return math.floor(value + _uniform("round", *parts))


def day_bounds(day: dt.date, zone: ZoneInfo) -> tuple[float, float]:
    start = dt.datetime.combine(day, dt.time(), tzinfo=zone)
    return start.timestamp(), (start + dt.timedelta(days=1)).timestamp()


def sessions_of(
    seed: int, landing: Landing, day: dt.date, zone: ZoneInfo, now: float, *, bias: float = 1.0
) -> int:
    """A landing's sessions on the site's local ``day``, as of ``now`` (a later moment of the
    day only adds to it)."""
    start, end = day_bounds(day, zone)
    end = min(end, now)
    if end <= start or end <= landing.since:
        return 0
    lifetime = (
        BASE_SESSIONS
        * landing.weight
        * quality(seed, landing.key)
        * SOURCE_REACH.get(landing.source.lower(), 0.7)
        * bias
    )
    return _round(lifetime * _share(landing.since, start, end), seed, landing.key, day.isoformat())


def background_sessions(
    seed: int, daily: float, key: str, day: dt.date, zone: ZoneInfo, now: float, world_start: float
) -> int:
    """A background source's sessions on ``day`` (a weekly rhythm, as of ``now``)."""
    start, end = day_bounds(day, zone)
    end = min(end, now)
    if end <= start or start < world_start - BACKGROUND_DAYS * 86400:
        return 0
    weekly = 1.0 + 0.15 * math.sin(2 * math.pi * day.weekday() / 7)
    return _round(daily * weekly * (end - start) / 86400, seed, "bg", key, day.isoformat())


def visits(seed: int, key: str, day: dt.date, sessions: int) -> Visits:
    """Users, bounces and page views of ``sessions`` (people: fewer than sessions; most
    sessions of one page)."""
    if sessions <= 0:
        return Visits(0, 0, 0, 0)
    users = max(1, min(sessions, _round(sessions * (1 - REPEAT_SHARE), seed, "u", key, day.isoformat())))
    bounce_rate = 0.25 + 0.3 * _uniform(seed, "b", key)
    bounces = min(sessions, _round(sessions * bounce_rate, seed, "bn", key, day.isoformat()))
    depth = 1.4 + 2.0 * _uniform(seed, "d", key)
    pageviews = max(sessions, _round(sessions * depth, seed, "pv", key, day.isoformat()))
    return Visits(sessions, users, bounces, pageviews)


def reaches(seed: int, key: str, day: dt.date, sessions: int, goal: str, rate: float) -> int:
    """How many times ``goal`` (converting at ``rate`` of sessions) was reached."""
    if sessions <= 0 or rate <= 0:
        return 0
    return min(
        sessions, _round(sessions * rate * quality(seed, "goal:" + key) ** 0.5, seed, "g", goal, key, day)
    )


def days(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def merge(landings: Iterable[Landing], landing: Landing) -> list[Landing]:
    """``landings`` with ``landing`` added, unless one with the same tags is there already (the
    earliest start stays: a link shared again brings no new first day)."""
    kept = list(landings)
    for i, old in enumerate(kept):
        if old.key == landing.key:
            if landing.since < old.since:
                kept[i] = landing
            return kept
    kept.append(landing)
    return kept
