"""The inbox's people page: the audience ranked as opinion leaders (inbox/audience.py), with a
period, a channel or network filter and a CSV download of the same list."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET

from rupor.accounts.roles import Perm
from rupor.channels import service as channels
from rupor.core.errors import DomainError
from rupor.inbox import audience
from rupor.inbox import service as inbox
from rupor.networks import registry
from rupor.web import forms
from rupor.web.base import _actor, _ws, workspace_view

#: People shown on the page and written to the CSV.
SHOWN = 100


@dataclass(frozen=True)
class PeopleQuery:
    days: int
    channel_id: int | None
    network: str

    def params(self) -> str:
        q = QueryDict(mutable=True)
        q["days"] = str(self.days)
        if self.channel_id:
            q["channel"] = str(self.channel_id)
        if self.network:
            q["network"] = self.network
        return q.urlencode()


def _query(params: QueryDict) -> PeopleQuery:
    days = forms.parse_id(params.get("days"))
    network = params.get("network", "")
    return PeopleQuery(
        days=days if days in inbox.PEOPLE_PERIODS else 30,
        channel_id=forms.parse_id(params.get("channel")),
        network=network if network in registry.DISPLAY_NAMES else "",
    )


def _leaders(request: HttpRequest, q: PeopleQuery) -> list[audience.Leader]:
    try:
        return inbox.opinion_leaders(
            _actor(request), days=q.days, channel_id=q.channel_id, network=q.network or None, limit=SHOWN
        )
    except DomainError as exc:  # a channel of another workspace, or one since removed
        messages.error(request, str(exc))
        return []


@workspace_view(Perm.INBOX_VIEW)
@require_GET
def people_page(request: HttpRequest) -> HttpResponseBase:
    ws = _ws(request)
    q = _query(request.GET)
    in_use = sorted({c.network for c in channels.workspace_channels(ws.pk)})
    context: dict[str, Any] = {
        "people": _leaders(request, q),
        "q": q,
        "periods": inbox.PEOPLE_PERIODS,
        "channels": channels.list_channels(ws.pk),
        "networks": [(n, registry.DISPLAY_NAMES.get(n, n)) for n in in_use],
        "csv_params": q.params(),
    }
    return render(request, "web/inbox_people.html", context)


#: What makes a spreadsheet read a cell as a formula (CSV injection); the same rule as the plan
#: export's, which this entry point may not import from another domain's internals.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def _cell(value: object) -> str:
    if value is None:
        return ""
    text = str(value)
    if isinstance(value, int | float) or text.lstrip("-").isdigit():
        return text  # a number (VK writes communities as negative ids) is no formula
    return "'" + text if text.startswith(_FORMULA_START) else text


@workspace_view(Perm.INBOX_VIEW)
@require_GET
def people_csv(request: HttpRequest) -> HttpResponseBase:
    ws = _ws(request)
    q = _query(request.GET)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "rank",
            "network",
            "remote_id",
            "name",
            "profile_url",
            "avatar_url",
            "followers",
            "items",
            "posts",
            "replies_received",
            "repliers",
            "influence",
            "score",
            "last_at",
            "latest_text",
        ]
    )
    for rank, p in enumerate(_leaders(request, q), start=1):
        writer.writerow(
            [
                _cell(c)
                for c in (
                    rank,
                    p.network,
                    p.remote_id,
                    p.name,
                    p.url,
                    p.avatar_url,
                    p.followers,
                    p.items,
                    p.posts,
                    p.replies_received,
                    p.repliers,
                    p.influence,
                    p.score,
                    p.last_at.isoformat(),
                    p.latest[0].text if p.latest else "",
                )
            ]
        )
    response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{ws.slug}-people-{q.days}d.csv"'
    return response


urlpatterns: list[URLPattern] = [
    path("inbox/people/", people_page, name="inbox_people"),
    path("inbox/people.csv", people_csv, name="inbox_people_csv"),
]
