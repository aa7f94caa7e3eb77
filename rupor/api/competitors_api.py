"""Competitors and keyword trends: the watched public pages of other brands (managers and up
change the list), their side-by-side comparison and top posts, and the keywords' hourly trends."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.responses import Status
from pydantic import Field

from rupor.accounts.roles import Perm
from rupor.analytics import competitors
from rupor.api.auth import need as _need
from rupor.api.errors import ERRORS, ApiError
from rupor.core import clock
from rupor.inbox import trends

router = Router(tags=["analytics"])

MAX_ID = 2**63 - 1


class PageIn(Schema):
    handle: str = Field(
        ...,
        min_length=1,
        max_length=200,
        description="The page's address or short name (vk.com/club1, rivalnews)",
    )
    channel_id: int | None = Field(
        None,
        ge=1,
        le=MAX_ID,
        description="The channel that reads it; empty: one on the network the address names (a bare name: each network in turn)",
    )
    network: str = Field("", max_length=32, description="With no channel: the network to read it on (vk, ok)")


class PageOut(Schema):
    id: int
    network: str
    handle: str
    remote_id: str
    name: str
    url: str
    members: int | None
    channel_id: int | None
    added_at: dt.datetime
    last_read_at: dt.datetime | None
    next_read_at: dt.datetime | None
    posts: int = Field(description="Posts collected")
    last_error: str = Field(
        description="Why the last reading failed (the collected figures stay); empty when it worked"
    )
    last_error_at: dt.datetime | None


class PageFiguresOut(Schema):
    page: PageOut
    posts: int
    members: int | None
    members_start: int | None
    growth: int | None
    growth_pct: float | None
    posts_per_week: float
    er_post: float | None
    er_day: float | None
    er_view: float | None
    love_rate: float | None
    amplification_rate: float | None
    talk_rate: float | None
    median_engagements: float | None
    formats: dict[str, float] = Field(
        description="Share of posts per format (text, photo, video, poll, link)"
    )


class TopPostOut(Schema):
    page_id: int
    page_name: str
    network: str
    remote_id: str
    url: str
    text: str
    published_at: dt.datetime
    content_format: str
    likes: int | None
    reposts: int | None
    comments: int | None
    views: int | None
    engagements: int
    page_median: float
    relative: float = Field(
        description="engagements / the median engagements of the page's posts in the period"
    )


class ComparisonOut(Schema):
    start: dt.datetime
    end: dt.datetime
    pages: list[PageFiguresOut]
    top_posts: list[TopPostOut]
    formulas: dict[str, str]


class Period(Schema):
    start: dt.datetime | None = None
    end: dt.datetime | None = None


class ReadOut(Schema):
    post_readings: int


class TrendOut(Schema):
    keyword_id: int
    phrase: str
    hourly: list[int] = Field(description="Texts naming the keyword per hour over the last day, oldest first")
    hours_start: dt.datetime
    total: int
    inbox: int
    pages: int
    count: int = Field(description="In the current hour")
    baseline: float = Field(description="Mean of the same hour on the previous 7 days")
    z: float
    spiking: bool
    last_spike: dt.datetime | None


@router.get("/competitors", response={200: list[PageOut], **ERRORS}, summary="The watched competitor pages")
def list_pages(request: HttpRequest) -> Any:
    who = _need(request, Perm.ANALYTICS_VIEW)
    return [dataclasses.asdict(p) for p in competitors.list_pages(who.workspace_id)]


@router.post(
    "/competitors",
    response={201: PageOut, **ERRORS},
    summary="Watch a public page of another brand (managers and up); it is read at once",
)
def add_page(request: HttpRequest, payload: PageIn) -> Any:
    who = _need(request, Perm.ANALYTICS_MANAGE)
    page = competitors.add_page(who, payload.handle, channel_id=payload.channel_id, network=payload.network)
    return Status(201, dataclasses.asdict(page))


@router.get(
    "/competitors/comparison",
    response={200: ComparisonOut, **ERRORS},
    summary="Every watched page side by side over a period (default: the last 30 days), and top posts",
)
def comparison(request: HttpRequest, period: Query[Period]) -> Any:
    who = _need(request, Perm.ANALYTICS_VIEW)
    end = period.end or clock.now()
    start = period.start or end - dt.timedelta(days=30)
    if start.tzinfo is None or end.tzinfo is None:
        raise ApiError(422, "Give start and end with a time zone (e.g. 2025-01-01T00:00:00Z).", "start")
    if end - start > dt.timedelta(days=366):
        raise ApiError(422, "The period may be at most a year long.", "start")
    return dataclasses.asdict(
        competitors.compare(who.workspace_id, start.astimezone(dt.UTC), end.astimezone(dt.UTC))
    )


@router.get("/competitors/{page_id}", response={200: PageOut, **ERRORS}, summary="One watched page")
def get_page(request: HttpRequest, page_id: int) -> Any:
    who = _need(request, Perm.ANALYTICS_VIEW)
    return dataclasses.asdict(competitors.get_page(who.workspace_id, _id(page_id)))


@router.delete(
    "/competitors/{page_id}",
    response={204: None, **ERRORS},
    summary="Stop watching a page (managers and up); what was collected goes with it",
)
def remove_page(request: HttpRequest, page_id: int) -> Any:
    who = _need(request, Perm.ANALYTICS_MANAGE)
    competitors.remove_page(who, _id(page_id))
    return Status(204, None)


@router.post(
    "/competitors/{page_id}/read",
    response={200: ReadOut, **ERRORS},
    summary="Read a watched page now (managers and up)",
)
def read_page(request: HttpRequest, page_id: int) -> Any:
    who = _need(request, Perm.ANALYTICS_MANAGE)
    page = competitors.get_page(who.workspace_id, _id(page_id))
    return {"post_readings": competitors.read_page(page.id)}


@router.get(
    "/analytics/trends",
    response={200: list[TrendOut], **ERRORS},
    summary="Each watched keyword's last day per hour and its spike score (daily cycle removed)",
)
def keyword_trends(request: HttpRequest) -> Any:
    who = _need(request, Perm.ANALYTICS_VIEW)
    return [dataclasses.asdict(t) for t in trends.trends(who.workspace_id)]


def _id(value: int) -> int:
    if not 1 <= value <= MAX_ID:
        raise ApiError(404, "No such watched page.")
    return value
