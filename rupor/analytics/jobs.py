"""The periodic job of the analytics domain (the worker calls :func:`run_due`)."""

from __future__ import annotations

import datetime as dt
import logging

from django.db.models import Max

from rupor.analytics import service
from rupor.analytics.models import ChannelMetricReading, PostMetricReading
from rupor.channels import service as channels
from rupor.channels.models import Channel
from rupor.networks import errors, registry
from rupor.networks.base import Capability

log = logging.getLogger(__name__)

#: How often each channel and its recent posts are measured.
INTERVAL = dt.timedelta(hours=1)


def run_due(now: dt.datetime, *, interval: dt.timedelta = INTERVAL) -> int:
    """Measure every active channel whose last reading is older than ``interval``.

    Returns how many channels were measured. A network failure is logged and the channel is
    tried again at the next interval; expired credentials put the channel on "reconnect".
    """
    available = set(registry.available())
    cutoff = now - interval
    done = 0
    live = Channel.live.filter(status=Channel.Status.ACTIVE, network__in=available).order_by("id")
    last_channel = dict(ChannelMetricReading.objects.filter(source="poll").values("channel_id")
                        .annotate(at=Max("read_at")).values_list("channel_id", "at"))
    last_post = dict(PostMetricReading.objects.filter(source="poll").values("channel_id")
                     .annotate(at=Max("read_at")).values_list("channel_id", "at"))
    for channel in live:
        caps = registry.adapter(channel.network).capabilities
        due_channel = Capability.CHANNEL_METRICS in caps and (last_channel.get(channel.pk) or dt.datetime.min.replace(tzinfo=dt.UTC)) < cutoff
        due_posts = Capability.POST_METRICS in caps and (last_post.get(channel.pk) or dt.datetime.min.replace(tzinfo=dt.UTC)) < cutoff
        if not (due_channel or due_posts):
            continue
        try:
            if due_channel:
                service.collect_channel_metrics(channel.pk)
            if due_posts:
                service.collect_post_metrics(channel.pk)
            done += 1
        except service.AnalyticsError as exc:
            log.warning("measuring channel %s failed: %s", channel.pk, exc.message)
            cause = exc.__cause__
            if isinstance(cause, errors.AuthExpired):
                channels.needs_reconnect(channel.pk, cause.message)
    return done
