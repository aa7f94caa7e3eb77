"""The periodic job of the analytics domain (the worker calls :func:`run_due`)."""

from __future__ import annotations

import datetime as dt
import logging

from django.db.models import Max
from django.utils.translation import gettext as _

from rupor.analytics import service
from rupor.analytics.models import ChannelMetricReading, PostMetricReading
from rupor.channels import service as channels
from rupor.core.errors import DomainError
from rupor.networks import errors, registry
from rupor.networks.base import Capability

log = logging.getLogger(__name__)

#: How often each channel and its recent posts are measured.
INTERVAL = dt.timedelta(hours=1)

#: The name this job records its failures under (``Channel.last_error_job``).
JOB = "metrics"


def run_due(now: dt.datetime, *, interval: dt.timedelta = INTERVAL) -> int:
    """Measure every active channel whose last reading is older than ``interval``.

    Returns how many channels were measured. A channel that fails, for whatever reason (the
    network refused or answered garbage, its stored settings are broken), gets the reason
    recorded on it for people to see and is tried again at the next interval; the other channels
    are measured all the same. Expired credentials put the channel on "reconnect"; a success
    clears the recorded failure.
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
    last_post = dict(
        PostMetricReading.objects.filter(source="poll")
        .values("channel_id")
        .annotate(at=Max("read_at"))
        .values_list("channel_id", "at")
    )
    for channel in live:
        if (
            channel.last_error_job == JOB
            and channel.last_error_at is not None
            and channel.last_error_at >= cutoff
        ):
            continue  # failed within the interval: not again before the next one
        caps = registry.adapter(channel.network).capabilities
        due_channel = (
            Capability.CHANNEL_METRICS in caps
            and (last_channel.get(channel.id) or dt.datetime.min.replace(tzinfo=dt.UTC)) < cutoff
        )
        due_posts = (
            Capability.POST_METRICS in caps
            and (last_post.get(channel.id) or dt.datetime.min.replace(tzinfo=dt.UTC)) < cutoff
        )
        if not (due_channel or due_posts):
            continue
        try:
            if due_channel:
                service.collect_channel_metrics(channel.id)
            if due_posts:
                service.collect_post_metrics(channel.id)
            done += 1
        except DomainError as exc:
            log.warning("measuring channel %s failed: %s", channel.id, exc.message)
            channels.record_job_error(channel.id, JOB, exc.message)
            cause = exc.__cause__
            if isinstance(cause, errors.AuthExpired):
                channels.needs_reconnect(channel.id, cause.message)
        except Exception as exc:
            # One channel's unexpected failure never stops the others.
            log.exception("measuring channel %s failed unexpectedly", channel.id)
            channels.record_job_error(
                channel.id,
                JOB,
                _("Collecting statistics failed unexpectedly (%(kind)s); see the server log.")
                % {"kind": type(exc).__name__},
            )
        else:
            channels.clear_job_error(channel.id, JOB)
    return done
