"""Tracked links over the API: the workspace's UTM and short-link conventions, its short links
with their clicks (people and bots apart, unique per day), a post's links, and the CSV export.
The same data the links page shows (``links.service``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from rupor.accounts.roles import Perm
from rupor.accounts.service import Actor
from rupor.api.auth import need as _need
from rupor.api.errors import ERRORS
from rupor.core import clock
from rupor.links import service as links

router = Router(tags=["links"])


class ConventionsIO(Schema):
    utm_enabled: bool = Field(False, description="Tag every link of a published variant with UTM parameters")
    medium: str = Field("social", description="utm_medium: social or paid_social")
    campaign_source: str = Field(
        "rubric", description="utm_campaign from the post's rubric, its internal title, or the fixed name"
    )
    campaign: str = Field("", description="The fixed campaign name (and the fallback); lower-cased")
    short_links: bool = Field(False, description="Replace each link by a Rupor short link that counts clicks")
    short_domain: str = Field(
        "", description="https://go.example.com: where short links point; empty: Rupor's address"
    )
    newsletter_links: bool = Field(
        True, description="Tag and shorten the links of newsletters, whose clicks are then counted"
    )
    newsletter_medium: str = Field("email", description="utm_medium of newsletters: email or newsletter")


class StatsOut(Schema):
    clicks: int
    human: int = Field(description="Clicks by people")
    bot: int = Field(description="Link-preview fetchers, crawlers, HEAD requests, bursts from one address")
    unique: int = Field(
        description="People counted once per link per UTC day (a keyed hash of address and agent)"
    )


class LinkOut(Schema):
    id: int
    code: str
    short_url: str
    url: str = Field(description="Where it leads, with its UTM tags")
    post_id: int | None
    channel_id: int | None
    network: str
    created_at: dt.datetime
    stats: StatsOut


class LinksQuery(Schema):
    post_id: int | None = Field(None, description="Only this post's links")
    network: str = Field("", description="Only links published on this network")
    days: int | None = Field(None, ge=1, le=366, description="Clicks of the last N days only; none: all")


class NetworkStatsOut(Schema):
    network: str
    stats: StatsOut


def _since(days: int | None) -> dt.datetime | None:
    return clock.now() - dt.timedelta(days=days) if days else None


def _rows(who: Actor, query: LinksQuery) -> list[links.LinkRow]:
    return links.links_table(who, post_id=query.post_id, network=query.network, since=_since(query.days))


@router.get(
    "/links/settings", response={200: ConventionsIO, **ERRORS}, summary="The workspace's link conventions"
)
def get_settings(request: HttpRequest) -> Any:
    who = _need(request, Perm.ANALYTICS_VIEW)
    return dataclasses.asdict(links.conventions(who.workspace_id))


@router.put(
    "/links/settings",
    response={200: ConventionsIO, **ERRORS},
    summary="Set the link conventions (managers and up)",
)
def put_settings(request: HttpRequest, payload: ConventionsIO) -> Any:
    who = _need(request, Perm.ANALYTICS_MANAGE)
    saved = links.save_conventions(who, links.Conventions(**payload.dict()))
    return dataclasses.asdict(saved)


@router.get(
    "/links", response={200: list[LinkOut], **ERRORS}, summary="Short links with their clicks, newest first"
)
def list_links(request: HttpRequest, query: Query[LinksQuery]) -> Any:
    who = _need(request, Perm.ANALYTICS_VIEW)
    return [dataclasses.asdict(r) for r in _rows(who, query)]


@router.get(
    "/links/networks",
    response={200: list[NetworkStatsOut], **ERRORS},
    summary="Clicks by the network the link was published on",
)
def by_network(request: HttpRequest, days: int | None = None) -> Any:
    who = _need(request, Perm.ANALYTICS_VIEW)
    found = links.network_stats(who.workspace_id, since=_since(days))
    return [{"network": n, "stats": dataclasses.asdict(s)} for n, s in sorted(found.items())]


@router.get(
    "/links/export.csv",
    response={200: None, **ERRORS},
    summary="The short links and their clicks as CSV (the same filters as /links)",
)
def export_csv(request: HttpRequest, query: Query[LinksQuery]) -> Any:
    who = _need(request, Perm.ANALYTICS_VIEW)
    out = HttpResponse(links.links_csv(_rows(who, query)), content_type="text/csv; charset=utf-8")
    out["Content-Disposition"] = 'attachment; filename="links.csv"'
    return out
