"""The dashboard: the week ahead, publication states, channels needing a person, first steps."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from rupor.accounts import service as accounts
from rupor.accounts.roles import Perm, can
from rupor.channels import service as channels
from rupor.channels.models import Channel
from rupor.core import clock
from rupor.core.timezones import to_utc, zone
from rupor.inbox import service as inbox
from rupor.planning import service as planning
from rupor.planning.models import Post
from rupor.publishing import service as publishing
from rupor.publishing.models import TargetState
from rupor.web import forms
from rupor.web.base import SignedInRequest, WorkspaceRequest, _target_rows, workspace_view


def _inbox_waiting(workspace_id: int, user_id: int) -> dict[str, Any]:
    """What in the inbox still needs an answer: all of it, the complaints, and what is yours; each
    number links to the inbox filtered the same way."""

    def waiting(**filters: Any) -> int:
        return inbox.list_items(workspace_id, inbox.Filters(unanswered=True, **filters)).count()

    url = reverse("web:inbox")
    return {
        "all": inbox.waiting_count(workspace_id),
        "all_url": f"{url}?unanswered=1",
        "complaints": waiting(label="complaint"),
        "complaints_url": f"{url}?unanswered=1&label=complaint",
        "mine": waiting(assigned_to_id=user_id),
        "mine_url": f"{url}?unanswered=1&mine=1",
    }


@login_required
@require_GET
def dashboard(request: SignedInRequest) -> HttpResponseBase:
    if request.workspace is None:
        return render(
            request,
            "web/welcome.html",
            {"form": forms.WorkspaceForm(initial={"timezone": "UTC"}), "tz_names": forms.timezone_names()},
        )
    return _dashboard(request)


@workspace_view(Perm.WORKSPACE_VIEW)
def _dashboard(request: WorkspaceRequest) -> HttpResponseBase:
    ws = request.workspace
    role = request.role
    local_now = clock.now().astimezone(zone(ws.timezone))
    today = local_now.date()
    start = to_utc(dt.datetime.combine(today, dt.time()), ws.timezone)
    end = to_utc(dt.datetime.combine(today + dt.timedelta(days=8), dt.time()), ws.timezone)
    posts: list[Post] = []
    days: list[dict[str, Any]] = []
    if can(role, Perm.POSTS_VIEW):
        posts = list(
            planning.with_publication(
                list(planning.list_posts(ws.pk, start=start, end=end).order_by("scheduled_at", "id"))
            )
        )
        rows = _target_rows(posts)
        by_day: dict[dt.date, list[dict[str, Any]]] = {}
        for post in posts:
            assert post.scheduled_at is not None
            day = post.scheduled_at.astimezone(zone(ws.timezone)).date()
            by_day.setdefault(day, []).append({"post": post, "targets": rows[post.pk]})
        for offset in range(8):
            day = today + dt.timedelta(days=offset)
            days.append({"date": day, "is_today": offset == 0, "items": by_day.get(day, [])})
    counts = publishing.counts_by_state(ws.pk) if can(role, Perm.POSTS_VIEW) else {}
    state_counts = [
        {"state": s, "label": label, "count": counts.get(s, 0)}
        for s, label in TargetState.choices
        if s
        in (
            TargetState.SCHEDULED,
            TargetState.PUBLISHED,
            TargetState.FAILED,
            TargetState.MISSED,
            TargetState.UNCONFIRMED,
            TargetState.HELD,
        )
    ]
    channel_list = list(channels.list_channels(ws.pk)) if can(role, Perm.CHANNELS_VIEW) else []
    attention = [c for c in channel_list if c.status == Channel.Status.RECONNECT]
    post_total = planning.list_posts(ws.pk).count() if can(role, Perm.POSTS_VIEW) else 0
    member_total = accounts.members(ws.pk).count()
    steps: list[dict[str, Any]] = [
        {
            "done": bool(channel_list),
            "title": _("Connect a channel"),
            "text": _("A Telegram channel, a VK community or another account."),
            "url": reverse("web:channels"),
            "perm": Perm.CHANNELS_MANAGE,
        },
        {
            "done": member_total > 1,
            "title": _("Invite your team"),
            "text": _("Give each person the role they need."),
            "url": reverse("web:members"),
            "perm": Perm.MEMBERS_MANAGE,
        },
        {
            "done": post_total > 0,
            "title": _("Plan your first post"),
            "text": _("Write once, adapt per channel, pick a time."),
            "url": reverse("web:post_new"),
            "perm": Perm.POSTS_EDIT,
        },
    ]
    steps = [s for s in steps if can(role, s["perm"])]
    waiting = _inbox_waiting(ws.pk, request.user.pk) if can(role, Perm.INBOX_VIEW) else None
    return render(
        request,
        "web/dashboard.html",
        {
            "days": days,
            "state_counts": state_counts,
            "attention": attention,
            "steps": steps,
            "show_steps": any(not s["done"] for s in steps),
            "local_now": local_now,
            "waiting": waiting,
        },
    )
