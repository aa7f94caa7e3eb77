"""The calendar: month and week views of every post, drag-and-drop rescheduling.

The grid is rendered on the server in the workspace's time zone; ``calendar.js`` adds native
drag and drop and swaps in the re-rendered body after a move. Every move goes through
:func:`rupor.planning.service.reschedule_post` (see ``docs/decisions/0006-calendar.md``).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zoneinfo
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponseBase, QueryDict
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import formats, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from rupor.accounts import service as accounts
from rupor.accounts.roles import Perm, can
from rupor.channels import service as channels
from rupor.core import clock
from rupor.core.timezones import LocalTimeError, to_utc, zone
from rupor.planning import ical, mix
from rupor.planning import service as planning
from rupor.planning.models import Post
from rupor.publishing import service as publishing
from rupor.publishing.models import TargetState
from rupor.web import forms
from rupor.web.base import _actor, _ws, workspace_request, workspace_view
from rupor.web.templatetags.rupor_ui import local_date

VIEWS = ("month", "week")
COLOR_MODES = ("rubric", "network")
#: Posts shown in a month cell before "+N more".
DAY_VISIBLE = 4
IDEAS_SHOWN = 30
#: Where a dropped idea lands in the month view (local time).
IDEA_TIME = dt.time(10, 0)
#: The week view opens scrolled to this hour.
WEEK_SCROLL_HOUR = 8
INPUT_FORMAT = "%Y-%m-%dT%H:%M"
MIN_YEAR, MAX_YEAR = 1970, 2200
_COLOR = re.compile(r"^#[0-9a-fA-F]{3,8}$")

# What a post shows as its state: the publication targets win once anything went out.
_DONE = (TargetState.PUBLISHED, TargetState.EDITING, TargetState.UNCONFIRMED)
_BUSY = (TargetState.PUBLISHING, TargetState.WAITING)
_BAD = (TargetState.FAILED, TargetState.MISSED)
#: Left out unless asked for by the status filter.
HIDDEN_STATES = (Post.Status.CANCELLED.value, Post.Status.REJECTED.value)

_WHEN_SHAPES = {"en": "D j M, H:i", "ru": "D, j E, H:i", "ko": "n월 j일 (D) H:i"}
_DAY_SHAPES = {"en": "D j M", "ru": "D, j E", "ko": "n월 j일 (D)"}
_MONTH_SHAPES = {"en": "F Y", "ru": "F Y", "ko": "Y년 n월"}


def _state_labels() -> dict[str, str]:
    labels: dict[str, str] = {str(value): str(label) for value, label in planning.SHOWN_STATUSES}
    labels.update(failed=_("Failed or missed"))
    return labels


STATUS_FILTERS = (
    "scheduled",
    "published",
    "partially_published",
    "failed",
    "needs_attention",
    "publishing",
    "draft",
    "in_review",
    "client_review",
    "changes_requested",
    "approved",
    "rejected",
    "cancelled",
)


# -- the calendar's state, carried in the query string ------------------------------------------


@dataclass(frozen=True)
class CalState:
    view: str
    day: dt.date
    color: str = "rubric"
    channel: int | None = None
    rubric: str = ""  # a rubric id, "none" or ""
    status: str = ""
    author: int | None = None
    explicit_day: bool = False

    def query(self, **changes: Any) -> str:
        state = replace(self, **changes)
        params: dict[str, Any] = {}
        if state.view != "month":
            params["view"] = state.view
        if state.explicit_day:
            params["date"] = state.day.isoformat()
        if state.color != "rubric":
            params["color"] = state.color
        for name in ("channel", "rubric", "status", "author"):
            value = getattr(state, name)
            if value:
                params[name] = value
        return "?" + urlencode(params) if params else ""

    @property
    def filtered(self) -> bool:
        return bool(self.channel or self.rubric or self.status or self.author)


def _int(value: str | None) -> int | None:
    return forms.parse_id(value)


def parse_state(params: QueryDict, today: dt.date) -> CalState:
    view = params.get("view", "month")
    try:
        day = dt.date.fromisoformat(params.get("date", ""))
        explicit = True
    except ValueError:
        day, explicit = today, False
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        day, explicit = today, False
    rubric = params.get("rubric", "")
    if rubric != "none" and _int(rubric) is None:
        rubric = ""
    status = params.get("status", "")
    return CalState(
        view=view if view in VIEWS else "month",
        day=day,
        explicit_day=explicit,
        color=params.get("color", "rubric") if params.get("color") in COLOR_MODES else "rubric",
        channel=_int(params.get("channel")),
        rubric=rubric,
        status=status if status in STATUS_FILTERS else "",
        author=_int(params.get("author")),
    )


# -- time helpers -------------------------------------------------------------------------------


def _day_start(day: dt.date, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """The UTC instant a local day starts (a midnight inside a DST gap maps to the first instant after it)."""
    return dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(dt.UTC)


def _offset_label(moment: dt.datetime) -> str:
    offset = moment.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _shape(shapes: dict[str, str]) -> str:
    return shapes.get((translation.get_language() or "en")[:2], shapes["en"])


def when_label(local: dt.datetime) -> str:
    """ "Tue 3 Mar, 10:00" in the current language."""
    return formats.date_format(local, _shape(_WHEN_SHAPES))


def _exists(local: dt.datetime, tz_name: str) -> bool:
    try:
        to_utc(local, tz_name)
    except LocalTimeError:
        return False
    return True


# -- building the grid --------------------------------------------------------------------------


def _post_state(post: Post, target_states: list[str]) -> str:
    # The one derivation every page and the API use (publishing.derive_status).
    return publishing.derive_status(target_states) or str(post.status)


def _chips(
    posts: list[Post],
    tz: zoneinfo.ZoneInfo,
    *,
    role: str,
    color_mode: str,
    labels: dict[str, str],
) -> list[dict[str, Any]]:
    variant_ids = [v.pk for p in posts for v in p.variants.all()]
    summaries = publishing.summaries(variant_ids)
    can_edit = can(role, Perm.POSTS_EDIT)
    can_publish = can(role, Perm.POSTS_PUBLISH)
    out = []
    for post in posts:
        variants = list(post.variants.all())
        target_states = [summaries[v.pk].state for v in variants if v.pk in summaries]
        state = _post_state(post, target_states)
        networks: list[str] = []
        for v in variants:
            if v.channel.network not in networks:
                networks.append(v.channel.network)
        local = post.scheduled_at.astimezone(tz) if post.scheduled_at else None
        started = any(s in _DONE or s in _BUSY for s in target_states)
        movable = (
            can_edit
            and not started
            and state not in HIDDEN_STATES
            and (post.status != Post.Status.SCHEDULED or can_publish)
        )
        rubric_color = post.rubric.color if post.rubric and _COLOR.match(post.rubric.color or "") else ""
        label = post.title or Truncator(" ".join(post.text.split())).chars(70) or _("Untitled post")
        out.append(
            {
                "post": post,
                "local": local,
                "state": state,
                "state_label": labels.get(state, state),
                "networks": networks,
                "channels": ", ".join(v.channel.name for v in variants),
                "color": rubric_color if color_mode == "rubric" else "",
                "net_class": networks[0] if color_mode == "network" and networks else "",
                "rubric": _(post.rubric.name) if post.rubric else "",
                "label": label,
                "movable": movable,
                "can_edit": can_edit,
                "when_input": local.strftime(INPUT_FORMAT) if local else "",
                "time_of_day": local.strftime("%H:%M") if local else "",
            }
        )
    return out


def _filter(qs: QuerySet[Post], state: CalState) -> QuerySet[Post]:
    if state.rubric == "none":
        qs = qs.filter(rubric__isnull=True)
    elif state.rubric:
        qs = qs.filter(rubric_id=int(state.rubric))
    if state.author:
        qs = qs.filter(author_id=state.author)
    return qs


def _range(state: CalState) -> tuple[dt.date, dt.date]:
    """First and last (inclusive) local day the grid shows."""
    if state.view == "week":
        start = state.day - dt.timedelta(days=state.day.weekday())
        return start, start + dt.timedelta(days=6)
    first = state.day.replace(day=1)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return first - dt.timedelta(days=first.weekday()), last + dt.timedelta(days=6 - last.weekday())


def _dst_notes(start: dt.date, end: dt.date, tz: zoneinfo.ZoneInfo) -> list[dict[str, Any]]:
    notes = []
    day = start
    while day <= end:
        before = _day_start(day, tz).astimezone(tz)
        after = _day_start(day + dt.timedelta(days=1), tz).astimezone(tz)
        if before.utcoffset() != after.utcoffset():
            notes.append({"date": day, "before": _offset_label(before), "after": _offset_label(after)})
        day += dt.timedelta(days=1)
    return notes


def week_scroll_hour(post_hours: list[int], now_hour: int | None) -> int:
    """The hour the week view opens at: the earliest of the week's first post and now (when the
    week is this one), so nothing planned sits above the fold; 08:00 in an empty week of another time."""
    candidates = [*post_hours, *([now_hour] if now_hour is not None else [])]
    return min(candidates) if candidates else WEEK_SCROLL_HOUR


def hidden_post_labels(total: int) -> str:
    """JSON for the week view's "N posts earlier" / "N posts later" marks, one text per count (the
    script counts the posts scrolled out of view; the plural forms come from here)."""
    return json.dumps(
        {
            "earlier": {
                n: ngettext("%(count)s post earlier", "%(count)s posts earlier", n) % {"count": n}
                for n in range(1, total + 1)
            },
            "later": {
                n: ngettext("%(count)s post later", "%(count)s posts later", n) % {"count": n}
                for n in range(1, total + 1)
            },
        },
        ensure_ascii=False,
    )


def build_context(
    request: HttpRequest, state: CalState, *, message: str = "", level: str = ""
) -> dict[str, Any]:
    ws = _ws(request)
    role: str = workspace_request(request).role
    tz = zone(ws.timezone)
    local_now = clock.now().astimezone(tz)
    today = local_now.date()
    labels = _state_labels()
    first, last = _range(state)
    channel_list = list(channels.list_channels(ws.pk))

    qs = planning.list_posts(
        ws.pk,
        start=_day_start(first, tz),
        end=_day_start(last + dt.timedelta(days=1), tz),
        channel_id=state.channel,
    )
    posts = list(_filter(qs, state).order_by("scheduled_at", "id"))
    chips = _chips(posts, tz, role=role, color_mode=state.color, labels=labels)
    if state.status:
        chips = [c for c in chips if c["state"] == state.status]
    else:
        chips = [c for c in chips if c["state"] not in HIDDEN_STATES]

    idea_qs = _filter(mix.ideas(ws.pk), state)
    if state.channel:
        idea_qs = idea_qs.filter(variants__channel_id=state.channel).distinct()
    idea_posts = list(idea_qs[: IDEAS_SHOWN + 1])
    ideas = _chips(idea_posts[:IDEAS_SHOWN], tz, role=role, color_mode=state.color, labels=labels)

    by_day: dict[dt.date, list[dict[str, Any]]] = {}
    for chip in chips:
        by_day.setdefault(chip["local"].date(), []).append(chip)

    context: dict[str, Any] = {
        "state": state,
        "today": today,
        "local_now": local_now,
        "tz_name": ws.timezone,
        "tz_offset": _offset_label(local_now),
        "dst_notes": _dst_notes(first, last, tz),
        "ideas": ideas,
        "ideas_more": len(idea_posts) > IDEAS_SHOWN,
        "post_count": len(chips),
        "can_edit": can(role, Perm.POSTS_EDIT),
        "message": message,
        "level": level,
        "move_url": reverse("web:calendar_move"),
        "here": reverse("web:calendar") + state.query(),
        "idea_time": IDEA_TIME.strftime("%H:%M"),
        "today_url": reverse("web:calendar") + state.query(day=today, explicit_day=False),
        "month_url": reverse("web:calendar") + state.query(view="month"),
        "week_url": reverse("web:calendar") + state.query(view="week"),
        "color_urls": {mode: reverse("web:calendar") + state.query(color=mode) for mode in COLOR_MODES},
        "clear_url": reverse("web:calendar") + state.query(channel=None, rubric="", status="", author=None),
        "now_input": local_now.strftime(INPUT_FORMAT),
        "new_post_url": reverse("web:post_new"),
        "rubrics": [
            {"id": r.pk, "name": _(r.name), "color": r.color if _COLOR.match(r.color or "") else ""}
            for r in ws.rubrics.all()
        ],
        "channels": channel_list,
        "networks": sorted({c.network for c in channel_list}),
    }
    if state.view == "week":
        days = [first + dt.timedelta(days=i) for i in range(7)]
        context["days"] = [
            {
                "date": d,
                "is_today": d == today,
                "is_past": d < today,
                "day_label": formats.date_format(d, _shape(_DAY_SHAPES)),
            }
            for d in days
        ]
        hours = []
        for hour in range(24):
            cells = []
            for d in days:
                slot = dt.datetime.combine(d, dt.time(hour))  # wall-clock time in the workspace zone
                items = [c for c in by_day.get(d, []) if c["local"].hour == hour]
                cells.append(
                    {
                        "date": d,
                        "hour": hour,
                        "items": items,
                        "is_past": slot.replace(tzinfo=tz) + dt.timedelta(hours=1) <= local_now,
                        "gap": not _exists(slot.replace(minute=30), ws.timezone),
                        "is_now": d == today and hour == local_now.hour,
                    }
                )
            hours.append({"hour": hour, "label": f"{hour:02d}:00", "cells": cells})
        week_chips = [c for d in days for c in by_day.get(d, [])]
        scroll_hour = week_scroll_hour(
            [c["local"].hour for c in week_chips], local_now.hour if today in days else None
        )
        for row in hours:
            row["scroll_to"] = row["hour"] == scroll_hour
        context.update(
            hours=hours,
            now_percent=round(local_now.minute / 60 * 100, 1),
            hidden_labels=hidden_post_labels(len(week_chips)),
            title=f"{local_date(first, 'day')} \u2013 {local_date(last, 'full')}",
            prev_url=reverse("web:calendar")
            + state.query(day=first - dt.timedelta(days=7), explicit_day=True),
            next_url=reverse("web:calendar")
            + state.query(day=first + dt.timedelta(days=7), explicit_day=True),
        )
    else:
        month_first = state.day.replace(day=1)
        weeks = []
        day = first
        while day <= last:
            week = []
            for _i in range(7):
                items = by_day.get(day, [])
                week.append(
                    {
                        "date": day,
                        "in_month": day.month == month_first.month,
                        "is_today": day == today,
                        "is_past": day < today,
                        "visible": items[:DAY_VISIBLE],
                        "more": items[DAY_VISIBLE:],
                        "count": len(items),
                        "new_at": f"{day.isoformat()}T{IDEA_TIME:%H:%M}",
                    }
                )
                day += dt.timedelta(days=1)
            weeks.append(week)
        prev_month = (month_first - dt.timedelta(days=1)).replace(day=1)
        next_month = (month_first + dt.timedelta(days=32)).replace(day=1)
        context.update(
            weeks=weeks,
            weekdays=[
                {"short": formats.date_format(d, "D"), "long": formats.date_format(d, "l")}
                for d in (first + dt.timedelta(days=i) for i in range(7))
            ],
            title=formats.date_format(month_first, _shape(_MONTH_SHAPES)),
            prev_url=reverse("web:calendar") + state.query(day=prev_month, explicit_day=True),
            next_url=reverse("web:calendar") + state.query(day=next_month, explicit_day=True),
        )
    return context


# -- views ----------------------------------------------------------------------------------------


def _today(request: HttpRequest) -> dt.date:
    return clock.now().astimezone(zone(_ws(request).timezone)).date()


@workspace_view(Perm.POSTS_VIEW)
@require_GET
def calendar(request: HttpRequest) -> HttpResponseBase:
    ws = _ws(request)
    role: str = workspace_request(request).role
    state = parse_state(request.GET, _today(request))
    context = build_context(request, state)
    feed_url = ""
    try:
        feed_url = ical.feed_url(_actor(request))
    except planning.PlanningError:
        feed_url = ""
    labels = _state_labels()
    context.update(
        feed_url=feed_url,
        authors=[m.user for m in accounts.members(ws.pk)],
        statuses=[(s, labels[s]) for s in STATUS_FILTERS],
        can_rotate=can(role, Perm.POSTS_PUBLISH),
    )
    return render(request, "web/calendar.html", context)


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next") or ""
    calendar_path = reverse("web:calendar")
    if (
        target
        and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure())
        and urlsplit(target).path == calendar_path
    ):
        return target
    return calendar_path


def _parse_when(request: HttpRequest) -> dt.datetime | None:
    raw = (request.POST.get("when") or "").strip()
    try:
        return dt.datetime.strptime(raw[:16], INPUT_FORMAT)  # noqa: DTZ007 - wall-clock time in the workspace zone
    except ValueError:
        return None


@workspace_view(Perm.POSTS_EDIT)
@require_POST
def calendar_move(request: HttpRequest) -> HttpResponseBase:
    """Move a post or an idea to another local date and time (drag and drop, or the Move form).

    With ``HX-Request`` the answer is the re-rendered calendar body with a message; without it,
    a redirect back to the calendar with the message shown on top.
    """
    back = _back(request)
    tz = zone(_ws(request).timezone)
    post_id = _int(request.POST.get("post"))
    when = _parse_when(request)
    status = 200
    if post_id is None:
        raise Http404
    if when is None:
        message, level, status = _("Choose a date and a time."), "error", 400
    else:
        try:
            post = planning.reschedule_post(_actor(request), post_id, when)
        except planning.PlanningError as exc:
            if exc.status == 404:
                raise Http404 from exc
            message = exc.message
            if exc.errors:
                message = " ".join([exc.message, *(str(p.message) for p in exc.errors[:3])])
            level, status = "error", exc.status or 400
        else:
            assert post.scheduled_at is not None
            message = _("Moved to %(when)s.") % {"when": when_label(post.scheduled_at.astimezone(tz))}
            if post.status == Post.Status.DRAFT:
                message += " " + _("It is still a draft.")
            elif post.status in (Post.Status.IN_REVIEW, Post.Status.CLIENT_REVIEW):
                message += " " + _("It waits for review.")
            level = "success"
    if request.headers.get("HX-Request"):
        state = parse_state(QueryDict(urlsplit(back).query), _today(request))
        context = build_context(request, state, message=message, level=level)
        return render(request, "web/_calendar_body.html", context, status=status)
    if level == "success":
        messages.success(request, message)
    else:
        messages.error(request, message)
    return redirect(back)


@workspace_view(Perm.POSTS_PUBLISH)
@require_POST
def calendar_feed_rotate(request: HttpRequest) -> HttpResponseBase:
    try:
        ical.rotate_feed(_actor(request))
    except planning.PlanningError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("The calendar address was replaced; the old one stopped working. Update your subscriptions."),
        )
    return redirect(_back(request) + "#subscribe")


urlpatterns: list[URLPattern] = [
    path("calendar/", calendar, name="calendar"),
    path("calendar/move/", calendar_move, name="calendar_move"),
    path("calendar/feed/rotate/", calendar_feed_rotate, name="calendar_feed_rotate"),
]
