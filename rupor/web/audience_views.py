"""The audience page: who each channel's followers are, where the network tells
(analytics/audience.py), as bars with a table and their change over time."""

from __future__ import annotations

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET

from rupor.accounts.roles import Perm
from rupor.analytics import service as analytics
from rupor.channels import service as channels
from rupor.web.base import workspace_request, workspace_view

PRESETS = (7, 30, 90)


def _int(value: str | None) -> int | None:
    try:
        return int((value or "").strip())
    except ValueError:
        return None


@workspace_view(Perm.ANALYTICS_VIEW)
@require_GET
def audience_page(request: HttpRequest) -> HttpResponseBase:
    here = workspace_request(request)
    available = channels.workspace_channels(here.workspace.pk)
    chosen_id = _int(request.GET.get("channel"))
    chosen = next((c for c in available if c.id == chosen_id), None)
    if chosen is None:
        # The first channel whose network reports an audience, else the first channel.
        chosen = next((c for c in available if c.network in analytics.audience_networks()), None) or (
            available[0] if available else None
        )
    basis = request.GET.get("basis", "visitors")
    days = _int(request.GET.get("days")) or 30
    problem = ""
    result = None
    if chosen is not None:
        try:
            result = analytics.channel_audience(here.workspace.pk, chosen.id, basis=basis, days=days)
        except analytics.AudienceError as exc:
            problem = exc.message
            basis, days = "visitors", 30
            result = analytics.channel_audience(here.workspace.pk, chosen.id)
    return render(
        request,
        "web/audience.html",
        {
            "channels": available,
            "chosen": chosen,
            "audience": result,
            "basis": basis,
            "days": days,
            "presets": PRESETS,
            "problem": problem,
            "tab": "audience",
        },
        status=422 if problem else 200,
    )


urlpatterns: list[URLPattern] = [
    path("analytics/audience/", audience_page, name="analytics_audience"),
]
