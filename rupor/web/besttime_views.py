"""Best time to post: a channel's 7x24 heatmap from its own history (analytics/besttime.py), the
best hours with the posts behind them, and one button that turns them into queue slots."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.dates import WEEKDAYS, WEEKDAYS_ABBR
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from rupor.accounts.roles import Perm, can
from rupor.analytics import besttime
from rupor.channels import service as channels
from rupor.core.errors import DomainError
from rupor.web import forms
from rupor.web.base import _actor, _ws, workspace_request, workspace_view

#: History lengths offered, in weeks.
PERIODS = (8, 16, 26, 52)


def _colour(t: float, evidence: bool) -> tuple[str, bool]:
    """A green of lightness by ``t`` in 0..1 (darker is better), greyed where no post backs the
    hour, and whether text on it is light."""
    lightness = 96 - 58 * t
    if not evidence:
        return f"hsl(152, 10%, {max(lightness, 86):.0f}%)", False
    return f"hsl(152, 52%, {lightness:.0f}%)", lightness < 62


def heat_rows(estimate: besttime.Estimate) -> list[dict[str, Any]]:
    """Seven rows (Monday first) of 24 cells: score, colour, posts and an accessible label."""
    scores = [s.score for s in estimate.slots]
    low, high = min(scores), max(scores)
    span = high - low
    top = {s.index for s in estimate.top}
    rows = []
    for day in range(7):
        cells = []
        for hour in range(24):
            slot = estimate.slots[day * 24 + hour]
            t = (slot.score - low) / span if span > 0 else 0.0
            background, light = _colour(t, slot.posts > 0)
            if slot.posts:
                label = _(
                    "%(day)s %(hour)02d:00: %(score).2fx a typical post, %(posts)d posts at this hour"
                ) % {"day": WEEKDAYS[day], "hour": hour, "score": slot.score, "posts": slot.posts}
            else:
                label = _(
                    "%(day)s %(hour)02d:00: %(score).2fx a typical post, no posts at this hour (estimate from neighbouring hours)"
                ) % {"day": WEEKDAYS[day], "hour": hour, "score": slot.score}
            cells.append(
                {
                    "slot": slot,
                    "background": background,
                    "light": light,
                    "label": label,
                    "best": slot.index in top,
                }
            )
        rows.append({"name": WEEKDAYS[day], "short": WEEKDAYS_ABBR[day], "cells": cells})
    return rows


def _top_rows(estimate: besttime.Estimate) -> list[dict[str, Any]]:
    return [
        {
            "slot": s,
            "day": WEEKDAYS[s.weekday],
            "time": f"{s.hour:02d}:00",
            "lift": (s.score / estimate.mean_ratio - 1) * 100 if estimate.mean_ratio else 0.0,
        }
        for s in estimate.top
    ]


@workspace_view(Perm.ANALYTICS_VIEW)
@require_GET
def best_time_page(request: HttpRequest) -> HttpResponseBase:
    ws = _ws(request)
    channel_list = list(channels.list_channels(ws.pk).order_by("network", "name"))
    chosen = forms.parse_id(request.GET.get("channel"))
    weeks = forms.parse_id(request.GET.get("weeks"))
    weeks = weeks if weeks in PERIODS else besttime.DEFAULT_WEEKS
    if chosen is None and channel_list:
        chosen = channel_list[0].pk
    context: dict[str, Any] = {
        "tab": "best_time",
        "channels": channel_list,
        "chosen": chosen,
        "weeks": weeks,
        "periods": PERIODS,
        "hours": range(24),
        "k": besttime.K,
        "min_posts": besttime.MIN_POSTS,
        "ok_posts": besttime.OK_POSTS,
        "min_age": int(besttime.MIN_AGE_HOURS),
        "max_age": int(besttime.MAX_AGE_HOURS),
        "may_apply": can(workspace_request(request).role, Perm.POSTS_PUBLISH),
        "result": None,
    }
    if chosen is not None:
        try:
            result = besttime.best_time(_actor(request), chosen, weeks)
        except besttime.BestTimeError as exc:
            if exc.status == 404:
                raise Http404 from exc
            messages.error(request, exc.message)
        else:
            context["result"] = result
            context["rows"] = heat_rows(result.estimate)
            context["top"] = _top_rows(result.estimate)
    return render(request, "web/analytics_best_time.html", context)


@workspace_view(Perm.POSTS_PUBLISH)
@require_POST
def best_time_apply(request: HttpRequest, channel_id: int) -> HttpResponseBase:
    count = forms.parse_id(request.POST.get("count")) or besttime.TOP
    weeks = forms.parse_id(request.POST.get("weeks"))
    weeks = weeks if weeks in PERIODS else besttime.DEFAULT_WEEKS
    back = reverse("web:analytics_best_time") + f"?channel={channel_id}&weeks={weeks}"
    try:
        done = besttime.apply_best_time(_actor(request), channel_id, min(count, besttime.TOP), weeks)
    except DomainError as exc:  # the analytics' refusal, or the queue's (planning)
        if exc.status == 404:
            raise Http404 from exc
        messages.error(request, exc.message)
        return redirect(back)
    times = ", ".join(f"{WEEKDAYS_ABBR[d]} {t:%H:%M}" for d, t in done.added) or "—"
    if done.added:
        messages.success(request, _("Added to the queue: %(times)s.") % {"times": times})
    if done.existing:
        messages.info(
            request,
            _("Already in the queue: %(times)s.")
            % {"times": ", ".join(f"{WEEKDAYS_ABBR[d]} {t:%H:%M}" for d, t in done.existing)},
        )
    return redirect(back)


urlpatterns: list[URLPattern] = [
    path("analytics/best-time/", best_time_page, name="analytics_best_time"),
    path("analytics/best-time/<int:channel_id>/apply/", best_time_apply, name="analytics_best_time_apply"),
]
