"""Analytics endpoints: post and channel figures (with the formulas they use), collecting
readings now, and public pages of competitors."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from rupor.accounts.roles import Perm
from rupor.analytics import service as analytics
from rupor.api.auth import need as _need
from rupor.api.errors import ERRORS, ApiError
from rupor.channels import service as channels
from rupor.core import clock

router = Router(tags=["analytics"])


class VariantMetricsOut(Schema):
    variant_id: int
    target_id: int
    channel_id: int
    network: str
    remote_id: str
    readings: int = Field(description="How many readings are stored for this variant")
    read_at: dt.datetime | None
    likes: int | None
    reposts: int | None
    comments: int | None
    views: int | None = Field(description="null when the network does not report views (Telegram bots)")
    reach: int | None
    reactions: dict[str, int]
    extra: dict[str, Any]
    engagements: int | None = Field(description="E = likes + reposts + comments")
    followers: int | None
    er_reach: float | None = Field(description="ERR = E / reach x 100%")
    er_followers: float | None = Field(description="ERpost (Popsters) = E / followers x 100%")
    er_views: float | None = Field(description="ERview (Popsters) = E / views x 100%")
    reactions_only: bool = Field(
        description="true where the network gives only emoji reactions (Telegram): the three rates are "
        "then reaction rates, named so in rate_names, not ERR / ERpost / ERview"
    )
    rate_names: dict[str, str] = Field(description="What each rate of this variant is, by what went into it")
    deleted_at: dt.datetime | None = Field(description="When Rupor found the post deleted on the network")
    notes: list[str]


class PostMetricsOut(Schema):
    post_id: int
    engagement_set: str
    formulas: dict[str, str]
    variants: list[VariantMetricsOut]


class GrowthPointOut(Schema):
    read_at: dt.datetime
    members: int | None
    joins: int | None
    leaves: int | None


class ChannelGrowthOut(Schema):
    channel_id: int
    network: str
    start: dt.datetime
    end: dt.datetime
    points: list[GrowthPointOut]
    members_start: int | None
    members_end: int | None
    net_growth: int | None
    growth_rate: float | None
    joins: int | None = Field(
        description="Joins in the period: counted from join events, or summed from the network's daily "
        "statistics; null when nothing tells them (never 0 for unknown; see notes)"
    )
    leaves: int | None = Field(description="Leaves in the period, like joins")
    churn: float | None = Field(description="Churn = leaves / members at the start x 100%")
    joins_source: str = Field(
        description='"events" (join/leave events received), "stats" (the network\'s daily statistics, '
        'whole days) or "" (unknown)'
    )
    notes: list[str]
    formulas: dict[str, str]


class GrowthFilters(Schema):
    start: dt.datetime | None = None
    end: dt.datetime | None = None


class CollectOut(Schema):
    channel_id: int
    channel_readings: int
    post_readings: int
    notes: list[str]


class AudienceBarOut(Schema):
    key: str = Field(
        description='The network\'s value: "f", "18-21", "f;18-21", a city id, a country code, "mobile"'
    )
    label: str
    count: int
    share: float = Field(description="Percent of the dimension's total that day")
    share_before: float | None = Field(description="The share on the compared day")
    change: float | None = Field(description="share - share_before, in percentage points")


class AudienceBreakdownOut(Schema):
    dimension: str = Field(description="sex, age, sex_age, city, country or device")
    title: str
    total: int
    bars: list[AudienceBarOut]


class AudienceHistoryRowOut(Schema):
    day: dt.date
    shares: list[float | None]


class AudienceHistoryOut(Schema):
    dimension: str
    title: str
    keys: list[str]
    labels: list[str]
    rows: list[AudienceHistoryRowOut]


class AudienceOut(Schema):
    channel_id: int
    network: str
    basis: str = Field(
        description='"visitors" (people who opened the community) or "reach" (who saw its posts)'
    )
    supported: bool = Field(
        description="false where the network tells nothing about the audience (see notes)"
    )
    day: dt.date | None = Field(description="The newest day reported")
    compared_day: dt.date | None = Field(
        description="The earliest day reported in the window: changes are against it"
    )
    days_with_data: int
    breakdowns: list[AudienceBreakdownOut]
    history: list[AudienceHistoryOut]
    notes: list[str]


class AudienceFilters(Schema):
    basis: str = "visitors"
    days: int = 30


class CompetitorPostOut(Schema):
    remote_id: str
    text: str
    published_at: dt.datetime
    likes: int | None
    reposts: int | None
    comments: int | None
    views: int | None
    url: str | None
    er_followers: float | None


class CompetitorOut(Schema):
    remote_id: str
    name: str
    members: int | None
    url: str | None
    posts: list[CompetitorPostOut]
    average_er_followers: float | None
    formula: str


@router.get(
    "/posts/{post_id}/metrics",
    response={200: PostMetricsOut, **ERRORS},
    summary="Latest figures of each variant, with engagement rates",
)
def post_metrics(request: HttpRequest, post_id: int) -> Any:
    who = _need(request, Perm.ANALYTICS_VIEW)
    return dataclasses.asdict(analytics.post_summary(who.workspace_id, post_id))


@router.get(
    "/channels/{channel_id}/metrics",
    response={200: ChannelGrowthOut, **ERRORS},
    summary="Members, joins and leaves over a period (default: the last 30 days)",
)
def channel_metrics(request: HttpRequest, channel_id: int, filters: Query[GrowthFilters]) -> Any:
    who = _need(request, Perm.ANALYTICS_VIEW)
    end = filters.end or clock.now()
    start = filters.start or end - dt.timedelta(days=30)
    if start.tzinfo is None or end.tzinfo is None:
        raise ApiError(422, "Give start and end with a time zone (e.g. 2025-01-01T00:00:00Z).", "start")
    start, end = (
        start.astimezone(dt.UTC),
        end.astimezone(dt.UTC),
    )  # no database sees an offset it cannot store
    return dataclasses.asdict(analytics.channel_growth(who.workspace_id, channel_id, start, end))


@router.post(
    "/channels/{channel_id}/metrics/collect",
    response={200: CollectOut, **ERRORS},
    summary="Read the channel's and its posts' figures now",
)
def collect(request: HttpRequest, channel_id: int) -> Any:
    who = _need(request, Perm.ANALYTICS_VIEW)
    channels.get_channel(who.workspace_id, channel_id)
    counts = {"channel_readings": 0, "post_readings": 0}
    notes: list[str] = []
    failures: list[analytics.AnalyticsError] = []
    for key, collect_fn in (
        ("channel_readings", analytics.collect_channel_metrics),
        ("post_readings", analytics.collect_post_metrics),
    ):
        try:
            result = collect_fn(channel_id)
        except analytics.AnalyticsError as exc:
            failures.append(exc)
            notes.append(exc.message)
            continue
        counts[key] = result.readings
        notes.extend(result.notes)
    # One kind of figure the network cannot read is a note; a network failure is an error.
    if len(failures) == 2 or any(f.status != 422 for f in failures):
        raise ApiError(failures[-1].status, failures[-1].message, failures[-1].field)
    return {"channel_id": channel_id, **counts, "notes": notes}


@router.get(
    "/channels/{channel_id}/audience",
    response={200: AudienceOut, **ERRORS},
    summary="Who the channel's audience is (sex, age, cities, countries, devices), where the network tells",
)
def audience(request: HttpRequest, channel_id: int, filters: Query[AudienceFilters]) -> Any:
    who = _need(request, Perm.ANALYTICS_VIEW)
    return dataclasses.asdict(
        analytics.channel_audience(who.workspace_id, channel_id, basis=filters.basis, days=filters.days)
    )


@router.get(
    "/channels/{channel_id}/competitors/{handle}",
    response={200: CompetitorOut, **ERRORS},
    summary="Read another public page through this channel",
)
def competitor(request: HttpRequest, channel_id: int, handle: str) -> Any:
    who = _need(request, Perm.ANALYTICS_VIEW)
    return dataclasses.asdict(analytics.competitor_page(who, channel_id, handle))


class PollOptionOut(Schema):
    text: str
    votes: int


class PollResultOut(Schema):
    post_id: int | None
    channel_id: int
    network: str
    remote_post_id: str
    kind: str = Field(description="native, quiz, or keyword (counted from the post's comments)")
    question: str
    options: list[PollOptionOut]
    voters: int | None = Field(description="People who voted; null where the network does not say")
    correct_option: int | None = Field(description="A quiz's right option (0-based)")
    correct_share: float | None = Field(
        description="For quizzes: the share of voters who chose the right option"
    )
    closed: bool
    closes_at: str | None
    read_at: str


@router.get(
    "/posts/{post_id}/polls",
    response={200: list[PollResultOut], **ERRORS},
    summary="The post's poll and quiz results, one per channel",
)
def post_polls(request: HttpRequest, post_id: int) -> Any:
    who = _need(request, Perm.ANALYTICS_VIEW)
    return [r.as_json() for r in analytics.post_poll_results(who.workspace_id, post_id)]
