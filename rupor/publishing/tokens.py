"""The periodic job that keeps expiring connections alive (LinkedIn's 60-day access tokens).

For every channel of a network with ``Capability.REFRESH`` it renews the access token a week
before it ends (under a lock on the channel: ``channels.check_credentials``), warns the person
who connected the channel a week before the connection itself ends (the refresh token's end,
which no refresh extends), and holds the channel for reconnection when it has ended or the
network refused the refresh, so its scheduled posts wait instead of failing.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import formats
from django.utils.translation import gettext as _

from rupor.channels import service as channels
from rupor.core.logging import fields
from rupor.networks import registry
from rupor.networks.errors import AuthExpired, NetworkError
from rupor.notifications import service as notifications

log = logging.getLogger(__name__)

JOB = "tokens"
#: Renew an access token this long before it ends.
REFRESH_AHEAD = dt.timedelta(days=7)
#: Warn people this long before a connection ends.
WARN_AHEAD = dt.timedelta(days=7)
EVENT = "credentials_expiring"


def run_due(now: dt.datetime) -> int:
    """Check every renewable channel; returns how many were renewed or warned about."""
    acted = 0
    for channel_id in channels.renewable_channels():
        try:
            check = channels.check_credentials(
                channel_id, now, refresh_ahead=REFRESH_AHEAD, warn_ahead=WARN_AHEAD
            )
        except AuthExpired as exc:
            channels.needs_reconnect(channel_id, exc.message)
            acted += 1
            continue
        except NetworkError as exc:
            log.warning(
                "renewing the credentials of channel %s failed: %s",
                channel_id,
                exc.message,
                extra=fields("channel.renew", channel_id=channel_id),
            )
            channels.record_job_error(channel_id, JOB, exc.message)
            continue
        if check is None:
            continue
        channels.clear_job_error(channel_id, JOB)
        network = registry.display_name(check.network)
        if check.expired:
            channels.needs_reconnect(
                channel_id,
                _("The %(network)s connection has ended; reconnect %(network)s.") % {"network": network},
            )
            acted += 1
        elif check.warn and check.connection_ends is not None:
            when = formats.date_format(check.connection_ends, "DATE_FORMAT")
            body = _(
                "The %(network)s connection of %(channel)s ends on %(date)s. Reconnect %(network)s before "
                "then, or its scheduled posts will be held."
            ) % {"network": network, "channel": check.name, "date": when}
            notifications.notify_event(
                check.workspace_id,
                EVENT,
                body,
                channel_id=check.channel_id,
                link=f"/channels/{check.channel_id}/edit/",
                user_ids=[check.owner_id] if check.owner_id is not None else None,
            )
            acted += 1
        acted += int(check.refreshed)
    return acted
