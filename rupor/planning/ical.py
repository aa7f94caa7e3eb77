"""The workspace's plan as an iCal feed at a secret address (``/ical/<token>.ics``).

Anyone holding the address can read the plan's titles and times, so the token is long and
random, stored hashed for lookup (and encrypted so that members can copy the address again), and
rotating it kills the old address at once.

URL pattern (in ``rupor/urls.py``)::

    path("ical/<str:token>.ics", ical.feed_view, name="ical-feed")
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from icalendar import Calendar, Event

from rupor.accounts import service as accounts
from rupor.accounts.roles import Perm
from rupor.accounts.service import Actor, record
from rupor.core import clock, config, crypto
from rupor.networks.registry import DISPLAY_NAMES
from rupor.planning.models import PlanFeed, Post
from rupor.planning.service import PlanningError

CRYPTO_PURPOSE = "ical-feed"
EVENT_LENGTH = dt.timedelta(minutes=15)
PAST_WINDOW = dt.timedelta(days=92)
FUTURE_WINDOW = dt.timedelta(days=400)
LEFT_OUT = (Post.Status.CANCELLED, Post.Status.REJECTED)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _url(token: str) -> str:
    return f"{config.base_url()}/ical/{token}.ics"


def _new_token() -> str:
    return secrets.token_urlsafe(32)


def feed_url(actor: Actor) -> str:
    """The secret address of the workspace's feed (created on first use)."""
    if not actor.can(Perm.POSTS_VIEW):
        raise PlanningError(_("Your role does not allow seeing the plan."), status=403)
    with transaction.atomic():
        feed = PlanFeed.objects.select_for_update().filter(workspace_id=actor.workspace_id).first()
        if feed is None:
            token = _new_token()
            PlanFeed.objects.create(
                workspace_id=actor.workspace_id,
                token_hash=_hash(token),
                token_encrypted=crypto.encrypt(token, CRYPTO_PURPOSE),
            )
            record(actor.workspace_id, actor, "plan.ical.create", "workspace", actor.workspace_id, "")
            return _url(token)
    return _url(crypto.decrypt(feed.token_encrypted, CRYPTO_PURPOSE))


def rotate_feed(actor: Actor) -> str:
    """Replace the secret address; the old one stops working immediately."""
    if not actor.can(Perm.POSTS_PUBLISH):
        raise PlanningError(
            _("Only managers, admins and owners can replace the calendar address."), status=403
        )
    token = _new_token()
    with transaction.atomic():
        PlanFeed.objects.update_or_create(
            workspace_id=actor.workspace_id,
            defaults={
                "token_hash": _hash(token),
                "token_encrypted": crypto.encrypt(token, CRYPTO_PURPOSE),
                "rotated_at": clock.now(),
            },
        )
        record(
            actor.workspace_id,
            actor,
            "plan.ical.rotate",
            "workspace",
            actor.workspace_id,
            "the old address stopped working",
        )
    return _url(token)


def workspace_for_token(token: str) -> accounts.WorkspaceInfo | None:
    feed = (
        PlanFeed.objects.filter(token_hash=_hash(token or "")).values_list("workspace_id", flat=True).first()
    )
    return accounts.workspace_info(feed) if feed is not None else None


def render_feed(workspace: accounts.WorkspaceInfo) -> bytes:
    """The plan from three months back to a year ahead as an iCalendar document."""
    now = clock.now()
    cal = Calendar()
    cal.add("prodid", "-//Rupor//Content plan//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"{workspace.name} — content plan")
    cal.add("x-wr-timezone", workspace.timezone)
    posts = (
        Post.objects.filter(
            workspace_id=workspace.id,
            scheduled_at__gte=now - PAST_WINDOW,
            scheduled_at__lt=now + FUTURE_WINDOW,
        )
        .exclude(status__in=LEFT_OUT)
        .select_related("rubric")
        .prefetch_related("variants__channel")
        .order_by("scheduled_at", "id")
    )
    host = config.base_url().split("://", 1)[-1].split("/", 1)[0]
    for post in posts:
        assert post.scheduled_at is not None
        channels = [v.channel for v in post.variants.all()]
        networks = ", ".join(sorted({DISPLAY_NAMES.get(c.network, c.network) for c in channels}))
        event = Event()
        event.add("uid", f"post-{post.pk}-{workspace.id}@{host}")
        event.add("dtstamp", post.updated_at)
        event.add("last-modified", post.updated_at)
        event.add("dtstart", post.scheduled_at)
        event.add("dtend", post.scheduled_at + EVENT_LENGTH)
        first_line = post.text.strip().splitlines()[0][:80] if post.text.strip() else ""
        label = post.title or first_line or f"Post {post.pk}"
        event.add("summary", f"[{networks}] {label}" if networks else label)
        lines = [
            f"Status: {post.get_status_display()}",
            f"Channels: {', '.join(c.name for c in channels) or '—'}",
        ]
        if post.rubric:
            lines.append(f"Rubric: {post.rubric.name}")
            event.add("categories", [post.rubric.name])
        lines += ["", post.text]
        event.add("description", "\n".join(lines))
        event.add("status", "CONFIRMED" if post.status == Post.Status.SCHEDULED else "TENTATIVE")
        cal.add_component(event)
    return bytes(cal.to_ical())


@require_GET
def feed_view(request: HttpRequest, token: str) -> HttpResponse:  # noqa: ARG001 - a Django view's signature; the token alone names the feed
    """``GET /ical/<token>.ics``: the feed, or 404 for an unknown or rotated token."""
    workspace = workspace_for_token(token)
    if workspace is None:
        raise Http404("No such calendar.")
    response = HttpResponse(render_feed(workspace), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{workspace.slug}-plan.ics"'
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    return response
