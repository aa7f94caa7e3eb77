"""Webhook intake: the URL each channel gives its network (VK Callback API, Telegram webhook).

``/hooks/<network>/<channel_id>/<token>/`` — the token is a per-channel secret made on first
use and kept in ``channel.settings["hook_token"]``; a wrong network, channel or token answers
404 so the URL space reveals nothing. The adapter checks the network's own secret (VK
``secret``, Telegram ``X-Telegram-Bot-Api-Secret-Token``) and says what to answer.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from rupor.channels import service as channels
from rupor.core import config, dbpool
from rupor.inbox import staging
from rupor.networks import errors, registry

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication

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


@dataclass(frozen=True)
class Answer:
    """What a webhook delivery is answered."""

    status: int
    body: bytes
    content_type: str = "text/plain"


NOT_FOUND = Answer(404, b"no such hook")


def receive(network: str, channel_id: int, token: str, headers: Mapping[str, str], body: bytes) -> Answer:
    """Check a delivery and keep its events (``inbox/staging.py``); what to answer the network.

    Everything that decides the answer happens here, before it is sent: the hook token and the
    network's own secret, the size, the shape (a body the adapter cannot read is a 400 and is
    recorded on the channel). The events are then staged in one INSERT, committed before the
    answer, and stored as inbox items by the drainer a moment later.
    """
    if network not in registry.available() or not 0 < channel_id < 2**63:
        return NOT_FOUND  # no channel has such an id (and the database cannot even compare it)
    target = channels.hook_target(network, channel_id, token)
    if target is None:
        return NOT_FOUND
    if len(body) > MAX_BODY:
        return Answer(413, b"too large")
    if target.access is None:
        # Our side is misconfigured (stored settings): say so on the channel, and ask the
        # network to deliver again later rather than drop the event.
        channels.record_job_error(channel_id, JOB, target.problem)
        return Answer(503, b"unavailable")
    adapter = registry.adapter(network)
    try:
        result = adapter.handle_webhook(target.access, headers, body)
    except errors.NotSupported:
        return NOT_FOUND
    except errors.NetworkError as exc:
        log.warning("webhook for channel %s refused: %s", channel_id, exc.message)
        return Answer(400, b"error")
    except MALFORMED as exc:
        # A body of a shape the network never sends (wrong types, missing fields, absurd
        # numbers or nesting): whoever sent it gets a 400, whatever the adapter tripped on.
        log.warning("malformed webhook body for channel %s (%s)", channel_id, type(exc).__name__)
        _malformed(channel_id, network)
        return Answer(400, b"malformed")
    if result.status == 400:  # the adapter could not read the body at all (not JSON, not an update)
        log.warning("unreadable webhook body for channel %s", channel_id)
        _malformed(channel_id, network)
        return Answer(400, result.body, result.content_type)
    if result.events:
        staging.stage(target, headers, body)
    if result.status < 300 and target.last_error_job == JOB:
        channels.clear_job_error(channel_id, JOB)  # only then: a write on every delivery would serialise them
    return Answer(result.status, result.body, result.content_type)


@csrf_exempt
@require_POST
def network_hook(request: HttpRequest, network: str, channel_id: int, token: str) -> HttpResponse:
    """The hook route through Django (tests, and servers that do not mount :func:`wsgi_route`)."""
    answer = receive(network, channel_id, token, dict(request.headers.items()), request.body)
    if answer is NOT_FOUND:
        raise Http404("no such hook")
    return HttpResponse(answer.body, status=answer.status, content_type=answer.content_type)


#: The hook path, as the WSGI route matches it before Django (the same as ``inbox/urls.py``).
_HOOK_PATH = re.compile(r"/hooks/([a-z0-9_]{1,20})/([0-9]{1,18})/([A-Za-z0-9_-]{1,100})/")
#: Headers every answer of the WSGI route carries (``core/headers.py`` sets them on Django's).
_PLAIN_HEADERS = [
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Cache-Control", "no-store"),
]
_REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    413: "Payload Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def _wsgi_headers(environ: Mapping[str, Any]) -> dict[str, str]:
    """The request headers as Django's ``request.headers`` names them."""
    out: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            out[key[5:].replace("_", "-").title()] = value
    if environ.get("CONTENT_TYPE"):
        out["Content-Type"] = environ["CONTENT_TYPE"]
    if environ.get("CONTENT_LENGTH"):
        out["Content-Length"] = environ["CONTENT_LENGTH"]
    return out


def wsgi_route(application: WSGIApplication) -> WSGIApplication:
    """``application`` with webhook deliveries answered before Django's middleware and routing.

    A delivery needs none of what the web app's middleware does (sessions, CSRF, locale, users,
    workspaces); skipping it and the URL resolver halves the time per request. Only a POST to a
    well-formed hook path takes this route; everything else (other methods, odd paths) goes to
    Django, which answers as before. The database connection is kept between deliveries (the
    route never closes it, as Django does after each request) unless a query failed; with a
    connection pool (core/dbpool.py) it goes back to the pool after each delivery.
    """

    def route(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        match = _HOOK_PATH.fullmatch(environ.get("PATH_INFO", ""))
        if match is None or environ.get("REQUEST_METHOD") != "POST":
            return application(environ, start_response)
        network, channel_id, token = match.group(1), int(match.group(2)), match.group(3)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0:
            answer = Answer(400, b"bad length")
        elif length > MAX_BODY:
            answer = Answer(413, b"too large")
        else:
            body = environ["wsgi.input"].read(length) if length else b""
            try:
                answer = receive(network, channel_id, token, _wsgi_headers(environ), body)
            except Exception:
                log.exception("webhook for channel %s failed", channel_id)
                connection.close()  # a broken connection is not kept for the next delivery
                answer = Answer(500, b"error")
            # With a pool, the connection goes back to it for the process's other threads.
            dbpool.give_back()
        headers = [
            ("Content-Type", answer.content_type),
            ("Content-Length", str(len(answer.body))),
            *_PLAIN_HEADERS,
        ]
        start_response(f"{answer.status} {_REASONS.get(answer.status, 'Error')}", headers)
        return [answer.body]

    return route
