"""The periodic job of the analytics domain (the worker calls :func:`run_due`).

Collection (docs/analytics.md, "Collection"):

* **Posts** are read on a decaying schedule — about 1 h, 6 h, 24 h, 3 d, 7 d and 30 d after
  publishing (:data:`rupor.analytics.collection.SCHEDULE`), each post's next read kept in
  ``PostStat.next_read_at``. Each run reads, per channel, the posts due (up to
  :data:`BATCH`, the most overdue first) in one adapter call.
* **Channels** are read every :data:`CHANNEL_INTERVAL` (members; VK's daily statistics of
  yesterday and today with joins, leaves, reach, views and audience), so every day has a
  row written late in it.
* **Quota**: before reading a channel the job asks publishing for room
  (:func:`rupor.publishing.service.collection_room`): nothing while a post on the channel is
  publishing or due within 15 minutes, and only when the channel's rate-limit buckets have been
  left idle by publishing for a while; otherwise the channel waits for the next run (deferred,
  not failed).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict

from django.db.models import Max
from django.utils.translation import gettext as _

from rupor.analytics import collection, service
from rupor.analytics.collection import ChannelFacts
from rupor.analytics.models import ChannelMetricReading, PostStat
from rupor.channels import service as channels
from rupor.core.errors import DomainError
from rupor.core.logging import fields
from rupor.networks import errors, registry
from rupor.networks.base import Capability
from rupor.publishing import service as publishing

log = logging.getLogger(__name__)

#: How often the job looks for due work (the worker's period for it); a channel that failed is
#: not tried again within this time.
INTERVAL = dt.timedelta(hours=1)
#: How often a channel's own figures are read.
CHANNEL_INTERVAL = dt.timedelta(hours=6)
#: At most this many due posts of one channel are read per run (one adapter call).
BATCH = 100
#: Posts published this long ago or less get their PostStat row when the channel is read.
TRACK_DAYS = 31
#: Posts published this recently get their PostStat row at every run.
NEW_POSTS = dt.timedelta(hours=2)

#: The name this job records its failures under (``Channel.last_error_job``).
JOB = "metrics"


def _due(
    channel: ChannelFacts,
    now: dt.datetime,
    last_read: dt.datetime | None,
    fresh: list[publishing.PublishedPost],
    with_due: set[int],
) -> tuple[bool, list[str]]:
    """Whether the channel's own figures are due, and which of its posts are (tracking its new
    posts first)."""
    caps = registry.adapter(channel.network).capabilities
    never = dt.datetime.min.replace(tzinfo=dt.UTC)
    channel_due = Capability.CHANNEL_METRICS in caps and (last_read or never) <= now - CHANNEL_INTERVAL
    due: list[str] = []
    if Capability.POST_METRICS in caps:
        if channel_due:
            collection.track_published(channel, since=now - dt.timedelta(days=TRACK_DAYS))
        elif fresh and collection.track_posts(channel, fresh):
            with_due.add(channel.id)
        if channel.id in with_due or channel_due:
            due = collection.due_posts(channel.id, now, BATCH)
    return channel_due, due


def run_due(now: dt.datetime, *, interval: dt.timedelta = INTERVAL) -> int:
    """Read what is due on every active channel: the channel's own figures every
    :data:`CHANNEL_INTERVAL`, and the posts whose scheduled read has come.

    Returns how many channels were read. A channel that fails, for whatever reason (the
    network refused or answered garbage, its stored settings are broken), gets the reason
    recorded on it for people to see and is tried again after ``interval``; the other channels
    are read all the same. Expired credentials put the channel on "reconnect"; a success clears
    the recorded failure. A channel without room in its rate limit is simply left for the next
    run.
    """
    available = set(registry.available())
    cutoff = now - interval
    done = 0
    live = channels.active_channels(available)
    last_channel = dict(
        ChannelMetricReading.objects.filter(source="poll")
        .values("channel_id")
        .annotate(at=Max("read_at"))
        .values_list("channel_id", "at")
    )
    # New posts get their rows within their first hour (the first read is due at 1 h); a full
    # sweep of the last TRACK_DAYS runs whenever the channel itself is read.
    fresh: dict[int, list[publishing.PublishedPost]] = defaultdict(list)
    for post in publishing.recently_published(now - NEW_POSTS):
        fresh[post.channel_id].append(post)
    with_due = set(
        PostStat.objects.filter(next_read_at__lte=now, deleted_at__isnull=True)
        .values_list("channel_id", flat=True)
        .distinct()
    )
    for channel in live:
        if (
            channel.last_error_job == JOB
            and channel.last_error_at is not None
            and channel.last_error_at >= cutoff
        ):
            continue  # failed within the interval: not again before the next one
        facts = ChannelFacts(id=channel.id, workspace_id=channel.workspace_id, network=channel.network)
        try:
            channel_due, due = _due(
                facts, now, last_channel.get(channel.id), fresh.get(channel.id, []), with_due
            )
            if not (channel_due or due):
                continue
            room = publishing.collection_room(channel.id, now=now)
            if not room.ok:
                log.info(
                    "channel %s: reading deferred (%s)",
                    channel.id,
                    room.reason,
                    extra=fields(
                        "analytics.collect", channel_id=channel.id, workspace_id=channel.workspace_id
                    ),
                )
                continue
            if channel_due:
                service.collect_channel_metrics(channel.id)
            if due:
                service.collect_post_metrics(channel.id, remote_ids=due)
            done += 1
        except DomainError as exc:
            log.warning(
                "measuring channel %s failed: %s",
                channel.id,
                exc.message,
                extra=fields("analytics.collect", channel_id=channel.id, workspace_id=channel.workspace_id),
            )
            channels.record_job_error(channel.id, JOB, exc.message)
            cause = exc.__cause__
            if isinstance(cause, errors.AuthExpired):
                channels.needs_reconnect(channel.id, cause.message)
        except Exception as exc:
            # One channel's unexpected failure never stops the others.
            log.exception(
                "measuring channel %s failed unexpectedly",
                channel.id,
                extra=fields("analytics.collect", channel_id=channel.id, workspace_id=channel.workspace_id),
            )
            channels.record_job_error(
                channel.id,
                JOB,
                _("Collecting statistics failed unexpectedly (%(kind)s); see the server log.")
                % {"kind": type(exc).__name__},
            )
        else:
            channels.clear_job_error(channel.id, JOB)
    for channel in live:
        # Keyword polls counted from the comments; Telegram polls stopped at their closing time.
        try:
            service.collect_polls(channel.id)
        except Exception:
            # A poll that cannot be counted now is counted at the next run; nothing else waits.
            log.exception("counting the polls of channel %s failed", channel.id)
    return done
