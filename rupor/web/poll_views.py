"""Poll and quiz results (analytics): votes per option as bars, voters, a quiz's right share,
open or closed; for one post (``?post=ID``) or the workspace's latest."""

from __future__ import annotations

from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET

from rupor.accounts.roles import Perm
from rupor.analytics import service as analytics
from rupor.web.analytics_views import number
from rupor.web.base import workspace_request, workspace_view


@workspace_view(Perm.ANALYTICS_VIEW)
@require_GET
def polls_page(request: HttpRequest) -> HttpResponseBase:
    here = workspace_request(request)
    raw = request.GET.get("post", "").strip()
    post_id: int | None = None
    if raw:
        if not raw.isdigit() or len(raw) > 12:
            raise Http404
        post_id = int(raw)
    results = [
        {
            "r": r,
            "options": [(o, number(100 * o.share, percent=True, digits=0)) for o in r.options],
            "correct": number(100 * r.correct_share, percent=True, digits=0)
            if r.correct_share is not None
            else "",
        }
        for r in analytics.poll_results(here.workspace.pk, post_id)
    ]
    return render(
        request, "web/analytics_polls.html", {"tab": "polls", "results": results, "post_id": post_id}
    )


urlpatterns: list[URLPattern] = [
    path("analytics/polls/", polls_page, name="analytics_polls"),
]
