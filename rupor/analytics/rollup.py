"""The daily rollup of the posts' figures (:class:`PostDay`): kept in step by collection, rebuilt
by ``rupor metrics backfill`` and whenever the workspace's time zone changes.

A row holds, for one channel and one local day (the workspace's time zone), the sums and counts
of :data:`rupor.analytics.dashboard.POST_AGG` over the posts published that day, computed by the
very query the dashboards would otherwise run over the posts. Every column is additive, so a
period's figures are the sums of its days' rows (decision 0024).

The heatmap's rollup (:class:`PostHour`) is kept beside it: per workspace, local day and hour,
over all the workspace's channels, rebuilt for the same days (decision 0026).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from django.db import transaction
from django.db.models.functions import ExtractHour, TruncDate

from rupor.accounts import service as accounts
from rupor.analytics import dashboard
from rupor.analytics.models import PostDay, PostDayZone, PostHour, PostStat
from rupor.channels import service as channels
from rupor.core import timezones


def local_days(zone: str, instants: Iterable[dt.datetime]) -> set[dt.date]:
    """The local days (in ``zone``) these instants fall on."""
    tz = timezones.zone(zone)
    return {at.astimezone(tz).date() for at in instants}


def rebuild(
    workspace_id: int,
    channel_ids: Sequence[int] | None = None,
    days: Iterable[dt.date] | None = None,
) -> int:
    """Recompute the rollup rows of a workspace (or of some of its channels, or of the days
    from the first to the last of ``days``) from its posts. Returns how many rows it wrote.

    Rebuilding the whole workspace also records the zone the rows are local to."""
    zone = accounts.workspace_info(workspace_id).timezone
    posts = PostStat.objects.filter(workspace_id=workspace_id)
    old = PostDay.objects.filter(workspace_id=workspace_id)
    if channel_ids is not None:
        posts = posts.filter(channel_id__in=list(channel_ids))
        old = old.filter(channel_id__in=list(channel_ids))
    wanted: list[dt.date] = []
    if days is not None:
        wanted = sorted(set(days))
        if not wanted:
            return 0
        first, after = dashboard.period_bounds(wanted[0], wanted[-1], zone)
        posts = posts.filter(published_at__gte=first, published_at__lt=after)
        old = old.filter(day__gte=wanted[0], day__lte=wanted[-1])
    rows = dashboard.grouped(
        posts.annotate(local_day=TruncDate("published_at", tzinfo=timezones.zone(zone))),
        ["channel_id", "local_day"],
        dashboard.POST_AGG,
    )
    with transaction.atomic():
        old.delete()
        PostDay.objects.bulk_create(
            [
                PostDay(
                    workspace_id=workspace_id,
                    channel_id=row.pop("channel_id"),
                    day=row.pop("local_day"),
                    **{k: (0 if v is None and k in dashboard.COUNTS else v) for k, v in row.items()},
                )
                for row in rows
            ],
            batch_size=2000,
        )
        if channel_ids is None and days is None:
            PostDayZone.objects.update_or_create(workspace_id=workspace_id, defaults={"zone": zone})
        _rebuild_hours(workspace_id, zone, wanted if days is not None else None, channel_ids)
    return len(rows)


def _rebuild_hours(
    workspace_id: int, zone: str, days: Iterable[dt.date] | None, channel_ids: Sequence[int] | None
) -> None:
    """Recompute the workspace's :class:`PostHour` rows (of the days from the first to the last
    of ``days``, or all of them) from its posts, over every channel; ``channel_ids`` (the channels
    whose posts were rewritten) join :attr:`PostDayZone.hour_channels`. Inside the caller's
    transaction."""
    state = PostDayZone.objects.select_for_update().filter(workspace_id=workspace_id).first()
    if state is None or state.zone != zone or (days is not None and state.hour_channels is None):
        return  # never built in this zone: ensure() builds both rollups whole
    posts = PostStat.objects.filter(workspace_id=workspace_id)
    old = PostHour.objects.filter(workspace_id=workspace_id)
    wanted = sorted(set(days)) if days is not None else None
    if wanted is not None:
        if not wanted:
            return
        first, after = dashboard.period_bounds(wanted[0], wanted[-1], zone)
        posts = posts.filter(published_at__gte=first, published_at__lt=after)
        old = old.filter(day__gte=wanted[0], day__lte=wanted[-1])
    tz = timezones.zone(zone)
    rows = dashboard.grouped(
        posts.annotate(
            local_day=TruncDate("published_at", tzinfo=tz), local_hour=ExtractHour("published_at", tzinfo=tz)
        ),
        ["local_day", "local_hour"],
        dashboard.HEAT_AGG,
    )
    old.delete()
    PostHour.objects.bulk_create(
        [
            PostHour(
                workspace_id=workspace_id,
                day=row["local_day"],
                hour=row["local_hour"],
                measured=row["measured"] or 0,
                engagements=(row["engagements"] or 0) + (row["reactions"] or 0),
            )
            for row in rows
            if row["measured"]
        ],
        batch_size=2000,
    )
    if wanted is None:  # all of them: the channels are those the posts are on
        included = set(posts.values_list("channel_id", flat=True).distinct())
    else:
        included = set(state.hour_channels or ()) | set(channel_ids or ())
    state.hour_channels = sorted(included)
    state.save(update_fields=["hour_channels"])


def refresh_posts(workspace_id: int, channel_id: int, published: Iterable[dt.datetime]) -> int:
    """Bring the rollup up to date after collection wrote posts of one channel published at
    these instants (their local days are recomputed)."""
    zone = accounts.workspace_info(workspace_id).timezone
    days = local_days(zone, published)
    if not days:
        return 0
    return rebuild(workspace_id, [channel_id], days)


def ensure(workspace_id: int, zone: str) -> None:
    """Build the workspace's rollups if they were never built or are local to another time zone
    (after an upgrade, or after the workspace's zone changed); rebuild the hourly one when a
    channel whose posts it holds is gone (deleted with its posts)."""
    state = PostDayZone.objects.filter(workspace_id=workspace_id).first()
    if state is None or state.zone != zone:
        rebuild(workspace_id)
    elif state.hour_channels is None or not set(state.hour_channels) <= channels.channel_ids(workspace_id):
        with transaction.atomic():
            _rebuild_hours(workspace_id, zone, None, None)


def hour_channels(workspace_id: int) -> set[int]:
    """The channels whose posts the workspace's :class:`PostHour` rows hold (after :func:`ensure`)."""
    found = (
        PostDayZone.objects.filter(workspace_id=workspace_id).values_list("hour_channels", flat=True).first()
    )
    return set(found or ())
