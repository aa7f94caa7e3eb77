"""The periodic job of the inbox domain (the worker calls :func:`run_due`)."""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.utils.translation import gettext as _

from rupor.channels import service as channels
from rupor.core.errors import DomainError
from rupor.core.logging import fields
from rupor.inbox import service, staging

log = logging.getLogger(__name__)

#: How often each channel is polled for new comments and messages (webhooks arrive at once).
INTERVAL = dt.timedelta(minutes=2)

#: The name this job records its failures under (``Channel.last_error_job``).
JOB = "inbox"


def run_due(now: dt.datetime, *, interval: dt.timedelta = INTERVAL) -> int:
    """Poll every active channel whose last poll is older than ``interval``.

    Returns how many new inbox items were stored. A channel that fails, for whatever reason (the
    network refused, answered garbage, its stored settings are broken), gets the reason recorded
    on it for people to see and is tried again after a backoff (``service.poll_failed``: 30 s,
    doubling, with full jitter, at most an hour); the other channels are polled all the same.
    A success clears the recorded failure and the backoff.
    """
    new = 0
    for channel_id in service.channels_to_poll(now, interval):
        try:
            new += service.poll_channel(channel_id).new_items
        except DomainError as exc:
            log.warning(
                "polling channel %s failed: %s",
                channel_id,
                exc.message,
                extra=fields("inbox.poll", channel_id=channel_id),
            )
            channels.record_job_error(channel_id, JOB, exc.message)
            service.poll_failed(channel_id, exc.message)
        except Exception as exc:
            # One channel's unexpected failure never stops the others.
            log.exception(
                "polling channel %s failed unexpectedly",
                channel_id,
                extra=fields("inbox.poll", channel_id=channel_id),
            )
            message = _("Polling failed unexpectedly (%(kind)s); see the server log.") % {
                "kind": type(exc).__name__
            }
            channels.record_job_error(channel_id, JOB, message)
            service.poll_failed(channel_id, message)
        else:
            channels.clear_job_error(channel_id, JOB)
    return new


#: How long one triage pass may run before it hands the jobs thread back (a flood is read over
#: several passes; the classifier reads about 150 texts a second on two cores).
TRIAGE_BUDGET_S = 20.0


def run_triage(now: dt.datetime) -> int:  # noqa: ARG001 - the worker calls every job with the time
    """Label what arrived since the last pass, a batch at a time, for at most TRIAGE_BUDGET_S."""
    started, done = time.monotonic(), 0
    while True:
        read = service.triage_pending()
        done += read
        if read < service.TRIAGE_BATCH or time.monotonic() - started >= TRIAGE_BUDGET_S:
            return done


def run_monitoring(now: dt.datetime) -> int:
    """Search the monitored keywords whose time has come (``inbox/monitoring.py``); returns how
    many new mentions arrived. Each keyword keeps its own cursor, failures and back-off."""
    from rupor.inbox import monitoring

    return monitoring.run_due(now)


def run_staged(now: dt.datetime) -> int:  # noqa: ARG001 - the worker calls every job with the time
    """Store webhook deliveries left staged (``inbox/staging.py``): those of a web process that
    died before its drainer read them, or of a server run without the drainer thread."""
    return staging.drain_all()
