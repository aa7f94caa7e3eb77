"""Analytics pages of the watchlist: competitors (/analytics/competitors/: the watched pages,
their comparison and top posts; managers and up add and remove pages) and keyword trends
(/analytics/trends/: each keyword's last day per hour and whether it is spiking)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from rupor.accounts.roles import Perm, can
from rupor.analytics import competitors
from rupor.core import clock
from rupor.core.errors import DomainError
from rupor.inbox import trends
from rupor.web import forms
from rupor.web.base import _actor, workspace_request, workspace_view

#: The periods the comparison offers, in days.
PERIODS = (7, 30, 90)


def _format_labels() -> dict[str, str]:
    return {
        "text": _("Text"),
        "photo": _("Photo"),
        "video": _("Video"),
        "poll": _("Poll"),
        "link": _("Link"),
    }


def _days(request: HttpRequest) -> int:
    raw = request.GET.get("days", "")
    return int(raw) if raw in {str(p) for p in PERIODS} else 30


def _competitors_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    here = workspace_request(request)
    ws_id = here.workspace.pk
    days = _days(request)
    end = clock.now()
    comparison = competitors.compare(ws_id, end - dt.timedelta(days=days), end)
    labels = _format_labels()
    rows = [
        {
            "f": f,
            "formats": [(labels[k], round(v * 100)) for k, v in f.formats.items()],
        }
        for f in comparison.pages
    ]
    readers = competitors.reading_channels(ws_id)
    return {
        "tab": "competitors",
        "comparison": comparison,
        "rows": rows,
        "days": days,
        "periods": PERIODS,
        "readers": readers,
        "can_manage": can(here.role, Perm.ANALYTICS_MANAGE),
        "format_labels": labels,
        "form": {"handle": "", "channel": ""},
        "problem": "",
        "problem_field": "",
        "max_pages": competitors.MAX_PAGES,
        **extra,
    }


@workspace_view(Perm.ANALYTICS_VIEW)
@require_http_methods(["GET", "POST"])
def competitors_page(request: HttpRequest) -> HttpResponseBase:
    if request.method == "POST":
        here = workspace_request(request)
        if not can(here.role, Perm.ANALYTICS_MANAGE):
            raise PermissionDenied(_("Your role in this workspace does not allow this."))
        action = request.POST.get("action")
        if action == "remove":
            return _remove(request)
        if action == "read":
            return _read(request)
        return _add(request)
    return render(request, "web/analytics_competitors.html", _competitors_context(request))


def _add(request: HttpRequest) -> HttpResponseBase:
    typed = {"handle": request.POST.get("handle", "")[:300], "channel": request.POST.get("channel", "")[:20]}
    channel_id = forms.parse_id(typed["channel"]) if typed["channel"] else None
    try:
        if typed["channel"] and channel_id is None:
            raise competitors.AnalyticsError(_("No such channel."), "channel", 404)
        page = competitors.add_page(_actor(request), typed["handle"], channel_id=channel_id)
    except DomainError as exc:
        context = _competitors_context(
            request, form=typed, problem=str(exc), problem_field=exc.field or "handle"
        )
        return render(request, "web/analytics_competitors.html", context, status=exc.status)
    messages.success(request, _("Rupor now watches %(name)s.") % {"name": page.name or page.handle})
    return redirect("web:analytics_competitors")


def _page_id(request: HttpRequest) -> int:
    page_id = forms.parse_id(request.POST.get("page"))
    if page_id is None:
        raise competitors.AnalyticsError(_("No such watched page."), status=404)
    return page_id


def _remove(request: HttpRequest) -> HttpResponseBase:
    try:
        competitors.remove_page(_actor(request), _page_id(request))
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The page is no longer watched."))
    return redirect("web:analytics_competitors")


def _read(request: HttpRequest) -> HttpResponseBase:
    here = workspace_request(request)
    try:
        page = competitors.get_page(here.workspace.pk, _page_id(request))
        competitors.read_page(page.id)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("%(name)s was read just now.") % {"name": page.name})
    return redirect("web:analytics_competitors")


# -- trends --------------------------------------------------------------------------------

SPARK_W, SPARK_H = 168, 32


def sparkline(values: tuple[int, ...], label: str) -> SafeString:
    """A small SVG line of hourly counts (the last point marked), titled for screen readers."""
    top = max(values) if values and max(values) > 0 else 1
    step = SPARK_W / max(len(values) - 1, 1)
    points = " ".join(
        f"{i * step:.1f},{SPARK_H - 2 - v / top * (SPARK_H - 4):.1f}" for i, v in enumerate(values)
    )
    last_x = (len(values) - 1) * step
    last_y = SPARK_H - 2 - (values[-1] / top * (SPARK_H - 4) if values else 0)
    return format_html(
        '<svg class="spark" width="{}" height="{}" viewBox="0 0 {} {}" role="img" aria-label="{}">'
        "<title>{}</title>"
        '<polyline points="{}" fill="none" stroke="currentColor" stroke-width="1.6" '
        'stroke-linejoin="round" stroke-linecap="round"></polyline>'
        '<circle cx="{}" cy="{}" r="2.4" fill="currentColor"></circle></svg>',
        SPARK_W,
        SPARK_H,
        SPARK_W,
        SPARK_H,
        label,
        label,
        points,
        f"{last_x:.1f}",
        f"{last_y:.1f}",
    )


@workspace_view(Perm.ANALYTICS_VIEW)
@require_http_methods(["GET", "POST"])
def trends_page(request: HttpRequest) -> HttpResponseBase:
    here = workspace_request(request)
    ws_id = here.workspace.pk
    if request.method == "POST":
        try:
            trends.set_settings(
                _actor(request),
                alerts=request.POST.get("alerts") == "on",
                email=request.POST.get("email") == "on",
            )
        except DomainError as exc:
            if exc.status == 403:
                raise PermissionDenied(str(exc)) from exc
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Trend alert settings saved."))
        return redirect("web:analytics_trends")
    rows = []
    for t in trends.trends(ws_id):
        label = _("“%(keyword)s” per hour over the last day: %(counts)s") % {
            "keyword": t.phrase,
            "counts": ", ".join(str(v) for v in t.hourly),
        }
        rows.append({"t": t, "spark": sparkline(t.hourly, label)})
    alerts_on, email_on = trends.settings(ws_id)
    return render(
        request,
        "web/analytics_trends.html",
        {
            "tab": "trends",
            "rows": rows,
            "alerts_on": alerts_on,
            "email_on": email_on,
            "can_configure": can(here.role, Perm.INBOX_SETTINGS),
            "can_monitor": can(here.role, Perm.INBOX_MONITOR) or can(here.role, Perm.INBOX_VIEW),
            "baseline_days": trends.BASELINE_DAYS,
            "min_count": trends.MIN_COUNT,
            "z_alert": trends.Z_ALERT,
        },
    )


urlpatterns: list[URLPattern] = [
    path("analytics/competitors/", competitors_page, name="analytics_competitors"),
    path("analytics/trends/", trends_page, name="analytics_trends"),
]
