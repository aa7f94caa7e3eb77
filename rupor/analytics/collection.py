"""Keeping the summary tables in step with the readings (docs/analytics.md, "Collection").

Every reading appended to :class:`PostMetricReading` — polled on the decaying schedule, pushed
by the network (Telegram reaction totals), read on request, or replayed by :func:`backfill` —
goes through :func:`apply_readings`, which updates the post's :class:`PostStat` row from that
**one** reading: counters, and so every rate's numerator and denominator, always come from the
same moment. Channel readings, member events and the network's own daily statistics land in
:class:`ChannelDay` (and the audience breakdowns in :class:`AudienceSnapshot`) through
:func:`apply_channel_metrics` and :func:`refresh_event_days`.

The schedule (:data:`SCHEDULE`): a post is read about 1 h, 6 h, 24 h, 3 d, 7 d and 30 d after
publishing; ``PostStat.next_read_at`` says when next, ``None`` once done (or deleted).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Count, Q

from rupor.analytics import rollup
from rupor.analytics.models import (
    AudienceSnapshot,
    ChannelDay,
    ChannelMetricReading,
    MemberEvent,
    PostMetricReading,
    PostStat,
)
from rupor.core import clock
from rupor.networks.base import ChannelDayStats
from rupor.planning import service as planning
from rupor.publishing import service as publishing

#: When a post is read, counted from its publishing: 1 h, 6 h, 24 h, 3 d, 7 d and 30 d.
SCHEDULE: tuple[dt.timedelta, ...] = (
    dt.timedelta(hours=1),
    dt.timedelta(hours=6),
    dt.timedelta(hours=24),
    dt.timedelta(days=3),
    dt.timedelta(days=7),
    dt.timedelta(days=30),
)
#: A step counts as done when the post was read at more than this share of it (a 6-hour read
#: that came at 5 h 40 min, because the job was busy, is not repeated twenty minutes later).
STEP_DONE = 0.9

#: Networks that deliver every join and leave of a channel to Rupor as events (Telegram sends
#: ``chat_member`` updates to an administrator bot, and Rupor's intake always receives them), so
#: a day without events really had none. Elsewhere joins/leaves come from the network's own
#: statistics, or from events only on channels that have delivered some (a configured webhook).
EVENT_NETWORKS = frozenset({"telegram"})

_COUNTERS = ("likes", "reposts", "comments", "views", "reach")


@dataclass(frozen=True)
class ChannelFacts:
    """The little of a channel collection needs (id, workspace, network)."""

    id: int
    workspace_id: int
    network: str


def next_read_at(published_at: dt.datetime, read_at: dt.datetime | None) -> dt.datetime | None:
    """When a post published at ``published_at`` and last polled at ``read_at`` is read next:
    the first step of :data:`SCHEDULE` not yet done (a step is done once the post was read at
    more than :data:`STEP_DONE` of it); ``None`` after the last."""
    if read_at is None:
        return published_at + SCHEDULE[0]
    age = read_at - published_at
    for step in SCHEDULE:
        if age < step * STEP_DONE:
            return published_at + step
    return None


def engagements(likes: int | None, reposts: int | None, comments: int | None) -> int | None:
    """E = likes + reposts + comments over the counters the network reported (None if none)."""
    parts = [v for v in (likes, reposts, comments) if v is not None]
    return sum(parts) if parts else None


def followers_at(channel_id: int, at: dt.datetime) -> int | None:
    """The channel's member count read at or nearest before ``at``; when none was read before,
    the first one read after (the best figure there is); ``None`` when none was ever read."""
    before = (
        ChannelMetricReading.objects.filter(channel_id=channel_id, read_at__lte=at, members__isnull=False)
        .order_by("-read_at", "-id")
        .values_list("members", flat=True)
        .first()
    )
    if before is not None:
        return before
    return (
        ChannelMetricReading.objects.filter(channel_id=channel_id, members__isnull=False)
        .order_by("read_at", "id")
        .values_list("members", flat=True)
        .first()
    )


# -- posts -----------------------------------------------------------------------------------


def _new_stats(
    channel: ChannelFacts, posts: Sequence[publishing.PublishedPost], *, fallback_at: dt.datetime
) -> list[PostStat]:
    facts = planning.variant_facts([p.variant_id for p in posts])
    rows = []
    for p in posts:
        f = facts.get(p.variant_id)
        published_at = p.published_at or fallback_at
        rows.append(
            PostStat(
                workspace_id=channel.workspace_id,
                channel_id=channel.id,
                remote_post_id=p.remote_id[:200],
                target_id=p.target_id,
                post_id=p.post_id,
                rubric_id=f.rubric_id if f else None,
                content_format=f.content_format if f else PostStat.Format.TEXT,
                text_length=f.text_length if f else 0,
                text_excerpt=f.text_excerpt if f else "",
                url=p.remote_url[:500],
                published_at=published_at,
                followers=followers_at(channel.id, published_at),
                next_read_at=next_read_at(published_at, None),
            )
        )
    return rows


def track_published(channel: ChannelFacts, *, since: dt.datetime | None = None) -> int:
    """Give every post Rupor published on the channel (since ``since``) its :class:`PostStat`
    row, if it has none yet, due for its first read. Returns how many rows were added."""
    return track_posts(channel, publishing.published_posts(channel.id, since=since))


def track_posts(channel: ChannelFacts, posts: Sequence[publishing.PublishedPost]) -> int:
    """:func:`track_published` for posts already read from publishing (the channel's own)."""
    if not posts:
        return 0
    known = set(
        PostStat.objects.filter(
            channel_id=channel.id, remote_post_id__in=[p.remote_id for p in posts]
        ).values_list("remote_post_id", flat=True)
    )
    fresh = [p for p in posts if p.remote_id not in known]
    if not fresh:
        return 0
    rows = _new_stats(channel, fresh, fallback_at=clock.now())
    PostStat.objects.bulk_create(rows, ignore_conflicts=True)
    rollup.refresh_posts(channel.workspace_id, channel.id, [r.published_at for r in rows])
    return len(rows)


def due_posts(channel_id: int, now: dt.datetime, limit: int) -> list[str]:
    """Remote ids of the channel's posts whose next read is due, the most overdue first."""
    return list(
        PostStat.objects.filter(channel_id=channel_id, next_read_at__lte=now, deleted_at__isnull=True)
        .order_by("next_read_at", "id")
        .values_list("remote_post_id", flat=True)[:limit]
    )


def _apply_one(stat: PostStat, r: PostMetricReading) -> None:
    """Update ``stat`` from the reading ``r`` alone (never mixing counters of two readings)."""
    has_counters = any(getattr(r, name) is not None for name in _COUNTERS)
    if has_counters and (stat.read_at is None or r.read_at >= stat.read_at):
        for name in _COUNTERS:
            setattr(stat, name, getattr(r, name))
        report = (r.extra or {}).get("report")
        stat.complaints = int(report) if isinstance(report, int) else None
        stat.read_at = r.read_at
        # Reactions only: the network gave a likes figure (the sum of emoji reactions) and
        # neither reposts nor comments (Telegram), so rates built on it are reaction rates.
        stat.reactions_only = r.likes is not None and r.reposts is None and r.comments is None
    e = engagements(r.likes, r.reposts, r.comments)
    if e is not None:
        age = (r.read_at - stat.published_at).total_seconds() / 3600
        if stat.age_24h_hours is None or abs(age - 24) < abs(stat.age_24h_hours - 24):
            stat.engagements_24h = e
            stat.age_24h_hours = round(age, 3)


_STAT_FIELDS = [
    *_COUNTERS,
    "complaints",
    "read_at",
    "reactions_only",
    "engagements_24h",
    "age_24h_hours",
    "readings",
    "next_read_at",
    "followers",
]


def apply_readings(
    channel: ChannelFacts, readings: Sequence[PostMetricReading], *, schedule: bool = True
) -> int:
    """Bring the :class:`PostStat` rows of these (just appended) readings up to date.

    Each reading updates its post's row on its own: the counters are replaced by the reading's
    when it is the newest with any counter; ``engagements_24h`` follows the reading nearest 24
    hours of age; ``readings`` is recounted from the table (so two writers never lose a count);
    a polled reading (``schedule``) moves ``next_read_at`` on. A post Rupor did not publish
    (or published before its row existed) gets a row first. Returns how many rows changed.
    """
    if not readings:
        return 0
    ids = sorted({r.remote_post_id for r in readings})
    stats = {
        s.remote_post_id: s for s in PostStat.objects.filter(channel_id=channel.id, remote_post_id__in=ids)
    }
    missing = [i for i in ids if i not in stats]
    if missing:
        posts = []
        for remote in missing:
            found = publishing.find_published(channel.id, remote)
            first = min(r.read_at for r in readings if r.remote_post_id == remote)
            posts.append(
                found
                if found is not None and found.remote_id == remote
                else publishing.PublishedPost(
                    target_id=found.target_id if found else 0,
                    post_id=found.post_id if found else 0,
                    variant_id=found.variant_id if found else 0,
                    channel_id=channel.id,
                    remote_id=remote,
                    published_at=found.published_at if found else first,
                    remote_url=found.remote_url if found else "",
                )
            )
        rows = _new_stats(channel, posts, fallback_at=min(r.read_at for r in readings))
        for row in rows:
            if not row.target_id:
                row.target_id = row.post_id = None
        PostStat.objects.bulk_create(rows, ignore_conflicts=True)
        stats = {
            s.remote_post_id: s
            for s in PostStat.objects.filter(channel_id=channel.id, remote_post_id__in=ids)
        }
    counts = dict(
        PostMetricReading.objects.filter(channel_id=channel.id, remote_post_id__in=ids)
        .values("remote_post_id")
        .annotate(n=Count("id"))
        .values_list("remote_post_id", "n")
    )
    for r in sorted(readings, key=lambda r: (r.read_at, r.pk or 0)):
        stat = stats.get(r.remote_post_id)
        if stat is None:
            continue
        _apply_one(stat, r)
        if schedule and r.source == "poll" and stat.deleted_at is None:
            stat.next_read_at = next_read_at(stat.published_at, r.read_at)
    for stat in stats.values():
        stat.readings = counts.get(stat.remote_post_id, 0)
        if stat.followers is None:
            stat.followers = followers_at(channel.id, stat.published_at)
    PostStat.objects.bulk_update(list(stats.values()), _STAT_FIELDS, batch_size=500)
    rollup.refresh_posts(channel.workspace_id, channel.id, [s.published_at for s in stats.values()])
    return len(stats)


def mark_deleted(channel_id: int, remote_ids: Iterable[str], at: dt.datetime) -> int:
    """The network no longer has these posts: mark their rows deleted and stop reading them.
    Their figures stay as last read (the post existed and was seen)."""
    ids = list(remote_ids)
    if not ids:
        return 0
    live = PostStat.objects.filter(channel_id=channel_id, remote_post_id__in=ids, deleted_at__isnull=True)
    touched = list(live.values_list("workspace_id", "published_at"))
    count = live.update(deleted_at=at, next_read_at=None)
    if touched:
        rollup.refresh_posts(touched[0][0], channel_id, [published for _ws, published in touched])
    return count


# -- channels --------------------------------------------------------------------------------


def _event_counts(channel_id: int, days: Sequence[dt.date]) -> dict[dt.date, tuple[int, int]]:
    out: dict[dt.date, tuple[int, int]] = {}
    for day in days:
        start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        agg = MemberEvent.objects.filter(
            channel_id=channel_id, occurred_at__gte=start, occurred_at__lt=start + dt.timedelta(days=1)
        ).aggregate(
            joins=Count("id", filter=Q(kind=MemberEvent.Kind.JOIN)),
            leaves=Count("id", filter=Q(kind=MemberEvent.Kind.LEAVE)),
        )
        out[day] = (int(agg["joins"] or 0), int(agg["leaves"] or 0))
    return out


def counts_events(channel: ChannelFacts) -> bool:
    """Whether a day's member events on this channel are all its joins and leaves: the network
    delivers them to Rupor (:data:`EVENT_NETWORKS`), or the channel has delivered some."""
    return channel.network in EVENT_NETWORKS or MemberEvent.objects.filter(channel_id=channel.id).exists()


def _day_row(channel: ChannelFacts, day: dt.date) -> ChannelDay:
    row = ChannelDay.objects.filter(channel_id=channel.id, day=day).first()
    if row is not None:
        return row
    try:
        with transaction.atomic():
            return ChannelDay.objects.create(
                workspace_id=channel.workspace_id, channel_id=channel.id, day=day
            )
    except IntegrityError:  # another writer created it meanwhile
        return ChannelDay.objects.get(channel_id=channel.id, day=day)


def refresh_event_days(channel: ChannelFacts, days: Iterable[dt.date]) -> None:
    """Recount joins and leaves of these days from member events, on days the network's own
    statistics did not give them (``source`` "stats" wins)."""
    wanted = sorted(set(days))
    if not wanted or not counts_events(channel):
        return
    counts = _event_counts(channel.id, wanted)
    for day in wanted:
        row = _day_row(channel, day)
        if row.source == "stats":
            continue
        row.joins, row.leaves = counts[day]
        row.source = "events"
        row.updated_at = clock.now()
        row.save(update_fields=["joins", "leaves", "source", "updated_at"])


def apply_channel_metrics(
    channel: ChannelFacts,
    *,
    read_at: dt.datetime,
    members: int | None,
    days: Sequence[ChannelDayStats] = (),
) -> None:
    """Write what one channel reading told into :class:`ChannelDay` (and the audience).

    The reading's day gets its member count (the latest read that day). Each day the network's
    statistics cover gets joins, leaves, reach and views from them (``source`` "stats") and its
    audience breakdowns; a day they do not cover gets joins/leaves counted from events where
    events tell them all, else stays ``None``.
    """
    today = read_at.astimezone(dt.UTC).date()
    row = _day_row(channel, today)
    if members is not None:
        row.members = members
    row.updated_at = clock.now()
    row.save(update_fields=["members", "updated_at"])
    covered = set()
    for d in days:
        covered.add(d.day)
        day = _day_row(channel, d.day)
        if d.joins is not None or d.leaves is not None:
            day.joins, day.leaves, day.source = d.joins, d.leaves, "stats"
        day.reach = d.reach if d.reach is not None else day.reach
        day.views = d.views if d.views is not None else day.views
        day.updated_at = clock.now()
        day.save(update_fields=["joins", "leaves", "source", "reach", "views", "updated_at"])
        if d.audience:
            store_audience(channel, d)
    if today not in covered:
        refresh_event_days(channel, [today])
    if members is not None:
        fill_followers(channel)


def fill_followers(channel: ChannelFacts) -> int:
    """Give posts still being read that have no follower count yet (published before the
    channel's first member count) the count nearest their publishing."""
    rows = list(
        PostStat.objects.filter(
            channel_id=channel.id, followers__isnull=True, next_read_at__isnull=False
        ).only("id", "published_at")[:1000]
    )
    for row in rows:
        row.followers = followers_at(channel.id, row.published_at)
    filled = [r for r in rows if r.followers is not None]
    PostStat.objects.bulk_update(filled, ["followers"], batch_size=500)
    rollup.refresh_posts(channel.workspace_id, channel.id, [r.published_at for r in filled])
    return len(rows)


def store_audience(channel: ChannelFacts, day: ChannelDayStats) -> int:
    """Replace the channel's audience rows of that day with the network's latest breakdown."""
    rows = {
        (a.basis, a.dimension, a.key): AudienceSnapshot(
            workspace_id=channel.workspace_id,
            channel_id=channel.id,
            day=day.day,
            basis=a.basis[:16],
            dimension=a.dimension[:16],
            key=a.key[:100],
            label=a.label[:100],
            count=a.count,
        )
        for a in day.audience
    }
    with transaction.atomic():
        AudienceSnapshot.objects.filter(channel_id=channel.id, day=day.day).delete()
        AudienceSnapshot.objects.bulk_create(list(rows.values()))
    return len(rows)


# -- backfill --------------------------------------------------------------------------------


def backfill(channels: Iterable[ChannelFacts]) -> tuple[int, int]:
    """Rebuild PostStat and ChannelDay from the readings already stored (after an upgrade, or to
    repair): every published post gets its row, every reading is applied in order, and every
    channel reading and member-event day lands in ChannelDay. Safe to run again (it recomputes
    the same rows). Returns (post rows, channel days) touched."""
    posts = days = 0
    for channel in channels:
        track_published(channel)
        ids = list(
            PostMetricReading.objects.filter(channel_id=channel.id)
            .values_list("remote_post_id", flat=True)
            .distinct()
        )
        for start in range(0, len(ids), 200):
            chunk = ids[start : start + 200]
            PostStat.objects.filter(channel_id=channel.id, remote_post_id__in=chunk).update(
                read_at=None, engagements_24h=None, age_24h_hours=None
            )
            readings = list(
                PostMetricReading.objects.filter(channel_id=channel.id, remote_post_id__in=chunk).order_by(
                    "read_at", "id"
                )
            )
            posts += apply_readings(channel, readings)
        seen: set[dt.date] = set()
        for r in ChannelMetricReading.objects.filter(channel_id=channel.id, source="poll").order_by(
            "read_at", "id"
        ):
            apply_channel_metrics(channel, read_at=r.read_at, members=r.members)
            day = r.read_at.astimezone(dt.UTC).date()
            if r.joins is not None and r.leaves is not None and channel.network not in EVENT_NETWORKS:
                # The network's own daily statistics, stored with the reading (VK stats.get).
                ChannelDay.objects.filter(channel_id=channel.id, day=day).update(
                    joins=r.joins, leaves=r.leaves, source="stats"
                )
            seen.add(day)
        event_days = {
            at.astimezone(dt.UTC).date()
            for at in MemberEvent.objects.filter(channel_id=channel.id).values_list("occurred_at", flat=True)
        }
        refresh_event_days(channel, event_days | (seen if channel.network in EVENT_NETWORKS else set()))
        days += len(seen | event_days)
    return posts, days
