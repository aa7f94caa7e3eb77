"""Best time to post: a channel's 168 hours of the week ranked from its own history.

The method (docs/analytics.md, "Best time to post"), step by step:

1. **Outcome at a fixed age.** Each post's engagements about 24 hours after publishing
   (``PostStat.engagements_24h``, read between :data:`MIN_AGE_HOURS` and :data:`MAX_AGE_HOURS`
   old), so an old post's extra days do not count; posts without that reading are left out.
2. **Standardised per channel.** Each post's figure divided by the channel's median (its
   mean if the median is 0): 1.0 is a typical post of *this* channel, so a big and a small
   channel read on the same scale.
3. **168 slots** (weekday x hour) in the workspace's time zone.
4. **Shrinkage** (empirical Bayes / credibility weighting): a slot with ``n`` posts whose mean
   ratio is ``r̄`` is estimated as ``(n·r̄ + k·prior) / (n + k)``; the prior is the hour of
   day's own shrunk mean (``(n_h·r̄_h + k·μ) / (n_h + k)``, ``μ`` the channel's mean ratio). With
   few posts a slot stays near its hour's and the channel's average; with many it speaks for
   itself.
5. **Smoothing** across neighbouring hours on the week's ring (Sunday 23:00 is next to
   Monday 00:00): ``¼·previous + ½·slot + ¼·next``.
6. **Evidence**: every slot carries how many posts back it; the best slots are taken only
   among hours with posts scoring above the channel's mean, never two neighbouring hours, and no
   ranking is given below :data:`MIN_POSTS` posts.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _

from rupor.accounts import service as accounts
from rupor.accounts.roles import Perm
from rupor.accounts.service import Actor
from rupor.analytics.models import PostStat
from rupor.channels import service as channels
from rupor.core import clock
from rupor.core.errors import DomainError
from rupor.core.timezones import zone
from rupor.planning import service as planning

#: Credibility constant k: a slot's own mean gets weight n / (n + k).
K = 3.0
#: The smoothing kernel over (previous hour, the hour, next hour).
KERNEL = (0.25, 0.5, 0.25)
#: A "24-hour" reading counts when the post was this many hours old (the collector reads on a
#: decaying schedule, so the reading nearest 24 h may be early or late).
MIN_AGE_HOURS = 18.0
MAX_AGE_HOURS = 36.0
#: History looked at by default, in weeks.
DEFAULT_WEEKS = 26
#: Below this many posts nothing is ranked; below :data:`OK_POSTS` the ranking is "thin".
MIN_POSTS = 8
OK_POSTS = 28
#: How many best slots are listed (and offered to the queue).
TOP = 5
HOURS = 168


class BestTimeError(DomainError):
    """A best-time request refused (no such channel, a role that may not, a bad number)."""


@dataclass(frozen=True)
class Slot:
    weekday: int  # Monday = 0, in the workspace's time zone
    hour: int
    posts: int  # posts published in this hour of the week
    mean: float | None  # their mean ratio to the channel's median (None: no posts)
    prior: float  # the hour of day's shrunk mean, which the slot is pulled toward
    shrunk: float
    score: float  # shrunk, then smoothed across neighbouring hours
    nearby: int  # posts in this hour and its two neighbours (what the smoothed score rests on)

    @property
    def index(self) -> int:
        return self.weekday * 24 + self.hour


@dataclass(frozen=True)
class Estimate:
    """The pure result over a set of (published at, engagements at 24 h) samples."""

    posts: int
    typical: float  # the median engagements at 24 h (the mean where the median is 0)
    mean_ratio: float  # μ: the channel's mean ratio (the overall prior)
    k: float
    signal: str  # "none" (too few posts to rank), "thin", "ok"
    slots: list[Slot]  # 168, Monday 00:00 first
    top: list[Slot]


@dataclass(frozen=True)
class BestTime:
    channel_id: int
    channel_name: str
    network: str
    timezone: str
    weeks: int
    skipped: int  # posts in the period without a reading near 24 h (left out)
    estimate: Estimate


def hour_of_week(instant: dt.datetime, tz_name: str) -> int:
    """0..167: Monday 00:00-00:59 local is 0, Sunday 23:00-23:59 is 167."""
    local = instant.astimezone(zone(tz_name))
    return local.weekday() * 24 + local.hour


def shrink(total: float, n: int, prior: float, k: float) -> float:
    """Credibility-weighted mean: ``(total + k·prior) / (n + k)`` with ``total`` the sum of n values."""
    return (total + k * prior) / (n + k)


def smooth_circular(values: Sequence[float], kernel: Sequence[float] = KERNEL) -> list[float]:
    """Each value replaced by the kernel's weighted sum of it and its neighbours, the ends joined."""
    size = len(values)
    half = len(kernel) // 2
    return [sum(w * values[(i + j - half) % size] for j, w in enumerate(kernel)) for i in range(size)]


