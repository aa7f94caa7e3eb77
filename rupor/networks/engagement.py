"""The emulators' one model of an audience: how a post's counters grow with its age, and how a
community's members come and go, hour by hour, driven only by the emulator's clock and a seed.

Every figure is a pure function of (seed, the post's or community's key, the times involved), so
two emulators with the same seed answer the same numbers at the same emulated moment, whatever
happened in between (a restart, a jump of the clock). The model has the shape analytics expects
of a real audience, so the dashboards, "best time to post" and competitor comparisons have real
signals to find:

* **age** — a post's counters grow along a saturating curve: most of it in the first day
  (``CURVE_FAST`` of the total with a 5-hour time constant), a slow tail over the following
  days (the rest, 3-day time constant). The curve never decreases, so neither does a counter.
* **quality** — each post has a factor drawn from a log-normal distribution (median 1, most
  posts between 0.5 and 2), seeded from its id: some posts simply do better.
* **hour of week** — a post published at a good hour of its audience's day (mornings and, most
  of all, evenings; Sunday evening best) reaches more people than one published at night:
  :func:`hour_effect`, in the audience's local time (``AUDIENCE_UTC_OFFSET_H``, Moscow).
* **format** — photo and video posts draw more reactions than text (:data:`FORMAT_EFFECT`).
* **members** — each hour some people join and some leave (Poisson counts around a daily
  rhythm, more joins than leaves on average); the member count is the start count plus every
  join minus every leave, so joins and leaves always agree with the change in members.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
from dataclasses import dataclass

#: The emulated audience lives in Moscow time (UTC+3, no daylight saving since 2014).
AUDIENCE_UTC_OFFSET_H = 3

#: Relative reach by the audience's local hour (0..23): night low, morning and evening peaks.
HOUR_OF_DAY = (
    0.35, 0.30, 0.25, 0.25, 0.30, 0.40, 0.60, 0.85, 1.05, 1.15, 1.10, 1.00,
    1.05, 1.00, 0.90, 0.90, 0.95, 1.05, 1.25, 1.40, 1.35, 1.15, 0.80, 0.50,
)  # fmt: skip
#: Relative reach by the audience's local weekday (Monday = 0): weekends a little better.
DAY_OF_WEEK = (0.95, 1.00, 1.05, 1.00, 0.95, 1.10, 1.15)

#: How a post's format changes its reactions (likes, reposts, comments) against plain text.
FORMAT_EFFECT = {"text": 1.0, "link": 0.85, "poll": 1.2, "photo": 1.4, "video": 1.7}
#: ... and how it changes its views (a photo or video stops the scroll a little more often).
FORMAT_VIEWS = {"text": 1.0, "link": 0.95, "poll": 1.05, "photo": 1.15, "video": 1.25}

#: Share of a post's lifetime engagement that comes with the fast (first-day) component.
CURVE_FAST = 0.85
CURVE_FAST_S = 5 * 3600
CURVE_SLOW_S = 72 * 3600

#: Of the people who see a post: how many react (at quality 1, plain text, before the hour effect).
LIKE_RATE = 0.045
REPOST_RATE = 0.006
COMMENT_RATE = 0.008
#: Share of the audience a post reaches when everything is average.
VIEW_SHARE = 0.9
#: Reach (unique people) against views (a person may view twice).
REACH_SHARE = 0.85


def _uniform(*parts: object) -> float:
    """A number in (0, 1), the same every time for the same parts."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return (int.from_bytes(digest[:8], "big") + 0.5) / 2**64


def quality(seed: int, key: str) -> float:
    """The post's own factor: log-normal with median 1 (sigma 0.35), held in [0.4, 2.5]."""
    u1, u2 = _uniform(seed, "q1", key), _uniform(seed, "q2", key)
    z = math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)
    return min(2.5, max(0.4, math.exp(0.35 * z)))


def hour_effect(published: float) -> float:
    """How well a post published at unix time ``published`` does for its hour of the week."""
    local = dt.datetime.fromtimestamp(published, dt.UTC) + dt.timedelta(hours=AUDIENCE_UTC_OFFSET_H)
    return HOUR_OF_DAY[local.hour] * DAY_OF_WEEK[local.weekday()]


def curve(age_s: float) -> float:
    """The share of its lifetime engagement a post has at ``age_s`` seconds (0 before it is out)."""
    if age_s <= 0:
        return 0.0
    fast = 1 - math.exp(-age_s / CURVE_FAST_S)
    slow = 1 - math.exp(-age_s / CURVE_SLOW_S)
    return CURVE_FAST * fast + (1 - CURVE_FAST) * slow


@dataclass(frozen=True)
class PostCounts:
    views: int
    reach: int
    likes: int
    reposts: int
    comments: int

    @property
    def engagements(self) -> int:
        return self.likes + self.reposts + self.comments


def post_counts(
    seed: int, key: str, *, published: float, now: float, audience: int, content_format: str = "text"
) -> PostCounts:
    """A post's counters at ``now``: ``audience`` is how many follow the page at publishing,
    ``content_format`` one of :data:`FORMAT_EFFECT`'s keys (unknown ones count as text)."""
    share = curve(now - published)
    q = quality(seed, key)
    hour = hour_effect(published)
    potential_views = (max(0, audience) * VIEW_SHARE + 20) * hour * FORMAT_VIEWS.get(content_format, 1.0)
    views = int(potential_views * share)
    # Reactions are rates of the *potential* views (the hour is in them already), scaled by the
    # post's quality and format and grown with the same curve, so each counter rises smoothly
    # (never one reaction short because views were rounded down).
    lifetime = potential_views * q * FORMAT_EFFECT.get(content_format, 1.0)
    return PostCounts(
        views=views,
        reach=int(views * REACH_SHARE),
        likes=int(lifetime * LIKE_RATE * share),
        reposts=int(lifetime * REPOST_RATE * share),
        comments=int(lifetime * COMMENT_RATE * share),
    )


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method: the means here are small)."""
    if mean <= 0:
        return 0
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def member_flow(
    seed: int, key: str, hour: int, *, joins_per_day: float, leaves_per_day: float
) -> tuple[int, int]:
    """Joins and leaves of a community in the absolute hour ``hour`` (unix time // 3600):
    Poisson counts around the audience's daily rhythm, the same for the same seed, key and hour."""
    local_hour = (hour + AUDIENCE_UTC_OFFSET_H) % 24
    rhythm = HOUR_OF_DAY[local_hour] / (sum(HOUR_OF_DAY) / 24)
    rng = random.Random(f"{seed}:members:{key}:{hour}")
    return (
        _poisson(rng, joins_per_day / 24 * rhythm),
        _poisson(rng, leaves_per_day / 24 * rhythm),
    )
