"""Tracked links: the workspace's short links with their clicks (people and bots apart, unique
per day), clicks by network, the site traffic web analytics counted for them (traffic_views.py),
the UTM and short-link conventions (managers and up change them), and the CSV export. They
parse, call ``links.service`` and render."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from rupor.accounts.roles import Perm, can
from rupor.core import clock
from rupor.links import service as links
from rupor.web import forms, traffic_views
from rupor.web.base import _actor, _ws, workspace_request, workspace_view

#: Click periods offered, in days (0: since the link was made).
PERIODS = (7, 30, 90, 0)


def _filters(request: HttpRequest) -> dict[str, Any]:
    days = forms.parse_id(request.GET.get("days"))
    return {
        "days": days if days in PERIODS else 30,
        "network": request.GET.get("network", "")[:32],
        "post": forms.parse_id(request.GET.get("post")),
    }


def _rows(request: HttpRequest, f: dict[str, Any]) -> list[links.LinkRow]:
    since = clock.now() - dt.timedelta(days=f["days"]) if f["days"] else None
    return links.links_table(_actor(request), post_id=f["post"], network=f["network"], since=since)


@workspace_view(Perm.ANALYTICS_VIEW)
@require_GET
def links_page(request: HttpRequest) -> HttpResponseBase:
    here = workspace_request(request)
    f = _filters(request)
    rows = _rows(request, f)
    since = clock.now() - dt.timedelta(days=f["days"]) if f["days"] else None
    networks = links.network_stats(here.workspace.pk, since=since)
    total = sum(networks.values(), links.Stats())
    query = "&".join(f"{k}={v}" for k, v in f.items() if v)
    site = traffic_views.links_section(request, f["days"], f["network"], f["post"])
    visits = site.get("by_network", {})
    return render(
        request,
        "web/analytics_links.html",
        {
            "tab": "links",
            "rows": rows,
            "f": f,
            "periods": PERIODS,
            "networks": sorted(networks.items()),
            "total": total,
            "conv": links.conventions(here.workspace.pk),
            "may_manage": can(here.role, Perm.ANALYTICS_MANAGE),
            "mediums": links.MEDIUMS,
            "sources": links.CAMPAIGN_SOURCES,
            "newsletter_mediums": links.NEWSLETTER_MEDIUMS,
            "query": query,
            "filters": {"query": ""},
            "traffic": site,
            # Each network with clicks or site sessions: its clicks beside its sessions.
            "network_rows": [
                (n, networks.get(n, links.Stats()), visits.get(n))
                for n in sorted(set(networks) | set(visits))
            ],
        },
    )


@workspace_view(Perm.ANALYTICS_MANAGE)
@require_POST
def links_settings(request: HttpRequest) -> HttpResponseBase:
    data = request.POST
    try:
        links.save_conventions(
            _actor(request),
            links.Conventions(
                utm_enabled=data.get("utm_enabled") == "1",
                medium=data.get("medium", ""),
                campaign_source=data.get("campaign_source", ""),
                campaign=data.get("campaign", ""),
                short_links=data.get("short_links") == "1",
                short_domain=data.get("short_domain", ""),
                newsletter_links=data.get("newsletter_links") == "1",
                # A form from before the newsletter settings keeps the medium as it is.
                newsletter_medium=data.get("newsletter_medium")
                or links.conventions(_ws(request).pk).newsletter_medium,
            ),
        )
    except links.LinksError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Link settings saved. They apply to what is published from now on."))
    return redirect(reverse("web:analytics_links") + "#link-settings")


@workspace_view(Perm.ANALYTICS_VIEW)
@require_GET
def links_export(request: HttpRequest) -> HttpResponseBase:
    out = HttpResponse(
        links.links_csv(_rows(request, _filters(request))), content_type="text/csv; charset=utf-8"
    )
    out["Content-Disposition"] = 'attachment; filename="links.csv"'
    return out


urlpatterns: list[URLPattern] = [
    path("analytics/links/", links_page, name="analytics_links"),
    path("analytics/links/settings/", links_settings, name="analytics_links_settings"),
    path("analytics/links/export.csv", links_export, name="analytics_links_export"),
]
