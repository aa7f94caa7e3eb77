"""Webhook intake: the URL each channel gives its network (VK Callback API, Telegram webhook).

``/hooks/<network>/<channel_id>/<token>/`` — the token is a per-channel secret made on first
use and kept in ``channel.settings["hook_token"]``; a wrong network, channel or token answers
404 so the URL space reveals nothing. The adapter checks the network's own secret (VK
``secret``, Telegram ``X-Telegram-Bot-Api-Secret-Token``) and says what to answer.
"""

from __future__ import annotations

import hmac
import logging
import secrets

from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from rupor.channels import service as channels
from rupor.channels.models import Channel
from rupor.inbox import service
from rupor.networks import errors, registry

log = logging.getLogger(__name__)

#: Deliveries larger than this are refused before parsing (networks send a few KB at most).
MAX_BODY = 1024 * 1024


def hook_token(channel: Channel) -> str:
    """The channel's webhook secret, created (and saved) on first use."""
    token = str((channel.settings or {}).get("hook_token") or "")
    if token:
        return token
    with transaction.atomic():
        fresh = Channel.objects.select_for_update().get(pk=channel.pk)
        token = str((fresh.settings or {}).get("hook_token") or "")
        if not token:
            token = secrets.token_urlsafe(24)
            fresh.settings = {**(fresh.settings or {}), "hook_token": token}
            fresh.save(update_fields=["settings"])
    channel.settings = {**(channel.settings or {}), "hook_token": token}
    return token


def hook_path(channel: Channel) -> str:
    return f"/hooks/{channel.network}/{channel.pk}/{hook_token(channel)}/"


def hook_url(channel: Channel) -> str:
    """The absolute URL to configure on the network for this channel's events."""
    return str(settings.RUPOR_BASE_URL).rstrip("/") + hook_path(channel)


@csrf_exempt
@require_POST
def network_hook(request: HttpRequest, network: str, channel_id: int, token: str) -> HttpResponse:
    channel = Channel.live.filter(pk=channel_id, network=network).first()
    expected = str((channel.settings or {}).get("hook_token") or "") if channel else ""
    if channel is None or not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Http404("no such hook")
    if network not in registry.available():
        raise Http404("no such hook")
    body = request.body
    if len(body) > MAX_BODY:
        return HttpResponse(b"too large", status=413, content_type="text/plain")
    headers = dict(request.headers.items())
    adapter = registry.adapter(network)
    try:
        result = adapter.handle_webhook(channels.access(channel), headers, body)
    except errors.NotSupported:
        raise Http404("no such hook") from None
    except errors.NetworkError as exc:
        log.warning("webhook for channel %s refused: %s", channel_id, exc.message)
        return HttpResponse(b"error", status=400, content_type="text/plain")
    if result.events:
        service.ingest_events(channel.pk, result.events)
    return HttpResponse(result.body, status=result.status, content_type=result.content_type)
