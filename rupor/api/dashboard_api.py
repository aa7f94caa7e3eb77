"""Analytics dashboards over the API: the overview (figures with formula, previous period and
change, daily series, top posts, the 7x24 heatmap, channels), "what works" (slices and the mix)
and every table as CSV or XLSX. The same data the pages show (``analytics.dashboard``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from rupor.accounts import service as accounts
from rupor.accounts.roles import Perm
from rupor.analytics import dashboard, exports
from rupor.api.auth import need as _need
from rupor.api.errors import ERRORS
from rupor.core import clock, timezones

router = Router(tags=["analytics"])


class PeriodQuery(Schema):
    from_: str = Field("", alias="from", description="First day, YYYY-MM-DD (the workspace's time zone)")
    to: str = Field("", description="Last day, YYYY-MM-DD (default: today)")
    days: str = Field("", description="Instead of from/to: the last N days up to today (1-366)")
    channel: list[str] = Field(default_factory=list, description="Channel ids (repeat); none: every channel")


class FigureOut(Schema):
    key: str
    label: str
    value: float | None = Field(description="null when unknown (never 0 for unknown)")
    previous: float | None = Field(description="The same figure over the previous period of equal length")
    change_pct: float | None = Field(
        description="(value - previous) / |previous| x 100; null when not comparable"
    )
    formula: str
    note: str
    unit: str = Field(description='"%" for rates, "" for counts')


class DayOut(Schema):
    day: dt.date
    posts: int
    likes: int | None
    reposts: int | None
    comments: int | None
    views: int | None
    reach: int | None
    engagements: int | None
    reactions: int | None
    members: int | None
    joins: int | None
    leaves: int | None


class TopPostOut(Schema):
    channel_id: int
    channel_name: str
    network: str
    remote_post_id: str
    published_at: dt.datetime
    text_excerpt: str
    url: str
    content_format: str
    likes: int | None
    reposts: int | None
    comments: int | None
    views: int | None
    reach: int | None
    engagements: int | None = Field(
        description="likes + reposts + comments, or reactions where reactions_only"
    )
    followers: int | None
    er_post: float | None
    reactions_only: bool


class HeatCellOut(Schema):
    posts: int
    engagements: int
    mean: float | None


class ChannelRowOut(Schema):
    channel_id: int
    name: str
    network: str
    posts: int
    engagements: int | None
    reactions: int | None
    views: int | None
    reach: int | None
    er_post: float | None
    err: float | None
    members_start: int | None
    members_end: int | None
    joins: int | None
    leaves: int | None


class OverviewOut(Schema):
    start: dt.date
    end: dt.date
    previous_start: dt.date
    previous_end: dt.date
    timezone: str
    channel_ids: list[int]
    figures: list[FigureOut]
    daily: list[DayOut]
    top_posts: list[TopPostOut]
    heatmap: list[list[HeatCellOut]] = Field(description="[weekday][hour], Monday = 0, the workspace's zone")
    channels: list[ChannelRowOut]
    notes: list[str]


class SliceRowOut(Schema):
    key: str
    label: str
    posts: int
    share_pct: float
    mean_engagements: float | None
    median_engagements: float | None
    mean_er: float | None


class SliceOut(Schema):
    key: str
    title: str
    rows: list[SliceRowOut]


class MixRowOut(Schema):
    key: str
    label: str
    color: str
    target_share: int | None
    actual_share: float
    posts: int
    mean_engagements: float | None
    mean_er: float | None
    is_selling: bool | None


class ContentOut(Schema):
    start: dt.date
    end: dt.date
    timezone: str
    channel_ids: list[int]
    basis: str = Field(description='"engagements" or "reactions" (only reactions-only posts in the period)')
    posts: int
    slices: list[SliceOut]
    mix: list[MixRowOut]
    selling: list[MixRowOut]
    notes: list[str]


def _period(workspace_id: int, q: PeriodQuery) -> tuple[dt.date, dt.date, list[int]]:
    zone = accounts.workspace_info(workspace_id).timezone
    today = timezones.to_local(clock.now(), zone).date()
    start, end = dashboard.parse_period(q.from_, q.to, q.days, today)
    return start, end, dashboard.parse_channels(q.channel)


@router.get(
    "/analytics/overview",
    response={200: OverviewOut, **ERRORS},
    summary="The dashboard: figures with formulas and change, daily series, top posts, heatmap",
)
def overview(request: HttpRequest, q: Query[PeriodQuery]) -> Any:
    who = _need(request, Perm.REPORTS_VIEW)
    start, end, channel_ids = _period(who.workspace_id, q)
    return dataclasses.asdict(dashboard.overview(who.workspace_id, start, end, channel_ids=channel_ids))


@router.get(
    "/analytics/content",
    response={200: ContentOut, **ERRORS},
    summary="What works: results by rubric, format, text length, hour and weekday, and the mix",
)
def content(request: HttpRequest, q: Query[PeriodQuery]) -> Any:
    who = _need(request, Perm.ANALYTICS_VIEW)
    start, end, channel_ids = _period(who.workspace_id, q)
    return dataclasses.asdict(dashboard.content_slices(who.workspace_id, start, end, channel_ids=channel_ids))


@router.get(
    "/analytics/export/{table}.{fmt}",
    response={200: None, **ERRORS},
    summary="A dashboard table as csv or xlsx (overview.xlsx / content.xlsx: every table of the page)",
    description="Tables: figures, daily, top_posts, channels, heatmap (overview); rubric, format, "
    "length, hour, weekday, mix, selling (what works, analytics.view only).",
)
def export(request: HttpRequest, table: str, fmt: str, q: Query[PeriodQuery]) -> Any:
    who = _need(request, Perm.REPORTS_VIEW)
    start, end, channel_ids = _period(who.workspace_id, q)
    got = exports.download(
        who.workspace_id,
        table,
        fmt,
        start,
        end,
        channel_ids=channel_ids,
        content_allowed=who.can(Perm.ANALYTICS_VIEW),
    )
    out = HttpResponse(got.body, content_type=got.content_type)
    out["Content-Disposition"] = f'attachment; filename="{got.filename}"'
    return out
