"""Webhook intake: the URL each channel gives its network (VK Callback API, Telegram webhook).

``/hooks/<network>/<channel_id>/<token>/`` — the token is a per-channel secret made on first
use and kept in ``channel.settings["hook_token"]``; a wrong network, channel or token answers
404 so the URL space reveals nothing. The adapter checks the network's own secret (VK
``secret``, Telegram ``X-Telegram-Bot-Api-Secret-Token``) and says what to answer.
"""

from __future__ import annotations

import logging
from typing import Protocol

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from rupor.channels import service as channels
from rupor.core import config
from rupor.inbox import service
from rupor.networks import errors, registry

log = logging.getLogger(__name__)

#: Deliveries larger than this are refused before parsing (networks send a few KB at most).
MAX_BODY = 1024 * 1024

#: What parsing a body of the wrong shape raises (JSON nested too deep is a RecursionError).
MALFORMED = (LookupError, TypeError, ValueError, AttributeError, ArithmeticError, RecursionError)

#: The name a webhook failure on our side is recorded under (``Channel.last_error_job``).
JOB = "webhook"


class _Channel(Protocol):
    """A channel row (or anything naming one by ``id`` and ``network``)."""

    @property
    def id(self) -> int: ...

    @property
    def network(self) -> str: ...


def hook_token(channel: _Channel) -> str:
    """The channel's webhook secret, created (and saved) on first use."""
    return channels.hook_token(channel.id)


def hook_path(channel: _Channel) -> str:
    return f"/hooks/{channel.network}/{channel.id}/{hook_token(channel)}/"


def hook_url(channel: _Channel) -> str:
    """The absolute URL to configure on the network for this channel's events."""
    return config.base_url() + hook_path(channel)


def _malformed(channel_id: int, network: str) -> None:
    """Keep on the channel, for people to see, that its webhook received a body it cannot read
    (the channel's hook URL is secret, so this is the network or someone holding the URL)."""
    name = registry.DISPLAY_NAMES.get(network, network)
    channels.record_job_error(
        channel_id,
        JOB,
        _("A webhook delivery for this channel could not be read (not a %(network)s update); it was refused.")
        % {"network": name},
    )


@csrf_exempt
@require_POST
def network_hook(request: HttpRequest, network: str, channel_id: int, token: str) -> HttpResponse:
    channel = channels.hook_channel(network, channel_id, token)
    if channel is None:
        raise Http404("no such hook")
    if network not in registry.available():
        raise Http404("no such hook")
    body = request.body
    if len(body) > MAX_BODY:
        return HttpResponse(b"too large", status=413, content_type="text/plain")
    headers = dict(request.headers.items())
    adapter = registry.adapter(network)
    try:
        access = channels.access_for(channel.id)
    except channels.ChannelError as exc:
        # Our side is misconfigured (stored settings): say so on the channel, and ask the
        # network to deliver again later rather than drop the event.
        channels.record_job_error(channel.id, JOB, exc.message)
        return HttpResponse(b"unavailable", status=503, content_type="text/plain")
    try:
        result = adapter.handle_webhook(access, headers, body)
    except errors.NotSupported:
        raise Http404("no such hook") from None
    except errors.NetworkError as exc:
        log.warning("webhook for channel %s refused: %s", channel_id, exc.message)
        return HttpResponse(b"error", status=400, content_type="text/plain")
    except MALFORMED as exc:
        # A body of a shape the network never sends (wrong types, missing fields, absurd
        # numbers or nesting): whoever sent it gets a 400, whatever the adapter tripped on.
        log.warning("malformed webhook body for channel %s (%s)", channel_id, type(exc).__name__)
        _malformed(channel.id, network)
        return HttpResponse(b"malformed", status=400, content_type="text/plain")
    if result.status == 400:  # the adapter could not read the body at all (not JSON, not an update)
        log.warning("unreadable webhook body for channel %s", channel_id)
        _malformed(channel.id, network)
        return HttpResponse(result.body, status=400, content_type=result.content_type)
    if result.events:
        service.ingest_for(channel, result.events)
    if (
        result.status < 300
        and channels.channels_with_errors().filter(pk=channel.id, last_error_job=JOB).exists()
    ):
        channels.clear_job_error(channel.id, JOB)  # only then: a write on every delivery would serialise them
    return HttpResponse(result.body, status=result.status, content_type=result.content_type)
