"""The inbox's alerts, which the worker checks with its periodic jobs (``run_alerts``).

- **Waiting**: a negative or complaint item that nobody answered for longer than the workspace's
  threshold (business time when it sets business hours). Once per item: the item remembers
  when its alert went out.
- **Negativity spike**: per channel, the count of negative and complaint items in a clock hour
  against the same hour of day over the previous ``BASELINE_DAYS`` days (so an evening peak that
  comes every day is no spike). The score is ``(count - mean) / max(sd, sqrt(mean), SD_FLOOR)``
  (a Poisson floor for quiet channels; the detector of :mod:`rupor.core.spikes`, which the
  keyword trend alerts of :mod:`rupor.inbox.trends` share); an hour with at least ``MIN_COUNT`` items and a score of
  ``Z_ALERT`` or more is a spike. Each such hour is stored once; only the first hour of a run of
  them alerts, so a spike that lasts three hours is one alert.

The hour being checked is the current one (counts only grow, so a spike shows before the hour
ends) and the one before (items the triage labelled after their hour was over).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils.translation import gettext as _

from rupor.channels import service as channels
from rupor.core import clock, spikes, timezones
from rupor.inbox import response
from rupor.inbox.business_time import elapsed_seconds
from rupor.inbox.models import InboxItem, ItemStatus, NegativitySpike
from rupor.notifications import service as notifications

log = logging.getLogger(__name__)

WAITING_EVENT = "inbox_waiting"
SPIKE_EVENT = "inbox_spike"

#: Items Rupor learned of this long after they were written (the first read of a newly
#: connected channel brings two weeks of comments) raise no waiting alert.
BACKFILL = dt.timedelta(days=1)
#: Items older than this are no longer checked for a waiting alert.
LOOKBACK = dt.timedelta(days=14)
#: At most this many waiting alerts go out per workspace per pass (the rest at the next pass).
MAX_WAITING_PER_PASS = 50

BASELINE_DAYS = 14
MIN_COUNT = 5
Z_ALERT = 3.0
SD_FLOOR = 1.0


def _excerpt(text: str, limit: int = 140) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- waiting -------------------------------------------------------------------------------


def _candidates(now: dt.datetime) -> Iterable[InboxItem]:
    return (
        response.needing_answer_all()
        .filter(
            label__in=response.ALERT_LABELS,
            status__in=(ItemStatus.NEW, ItemStatus.IN_PROGRESS),
            first_response_at__isnull=True,
            wait_alerted_at__isnull=True,
            occurred_at__gte=now - LOOKBACK,
        )
        .select_related("channel")
        .order_by("workspace_id", "occurred_at")
    )


def check_waiting(now: dt.datetime) -> int:
    """Alert about each negative or complaint item waiting longer than its workspace allows."""
    sent = 0
    per_workspace: dict[int, int] = {}
    settings: dict[int, response.Settings] = {}
    for item in _candidates(now):
        ws = item.workspace_id
        if ws not in settings:
            settings[ws] = response.settings_for(ws)
        chosen = settings[ws]
        limit = chosen.alert_after_minutes * 60
        if not limit or per_workspace.get(ws, 0) >= MAX_WAITING_PER_PASS:
            continue
        if item.received_at - item.occurred_at > BACKFILL:
            continue
        if (now - item.occurred_at).total_seconds() < limit:
            continue  # business time is never longer than wall-clock time
        if elapsed_seconds(chosen.schedule, item.occurred_at, now) < limit:
            continue
        with transaction.atomic():
            if not InboxItem.objects.filter(pk=item.pk, wait_alerted_at__isnull=True).update(
                wait_alerted_at=now
            ):
                continue  # another worker sent it
            body = _("%(channel)s, %(author)s: “%(text)s” — no answer for %(minutes)s min.") % {
                "channel": item.channel.name,
                "author": item.author_name or item.author_remote_id,
                "text": _excerpt(item.text),
                "minutes": int((now - item.occurred_at).total_seconds() // 60),
            }
            notifications.notify_event(
                ws,
                WAITING_EVENT,
                body,
                target_id=item.pk,
                channel_id=item.channel_id,
                link=f"/inbox/{item.pk}/",
                user_ids=response.alert_recipients(ws),
            )
        per_workspace[ws] = per_workspace.get(ws, 0) + 1
        sent += 1
    return sent


# -- spikes --------------------------------------------------------------------------------


def score(count: int, history: Sequence[int]) -> spikes.Score:
    """How far ``count`` stands above ``history`` (the same hour on earlier days): the shared
    detector of :mod:`rupor.core.spikes` with this alert's floor."""
    return spikes.score(count, history, sd_floor=SD_FLOOR)


