"""The periodic job of the inbox domain (the worker calls :func:`run_due`)."""

from __future__ import annotations

import datetime as dt
import logging

from rupor.inbox import service

log = logging.getLogger(__name__)

#: How often each channel is polled for new comments and messages (webhooks arrive at once).
INTERVAL = dt.timedelta(minutes=2)


def run_due(now: dt.datetime, *, interval: dt.timedelta = INTERVAL) -> int:
    """Poll every active channel whose last poll is older than ``interval``.

    Returns how many new inbox items were stored. A failing channel is logged (and its cursor
    keeps the message for the UI) and tried again at the next interval.
    """
    new = 0
    for channel_id in service.channels_to_poll(now, interval):
        try:
            new += service.poll_channel(channel_id).new_items
        except service.InboxError as exc:
            log.warning("polling channel %s failed: %s", channel_id, exc.message)
    return new