def estimate(samples: Sequence[tuple[dt.datetime, int]], tz_name: str, k: float = K) -> Estimate:
    """Score the 168 hours of the week from (published at, engagements at 24 h) samples."""
    values = [max(0, e) for _t, e in samples]
    typical = float(statistics.median(values)) if values else 0.0
    if typical <= 0 and values:
        typical = statistics.fmean(values)
    ratios = [v / typical if typical > 0 else 1.0 for v in values]
    mu = statistics.fmean(ratios) if ratios else 1.0
    slot_n = [0] * HOURS
    slot_sum = [0.0] * HOURS
    for (published, _e), ratio in zip(samples, ratios, strict=True):
        s = hour_of_week(published, tz_name)
        slot_n[s] += 1
        slot_sum[s] += ratio
    hour_n = [sum(slot_n[d * 24 + h] for d in range(7)) for h in range(24)]
    hour_sum = [sum(slot_sum[d * 24 + h] for d in range(7)) for h in range(24)]
    hour_prior = [shrink(hour_sum[h], hour_n[h], mu, k) for h in range(24)]
    shrunk = [shrink(slot_sum[s], slot_n[s], hour_prior[s % 24], k) for s in range(HOURS)]
    smoothed = smooth_circular(shrunk)
    slots = [
        Slot(
            weekday=s // 24,
            hour=s % 24,
            posts=slot_n[s],
            mean=slot_sum[s] / slot_n[s] if slot_n[s] else None,
            prior=hour_prior[s % 24],
            shrunk=shrunk[s],
            score=smoothed[s],
            nearby=slot_n[(s - 1) % HOURS] + slot_n[s] + slot_n[(s + 1) % HOURS],
        )
        for s in range(HOURS)
    ]
    n = len(samples)
    signal = "none" if n < MIN_POSTS else ("thin" if n < OK_POSTS else "ok")
    return Estimate(n, typical, mu, k, signal, slots, [] if signal == "none" else best_slots(slots, mu))


def best_slots(slots: Sequence[Slot], mean: float, count: int = TOP) -> list[Slot]:
    """The highest scores above the channel's mean among hours that have posts, never two
    neighbouring hours (an hour below the average is no "best" hour, however few others there are)."""
    ranked = sorted(
        (s for s in slots if s.posts and s.score > mean), key=lambda s: (-s.score, -s.posts, s.index)
    )
    picked: list[Slot] = []
    taken: set[int] = set()
    for slot in ranked:
        if slot.index in taken:
            continue
        picked.append(slot)
        taken.update({(slot.index - 1) % HOURS, slot.index, (slot.index + 1) % HOURS})
        if len(picked) == count:
            break
    return picked


def _channel(actor: Actor, channel_id: int) -> channels.ChannelRef:
    channel = channels.find_channel(channel_id)
    if channel is None or channel.workspace_id != actor.workspace_id:
        raise BestTimeError(_("No such channel."), "channel_id", 404)
    return channel


def best_time(actor: Actor, channel_id: int, weeks: int = DEFAULT_WEEKS) -> BestTime:
    """The channel's best hours of the week from its posts of the last ``weeks`` weeks."""
    if not actor.can(Perm.ANALYTICS_VIEW):
        raise BestTimeError(_("Your role does not allow seeing analytics."), status=403)
    if not 1 <= weeks <= 104:
        raise BestTimeError(_("The period is 1 to 104 weeks."), "weeks")
    channel = _channel(actor, channel_id)
    tz_name = accounts.workspace_info(actor.workspace_id).timezone
    since = clock.now() - dt.timedelta(weeks=weeks)
    rows = PostStat.objects.filter(
        workspace_id=actor.workspace_id,
        channel_id=channel.id,
        published_at__gte=since,
        deleted_at__isnull=True,
    ).values_list("published_at", "engagements_24h", "age_24h_hours")
    samples: list[tuple[dt.datetime, int]] = []
    skipped = 0
    for published, engagements, age in rows.iterator():
        if engagements is None or age is None or not MIN_AGE_HOURS <= age <= MAX_AGE_HOURS:
            skipped += 1
            continue
        samples.append((published, engagements))
    return BestTime(
        channel.id, channel.name, channel.network, tz_name, weeks, skipped, estimate(samples, tz_name)
    )


@dataclass(frozen=True)
class Applied:
    channel_id: int
    added: list[tuple[int, dt.time]]
    existing: list[tuple[int, dt.time]]


def apply_best_time(actor: Actor, channel_id: int, count: int = TOP, weeks: int = DEFAULT_WEEKS) -> Applied:
    """Turn the channel's ``count`` best hours into weekly queue slots (at the top of the hour),
    keeping slots it already has. Needs the role that edits the queue."""
    if not actor.can(Perm.POSTS_PUBLISH):
        raise BestTimeError(_("Your role does not allow changing the queue."), status=403)
    if not 1 <= count <= TOP:
        raise BestTimeError(_("Choose 1 to %(n)d slots.") % {"n": TOP}, "count")
    result = best_time(actor, channel_id, weeks)
    if not result.estimate.top:
        raise BestTimeError(
            _("Too few posts with a 24-hour reading to pick times (%(n)d; at least %(min)d needed).")
            % {"n": result.estimate.posts, "min": MIN_POSTS},
            status=422,
        )
    wanted = [(s.weekday, dt.time(s.hour)) for s in result.estimate.top[:count]]
    done = planning.add_queue_slots(actor, channel_id, wanted)
    return Applied(done.channel_id, done.added, done.existing)