def is_spike(found: spikes.Score) -> bool:
    return found.spike(min_count=MIN_COUNT, z_alert=Z_ALERT)


def channel_score(channel_id: int, hour: dt.datetime, zone: str, now: dt.datetime) -> spikes.Score:
    """The negative items of the channel in ``hour`` against the same hour of the previous
    :data:`BASELINE_DAYS` days (the daily cycle removed)."""
    starts = spikes.same_hours(hour, zone, BASELINE_DAYS)
    times = list(
        response.negative_items(channel_id)
        .filter(occurred_at__gte=min(starts), occurred_at__lte=now)
        .values_list("occurred_at", flat=True)
    )
    return spikes.score_hour(
        times, hour, zone, days=BASELINE_DAYS, until=now + dt.timedelta(seconds=1), sd_floor=SD_FLOOR
    )


def check_spikes(now: dt.datetime) -> int:
    """Store each spiking hour of each channel once; alert at the first hour of a spike."""
    current = spikes.hour_of(now)
    hours = (current - dt.timedelta(hours=1), current)
    busy = (
        response.negative_all()
        .filter(occurred_at__gte=hours[0], occurred_at__lte=now)
        .values("channel_id", "workspace_id")
        .annotate(n=Count("id"))
        .filter(n__gte=MIN_COUNT)
    )
    sent = 0
    settings: dict[int, response.Settings] = {}
    for row in busy:
        ws, channel_id = row["workspace_id"], row["channel_id"]
        if ws not in settings:
            settings[ws] = response.settings_for(ws)
        if not settings[ws].spike_alerts:
            continue
        for hour in hours:
            if NegativitySpike.objects.filter(channel_id=channel_id, hour_start=hour).exists():
                continue
            found = channel_score(channel_id, hour, settings[ws].zone, now)
            if is_spike(found) and _record_spike(ws, channel_id, hour, found, settings[ws].zone):
                sent += 1
    return sent


def _record_spike(ws: int, channel_id: int, hour: dt.datetime, found: spikes.Score, zone: str) -> bool:
    """Store the spiking hour; alert when the hour before was not already part of the spike."""
    continues = NegativitySpike.objects.filter(
        channel_id=channel_id, hour_start=hour - dt.timedelta(hours=1)
    ).exists()
    try:
        with transaction.atomic():
            NegativitySpike.objects.create(
                workspace_id=ws,
                channel_id=channel_id,
                hour_start=hour,
                count=found.count,
                baseline=found.mean,
                score=found.z,
                notified=not continues,
                created_at=clock.now(),
            )
            if continues:
                return False
            channel = channels.find_channel(channel_id, removed_too=True)
            local = timezones.to_local(hour, zone)
            body = _(
                "%(channel)s: %(count)s negative comments and messages in the hour from %(hour)s; "
                "usually %(mean)s at this hour."
            ) % {
                "channel": channel.name if channel else f"#{channel_id}",
                "count": found.count,
                "hour": f"{local:%Y-%m-%d %H:%M}",
                "mean": f"{found.mean:.1f}",
            }
            notifications.notify_event(
                ws,
                SPIKE_EVENT,
                body,
                channel_id=channel_id,
                link=f"/inbox/?channel={channel_id}&label=negative",
                user_ids=response.alert_recipients(ws),
            )
    except IntegrityError:
        return False  # another worker stored this hour first
    return True


def run_alerts(now: dt.datetime) -> int:
    """The worker's periodic job: both checks; how many alerts went out."""
    return check_waiting(now) + check_spikes(now)
