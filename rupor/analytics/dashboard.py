"""What the dashboards show: a period's figures with their formulas and change, the daily series,
top posts, the 7x24 heatmap, and the "what works" slices.

The data API the web pages, the API, the exports and the client reports all call
(:func:`overview`, :func:`content_slices`). It reads the summary tables collection keeps in
step (``PostStat``: one row per post with the figures of one reading; ``ChannelDay``: one row per
channel and day) and never the raw readings, so a period over a million posts is a handful of
indexed, grouped queries.

Rules every figure keeps (docs/analytics.md, "Dashboards"):

* **Unknown is ``None``, never 0.** A counter no post of the period reports (Telegram views, OK
  joins) is ``None`` with a note; a counter some posts report is summed over those, and the note
  says over how many.
* **Each rate names what went into it.** Engagements E = likes + reposts + comments. Posts of a
  network that gives emoji reactions only (``PostStat.reactions_only``) never enter E; their
  rates are *reaction rates*, shown as figures of their own.
* **Numerator and denominator come from the same reading** (``PostStat`` keeps one reading's
  counters), and a ratio over posts uses only the posts that have both parts.
* **Change** is against the previous period of equal length that ends the day before ``start``.
* **Deleted posts** are left out of every figure (the network no longer shows them); the notes
  say how many.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    Avg,
    BigIntegerField,
    Case,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, ExtractHour, ExtractIsoWeekDay, TruncDate
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rupor.accounts import service as accounts
from rupor.analytics.models import POST_ENGAGEMENTS, ChannelDay, PostDay, PostHour, PostStat
from rupor.channels import service as channels
from rupor.core import timezones
from rupor.core.errors import DomainError

#: The longest period one dashboard shows, in days.
MAX_DAYS = 366
#: How many posts "top posts" lists.
TOP_POSTS = 10
#: Text length buckets (characters): (upper bound inclusive, label). ``None``: no upper bound.
LENGTH_BUCKETS: tuple[tuple[int | None, Any], ...] = (
    (0, gettext_lazy("No text")),
    (160, gettext_lazy("Short (1-160)")),
    (500, gettext_lazy("Medium (161-500)")),
    (1000, gettext_lazy("Long (501-1000)")),
    (None, gettext_lazy("Very long (1000+)")),
)
FORMAT_LABELS: dict[str, Any] = {
    PostStat.Format.TEXT: gettext_lazy("Text"),
    PostStat.Format.PHOTO: gettext_lazy("Photo"),
    PostStat.Format.VIDEO: gettext_lazy("Video"),
    PostStat.Format.POLL: gettext_lazy("Poll"),
    PostStat.Format.LINK: gettext_lazy("Link"),
}
WEEKDAY_LABELS: tuple[Any, ...] = (
    gettext_lazy("Monday"),
    gettext_lazy("Tuesday"),
    gettext_lazy("Wednesday"),
    gettext_lazy("Thursday"),
    gettext_lazy("Friday"),
    gettext_lazy("Saturday"),
    gettext_lazy("Sunday"),
)
#: Fields of a :class:`DayRow` series, in the order tables and exports show them.
DAILY_FIELDS = (
    "posts",
    "likes",
    "reposts",
    "comments",
    "views",
    "reach",
    "engagements",
    "reactions",
    "members",
    "joins",
    "leaves",
)


class DashboardError(DomainError):
    """A period or filter the dashboards refuse (422), or a channel not in the workspace (404)."""


Number = int | float | None


@dataclass(frozen=True)
class Figure:
    """One number on the dashboard: its value, the previous period's, the change, the formula."""

    key: str
    label: str
    value: Number
    previous: Number
    #: (value - previous) / previous x 100; ``None`` when either is unknown or previous is 0.
    change_pct: float | None
    formula: str
    note: str = ""
    #: "" (a count) or "%" (a rate in per cent).
    unit: str = ""


@dataclass(frozen=True)
class DayRow:
    """One local day: posts published that day with their figures, and the channels' day."""

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


@dataclass(frozen=True)
class TopPost:
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
    #: E (likes + reposts + comments), or the sum of reactions where ``reactions_only``.
    engagements: int | None
    followers: int | None
    #: E / followers x 100 (a reaction rate where ``reactions_only``).
    er_post: float | None
    reactions_only: bool
    #: The planned post it was published from (None: published outside Rupor).
    post_id: int | None = None


@dataclass(frozen=True)
class HeatCell:
    posts: int
    engagements: int
    #: Mean engagements per post published in this hour of the week (``None``: no posts).
    mean: float | None


@dataclass(frozen=True)
class ChannelRow:
    """One channel's figures over the period (the "by channel" table)."""

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


@dataclass(frozen=True)
class Overview:
    workspace_id: int
    start: dt.date
    end: dt.date
    previous_start: dt.date
    previous_end: dt.date
    timezone: str
    channel_ids: tuple[int, ...]
    figures: tuple[Figure, ...]
    daily: tuple[DayRow, ...]
    top_posts: tuple[TopPost, ...]
    #: heatmap[weekday][hour], Monday = 0, hours in the workspace's time zone.
    heatmap: tuple[tuple[HeatCell, ...], ...]
    channels: tuple[ChannelRow, ...]
    notes: tuple[str, ...] = ()

    def figure(self, key: str) -> Figure:
        for f in self.figures:
            if f.key == key:
                return f
        raise KeyError(key)


# -- period and scope ----------------------------------------------------------------------


#: The days a period may cover: its start, the previous period and the zone's offset stay dates.
EARLIEST_DAY, LATEST_DAY = dt.date(1970, 1, 1), dt.date(9000, 12, 31)


def check_period(start: dt.date, end: dt.date) -> None:
    """Refuse a period that ends before it starts, is longer than :data:`MAX_DAYS` or lies
    outside EARLIEST_DAY..LATEST_DAY."""
    if not (start >= EARLIEST_DAY and end <= LATEST_DAY):
        raise DashboardError(_("Choose dates between 1970 and 9000."), "from", 422)
    if start > end:
        raise DashboardError(_("The period ends before it starts."), "from", 422)
    if (end - start).days + 1 > MAX_DAYS:
        raise DashboardError(_("A period is at most %(days)s days long.") % {"days": MAX_DAYS}, "to", 422)


def previous_period(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The period of equal length that ends the day before ``start``."""
    length = (end - start).days + 1
    return start - dt.timedelta(days=length), start - dt.timedelta(days=1)


def period_bounds(start: dt.date, end: dt.date, zone: str) -> tuple[dt.datetime, dt.datetime]:
    """The period's local days as UTC instants [from, to)."""
    tz = timezones.zone(zone)
    first = dt.datetime.combine(start, dt.time(), tzinfo=tz).astimezone(dt.UTC)
    after = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=tz).astimezone(dt.UTC)
    return first, after


_bounds = period_bounds


def _scope(workspace_id: int, channel_ids: Sequence[int] | None) -> dict[int, channels.ChannelRef]:
    """The channels a dashboard covers: the workspace's live ones, or those asked for (an id
    that is not one of them is a 404, as another workspace's channel always is)."""
    own = {c.id: c for c in channels.workspace_channels(workspace_id)}
    if not channel_ids:
        return own
    out = {}
    for pk in dict.fromkeys(channel_ids):
        if pk not in own:
            raise DashboardError(_("No such channel."), "channel", 404)
        out[pk] = own[pk]
    return out


# -- post aggregates -----------------------------------------------------------------------

_LIVE = Q(deleted_at__isnull=True)
_FULL = _LIVE & Q(reactions_only=False)
_REAC = _LIVE & Q(reactions_only=True)
_E_KNOWN = Q(likes__isnull=False) | Q(reposts__isnull=False) | Q(comments__isnull=False)
_HAS_F = Q(followers__gt=0)
_E = POST_ENGAGEMENTS


def _per_follower(expr: Any) -> Any:
    return ExpressionWrapper(Cast(expr, FloatField()) / Cast(F("followers"), FloatField()), FloatField())


#: Sums and counts over posts; every one is additive, so per-channel rows add up to the total.
_POST_AGG: dict[str, Any] = {
    "posts": Count("id", filter=_LIVE),
    "posts_full": Count("id", filter=_FULL),
    "posts_reac": Count("id", filter=_REAC),
    "deleted": Count("id", filter=~_LIVE),
    "likes": Sum("likes", filter=_FULL),
    "n_likes": Count("likes", filter=_FULL),
    "reactions": Sum("likes", filter=_REAC),
    "n_reactions": Count("likes", filter=_REAC),
    "reposts": Sum("reposts", filter=_LIVE),
    "n_reposts": Count("reposts", filter=_LIVE),
    "comments": Sum("comments", filter=_LIVE),
    "n_comments": Count("comments", filter=_LIVE),
    "views": Sum("views", filter=_LIVE),
    "n_views": Count("views", filter=_LIVE),
    "reach": Sum("reach", filter=_LIVE),
    "n_reach": Count("reach", filter=_LIVE),
    "complaints": Sum("complaints", filter=_LIVE),
    "n_complaints": Count("complaints", filter=_LIVE),
    "e": Sum(_E, filter=_FULL & _E_KNOWN),
    "n_e": Count("id", filter=_FULL & _E_KNOWN),
    "erpost_sum": Sum(_per_follower(_E), filter=_FULL & _E_KNOWN & _HAS_F),
    "erpost_n": Count("id", filter=_FULL & _E_KNOWN & _HAS_F),
    "love_sum": Sum(_per_follower(F("likes")), filter=_FULL & Q(likes__isnull=False) & _HAS_F),
    "love_n": Count("id", filter=_FULL & Q(likes__isnull=False) & _HAS_F),
    "talk_sum": Sum(_per_follower(F("comments")), filter=_FULL & Q(comments__isnull=False) & _HAS_F),
    "talk_n": Count("id", filter=_FULL & Q(comments__isnull=False) & _HAS_F),
    "amp_sum": Sum(_per_follower(F("reposts")), filter=_FULL & Q(reposts__isnull=False) & _HAS_F),
    "amp_n": Count("id", filter=_FULL & Q(reposts__isnull=False) & _HAS_F),
    "err_e": Sum(_E, filter=_FULL & _E_KNOWN & Q(reach__gt=0)),
    "err_r": Sum("reach", filter=_FULL & _E_KNOWN & Q(reach__gt=0)),
    "erv_e": Sum(_E, filter=_FULL & _E_KNOWN & Q(views__gt=0)),
    "erv_v": Sum("views", filter=_FULL & _E_KNOWN & Q(views__gt=0)),
    "rr_sum": Sum(_per_follower(F("likes")), filter=_REAC & Q(likes__isnull=False) & _HAS_F),
    "rr_n": Count("id", filter=_REAC & Q(likes__isnull=False) & _HAS_F),
    "rrv_e": Sum("likes", filter=_REAC & Q(likes__isnull=False) & Q(views__gt=0)),
    "rrv_v": Sum("views", filter=_REAC & Q(likes__isnull=False) & Q(views__gt=0)),
}


def _posts(
    workspace_id: int, channel_ids: Iterable[int], first: dt.datetime, after: dt.datetime
) -> QuerySet[PostStat]:
    return PostStat.objects.filter(
        workspace_id=workspace_id,
        channel_id__in=list(channel_ids),
        published_at__gte=first,
        published_at__lt=after,
    )


def _add(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Add up aggregate rows key by key (a ``None`` sum stays ``None`` only if all are)."""
    out: dict[str, Any] = dict.fromkeys(_POST_AGG)
    for row in rows:
        for k in _POST_AGG:
            v = row.get(k)
            if v is not None:
                out[k] = v if out[k] is None else out[k] + v
    for k in out:
        if out[k] is None and (k.startswith(("n_", "posts")) or k.endswith("_n") or k == "deleted"):
            out[k] = 0
    return out


def _grouped(qs: QuerySet[Any], by: Sequence[str], aggregates: dict[str, Any]) -> list[dict[str, Any]]:
    """``qs`` grouped by ``by`` with the aggregates under their own names (annotated under a
    prefix, since an annotation may not share a name with a field it reads)."""
    rows = qs.values(*by).annotate(**{f"agg_{k}": v for k, v in aggregates.items()}).order_by()
    return [{k.removeprefix("agg_"): v for k, v in row.items()} for row in rows]


def _pct(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator * 100


def _mean_pct(total: float | None, n: int) -> float | None:
    return None if not n or total is None else total / n * 100


#: The post aggregates, the grouping helper and the period bounds, for the daily rollup
#: (:mod:`rupor.analytics.rollup`), which stores these very aggregates per channel and day.
POST_AGG = _POST_AGG
grouped = _grouped
#: The aggregates that are counts (0, never ``None``, where no post is counted).
COUNTS = frozenset(
    k for k in _POST_AGG if k.startswith(("n_", "posts")) or k.endswith("_n") or k == "deleted"
)
#: Read period figures from the daily rollup (:class:`PostDay`) rather than from every post.
#: The figures are the same either way (the tests compare them); ``False`` is the direct path.
USE_ROLLUP = True


def _rolled(keys: Iterable[str]) -> dict[str, Any]:
    """Sums of rollup columns under their own names (integers stay integers on PostgreSQL)."""
    return {k: Sum(k) if k in _FLOAT_SUMS else Cast(Sum(k), output_field=BigIntegerField()) for k in keys}


_FLOAT_SUMS = frozenset({"erpost_sum", "love_sum", "talk_sum", "amp_sum", "rr_sum"})


# -- channel days --------------------------------------------------------------------------

_DAY_AGG: dict[str, Any] = {
    "days": Count("id"),
    "joins": Sum("joins"),
    "n_joins": Count("joins"),
    "leaves": Sum("leaves"),
    "n_leaves": Count("leaves"),
    "members_avg": Avg("members"),
}


@dataclass
class _ChannelDays:
    members_start: int | None = None
    members_end: int | None = None
    members_avg: float | None = None
    joins: int | None = None
    leaves: int | None = None
    days: int = 0
    n_joins: int = 0
    n_leaves: int = 0


#: How far from the period's edge a member count may be to stand for it (days).
EDGE_DAYS = 7


def _channel_days(channel_ids: Sequence[int], start: dt.date, end: dt.date) -> dict[int, _ChannelDays]:
    """Per channel: members at the start (the day before the period, else the nearest day after
    it within a week) and at the end (the last day, else the nearest before it within a week),
    the mean member count, and joins/leaves summed over the days that report them."""
    out: dict[int, _ChannelDays] = defaultdict(_ChannelDays)
    days = ChannelDay.objects.filter(channel_id__in=list(channel_ids), day__gte=start, day__lte=end)
    for row in _grouped(days, ["channel_id"], _DAY_AGG):
        c = out[row["channel_id"]]
        c.members_avg, c.joins, c.leaves = row["members_avg"], row["joins"], row["leaves"]
        c.days, c.n_joins, c.n_leaves = row["days"], row["n_joins"], row["n_leaves"]
    before = start - dt.timedelta(days=1)
    edges = (
        ChannelDay.objects.filter(channel_id__in=list(channel_ids), members__isnull=False)
        .filter(
            Q(day__gte=before, day__lte=min(end, start + dt.timedelta(days=EDGE_DAYS)))
            | Q(day__gte=max(before, end - dt.timedelta(days=EDGE_DAYS)), day__lte=end)
        )
        .values_list("channel_id", "day", "members")
    )
    first: dict[int, tuple[dt.date, int | None]] = {}
    last: dict[int, tuple[dt.date, int | None]] = {}
    for channel_id, day, members in edges:
        if channel_id not in first or day < first[channel_id][0]:
            first[channel_id] = (day, members)
        if channel_id not in last or day > last[channel_id][0]:
            last[channel_id] = (day, members)
    for channel_id, (_day, members) in first.items():
        out[channel_id].members_start = members
    for channel_id, (_day, members) in last.items():
        out[channel_id].members_end = members
    return out


# -- figures -------------------------------------------------------------------------------


@dataclass
class _Totals:
    """Everything a figure is computed from, for one period."""

    posts: dict[str, Any]
    by_channel: dict[int, dict[str, Any]]
    days: dict[int, _ChannelDays]
    length: int
    reactions_channels: set[int] = field(default_factory=set)


def _totals(
    workspace_id: int, scope: dict[int, channels.ChannelRef], start: dt.date, end: dt.date, zone: str
) -> tuple[_Totals, _Totals]:
    """The period's totals and those of the previous period of equal length, from one scan of
    both periods' posts grouped by channel and period."""
    prev_start, prev_end = previous_period(start, end)
    first_before, _ = _bounds(prev_start, prev_end, zone)
    first, after = _bounds(start, end, zone)
    if USE_ROLLUP:
        with _roomy():
            rows = _grouped(
                PostDay.objects.filter(  # the scope's channels are the workspace's
                    channel_id__in=list(scope), day__gte=prev_start, day__lte=end
                ).annotate(current=Case(When(day__gte=start, then=Value(1)), default=Value(0))),
                ["channel_id", "current"],
                _rolled(_POST_AGG),
            )
    else:
        rows = _grouped(
            _posts(workspace_id, scope, first_before, after).annotate(
                current=Case(When(published_at__gte=first, then=Value(1)), default=Value(0))
            ),
            ["channel_id", "current"],
            _POST_AGG,
        )
    out = []
    for current, (day_from, day_to) in ((1, (start, end)), (0, (prev_start, prev_end))):
        by_channel = {r["channel_id"]: r for r in rows if r["current"] == current}
        out.append(
            _Totals(
                posts=_add(by_channel.values()),
                by_channel=by_channel,
                days=_channel_days(list(scope), day_from, day_to),
                length=(day_to - day_from).days + 1,
                reactions_channels={
                    c for c, r in by_channel.items() if r["posts_reac"] and not r["posts_full"]
                },
            )
        )
    return out[0], out[1]


def _known(total: Any, n: int, of: int, what: str) -> tuple[Any, str]:
    """A sum with its note: ``None`` when no post reports it, a note when only some do."""
    if not n:
        if not of:
            return None, _("No posts in this period.")
        return None, _("No post of this period reports %(what)s.") % {"what": what}
    if n < of:
        return total, _("Reported by %(n)s of %(of)s posts; the others are left out.") % {"n": n, "of": of}
    return total, ""


def _growth(t: _Totals) -> dict[str, Any]:
    """Members at start and end, net growth, growth rate, joins, leaves, churn over the channels
    that know each part."""
    both = [c for c in t.days.values() if c.members_start is not None and c.members_end is not None]
    start = sum(c.members_start or 0 for c in both) if both else None
    end_all = [c.members_end for c in t.days.values() if c.members_end is not None]
    joins = [c for c in t.days.values() if c.n_joins]
    leaves = [c for c in t.days.values() if c.n_leaves]
    churn = [c for c in leaves if c.members_start]
    return {
        "members_from": frozenset(k for k, c in t.days.items() if c.members_end is not None),
        "growth_from": frozenset(
            k for k, c in t.days.items() if c.members_start is not None and c.members_end is not None
        ),
        "members": sum(end_all) if end_all else None,
        "net_growth": (sum(c.members_end or 0 for c in both) - (start or 0)) if both else None,
        "growth_rate": _pct(sum(c.members_end or 0 for c in both) - (start or 0), start) if both else None,
        "joins": sum(c.joins or 0 for c in joins) if joins else None,
        "joins_partial": any(c.n_joins < c.days for c in joins) or len(joins) < len(t.days),
        "leaves": sum(c.leaves or 0 for c in leaves) if leaves else None,
        "leaves_partial": any(c.n_leaves < c.days for c in leaves) or len(leaves) < len(t.days),
        "churn": _pct(sum(c.leaves or 0 for c in churn), sum(c.members_start or 0 for c in churn))
        if churn
        else None,
    }


def _erday(t: _Totals, *, reactions: bool) -> float | None:
    """ERday = sum of E over the period / followers / days x 100, over the channels whose mean
    member count is known (reaction-only channels give a reaction rate per day instead)."""
    e_sum, f_sum = 0, 0.0
    for channel_id, row in t.by_channel.items():
        if (channel_id in t.reactions_channels) != reactions:
            continue
        members = t.days.get(channel_id, _ChannelDays()).members_avg
        e = row["reactions"] if reactions else row["e"]
        if not members or e is None:
            continue
        e_sum += e
        f_sum += members
    return _pct(e_sum, f_sum * t.length) if f_sum else None


FORMULAS: dict[str, Any] = {
    "posts": gettext_lazy("Posts published in the period (deleted posts left out)"),
    "likes": gettext_lazy("Sum of likes of the period's posts, as last read"),
    "reactions": gettext_lazy(
        "Sum of emoji reactions of posts on networks that give reactions only (Telegram)"
    ),
    "reposts": gettext_lazy("Sum of reposts and shares of the period's posts"),
    "comments": gettext_lazy("Sum of comments of the period's posts"),
    "views": gettext_lazy("Sum of views of the period's posts (views count every showing)"),
    "reach": gettext_lazy("Sum of reach of the period's posts (unique people who saw each post)"),
    "complaints": gettext_lazy("Sum of complaints about the period's posts, where the network counts them"),
    "engagements": gettext_lazy("E = likes + reposts + comments, summed over the period's posts"),
    "er_post": gettext_lazy("ERpost = mean over posts of E / followers x 100% (followers at publishing)"),
    "er_day": gettext_lazy("ERday = sum of E / mean followers / days in the period x 100%"),
    "err": gettext_lazy("ERR = sum of E / sum of reach x 100% (posts with both)"),
    "er_view": gettext_lazy("ERview = sum of E / sum of views x 100% (posts with both)"),
    "love_rate": gettext_lazy("Love rate = mean over posts of likes / followers x 100%"),
    "talk_rate": gettext_lazy("Talk rate = mean over posts of comments / followers x 100%"),
    "amplification_rate": gettext_lazy("Amplification rate = mean over posts of reposts / followers x 100%"),
    "reaction_rate": gettext_lazy(
        "Reaction rate = mean over posts of reactions / followers x 100% (reactions-only networks)"
    ),
    "reaction_rate_day": gettext_lazy(
        "Reaction rate per day = sum of reactions / mean followers / days x 100%"
    ),
    "reaction_rate_view": gettext_lazy("Reaction rate by views = sum of reactions / sum of views x 100%"),
    "members": gettext_lazy("Followers at the end of the period (sum over channels)"),
    "net_growth": gettext_lazy("Net growth = followers at the end - followers at the start"),
    "growth_rate": gettext_lazy(
        "Follower growth rate = (followers at the end - at the start) / at the start x 100%"
    ),
    "joins": gettext_lazy("Joins in the period, from the network's statistics or join events"),
    "leaves": gettext_lazy("Leaves in the period, from the network's statistics or leave events"),
    "churn": gettext_lazy("Churn = leaves / followers at the start x 100%"),
}

LABELS: dict[str, Any] = {
    "posts": gettext_lazy("Posts"),
    "likes": gettext_lazy("Likes"),
    "reactions": gettext_lazy("Reactions"),
    "reposts": gettext_lazy("Reposts and shares"),
    "comments": gettext_lazy("Comments"),
    "views": gettext_lazy("Views"),
    "reach": gettext_lazy("Reach"),
    "complaints": gettext_lazy("Complaints"),
    "engagements": gettext_lazy("Engagements"),
    "er_post": gettext_lazy("ER by followers, per post"),
    "er_day": gettext_lazy("ER by followers, per day"),
    "err": gettext_lazy("ER by reach (ERR)"),
    "er_view": gettext_lazy("ER by views"),
    "love_rate": gettext_lazy("Love rate"),
    "talk_rate": gettext_lazy("Talk rate"),
    "amplification_rate": gettext_lazy("Amplification rate"),
    "reaction_rate": gettext_lazy("Reaction rate by followers"),
    "reaction_rate_day": gettext_lazy("Reaction rate per day"),
    "reaction_rate_view": gettext_lazy("Reaction rate by views"),
    "members": gettext_lazy("Followers"),
    "net_growth": gettext_lazy("Net growth"),
    "growth_rate": gettext_lazy("Follower growth"),
    "joins": gettext_lazy("Joins"),
    "leaves": gettext_lazy("Leaves"),
    "churn": gettext_lazy("Churn"),
}

RATES = frozenset(
    {
        "er_post",
        "er_day",
        "err",
        "er_view",
        "love_rate",
        "talk_rate",
        "amplification_rate",
        "reaction_rate",
        "reaction_rate_day",
        "reaction_rate_view",
        "growth_rate",
        "churn",
    }
)


def _values(t: _Totals) -> dict[str, tuple[Number, str]]:
    """Each figure's value and note for one period."""
    p = t.posts
    out: dict[str, tuple[Number, str]] = {"posts": (p["posts"], "")}
    full, reac, live = p["posts_full"], p["posts_reac"], p["posts"]
    words = {
        "likes": _("likes"),
        "reactions": _("reactions"),
        "reposts": _("reposts"),
        "comments": _("comments"),
        "views": _("views"),
        "reach": _("reach"),
        "complaints": _("complaints"),
    }
    of = {"likes": full, "reactions": reac}
    for key, word in words.items():
        out[key] = _known(p[key], p[f"n_{key}"], of.get(key, live), word)
    out["engagements"] = _known(p["e"], p["n_e"], full, _("likes, reposts or comments"))
    no_f = _("No post of this period has a known follower count above zero.")
    out["er_post"] = (_mean_pct(p["erpost_sum"], p["erpost_n"]), "" if p["erpost_n"] else no_f)
    out["love_rate"] = (_mean_pct(p["love_sum"], p["love_n"]), "" if p["love_n"] else no_f)
    out["talk_rate"] = (_mean_pct(p["talk_sum"], p["talk_n"]), "" if p["talk_n"] else no_f)
    out["amplification_rate"] = (_mean_pct(p["amp_sum"], p["amp_n"]), "" if p["amp_n"] else no_f)
    out["err"] = (_pct(p["err_e"], p["err_r"]), "" if p["err_r"] else _("No post reports its reach."))
    out["er_view"] = (_pct(p["erv_e"], p["erv_v"]), "" if p["erv_v"] else _("No post reports its views."))
    no_members = _("The channels' follower counts for the period are unknown.")
    er_day = _erday(t, reactions=False)
    out["er_day"] = (er_day, "" if er_day is not None else no_members)
    out["reaction_rate"] = (_mean_pct(p["rr_sum"], p["rr_n"]), "" if p["rr_n"] else no_f)
    rr_day = _erday(t, reactions=True)
    out["reaction_rate_day"] = (rr_day, "" if rr_day is not None else no_members)
    out["reaction_rate_view"] = (
        _pct(p["rrv_e"], p["rrv_v"]),
        "" if p["rrv_v"] else _("No reactions-only post reports its views."),
    )
    g = _growth(t)
    for key in ("members", "net_growth", "growth_rate", "churn"):
        out[key] = (g[key], "" if g[key] is not None else no_members)
    unknown_jl = _("The networks neither report %(what)s nor send them as events for these channels.")
    partial_jl = _("Known for some channels or days only; the rest are left out.")
    for key in ("joins", "leaves"):
        note = unknown_jl % {"what": _("joins") if key == "joins" else _("leaves")}
        out[key] = (g[key], note if g[key] is None else (partial_jl if g[f"{key}_partial"] else ""))
    return out


#: The figures in the order the dashboard shows them; reaction figures only where such posts are.
ORDER = (
    "posts",
    "engagements",
    "likes",
    "reposts",
    "comments",
    "views",
    "reach",
    "complaints",
    "er_post",
    "er_day",
    "err",
    "er_view",
    "love_rate",
    "talk_rate",
    "amplification_rate",
    "reactions",
    "reaction_rate",
    "reaction_rate_day",
    "reaction_rate_view",
    "members",
    "net_growth",
    "growth_rate",
    "joins",
    "leaves",
    "churn",
)


def change_pct(value: Number, previous: Number) -> float | None:
    """(value - previous) / |previous| x 100; ``None`` when either is unknown or previous is 0."""
    if value is None or previous is None or previous == 0:
        return None
    return (value - previous) / abs(previous) * 100


#: Follower figures add up channels; they compare only when both periods know the same channels.
_MEMBER_FIGURES = {"members": "members_from", "net_growth": "growth_from", "growth_rate": "growth_from"}


def _figures(now: _Totals, before: _Totals) -> tuple[Figure, ...]:
    current, previous = _values(now), _values(before)
    g_now, g_before = _growth(now), _growth(before)
    has_reac = bool(now.posts["posts_reac"] or before.posts["posts_reac"])
    has_full = bool(now.posts["posts_full"] or before.posts["posts_full"]) or not has_reac
    out = []
    for key in ORDER:
        if key.startswith("reaction") and not has_reac:
            continue
        if (
            key
            in (
                "engagements",
                "likes",
                "er_post",
                "er_day",
                "err",
                "er_view",
                "love_rate",
                "talk_rate",
                "amplification_rate",
            )
            and not has_full
        ):
            continue
        value, note = current[key]
        prev, _prev_note = previous[key]
        if key not in RATES and key != "net_growth" and value is not None and not isinstance(value, int):
            value = int(value)
        change = change_pct(value, prev)
        basis = _MEMBER_FIGURES.get(key)
        if basis and change is not None and g_now[basis] != g_before[basis]:
            change = None
            note = _("Not compared: the two periods know the followers of different channels.")
        out.append(
            Figure(
                key=key,
                label=str(LABELS[key]),
                value=value,
                previous=prev,
                change_pct=change,
                formula=str(FORMULAS[key]),
                note=note,
                unit="%" if key in RATES else "",
            )
        )
    return tuple(out)


# -- series, heatmap, top posts ------------------------------------------------------------

_HOURLY_POST_AGG: dict[str, Any] = {
    "posts": Count("id", filter=_LIVE),
    "measured": Count("id", filter=_LIVE & _E_KNOWN),
    "likes": Sum("likes", filter=_FULL),
    "reactions": Sum("likes", filter=_REAC),
    "reposts": Sum("reposts", filter=_LIVE),
    "comments": Sum("comments", filter=_LIVE),
    "views": Sum("views", filter=_LIVE),
    "reach": Sum("reach", filter=_LIVE),
    "engagements": Sum(_E, filter=_FULL & _E_KNOWN),
}
#: What the heatmap needs of each local day and hour (the daily series comes from the rollup).
_HEAT_AGG: dict[str, Any] = {
    "measured": _HOURLY_POST_AGG["measured"],
    "reactions": _HOURLY_POST_AGG["reactions"],
    "engagements": _HOURLY_POST_AGG["engagements"],
}
_DAILY_SUMS = ("likes", "reactions", "reposts", "comments", "views", "reach", "engagements")
HEAT_AGG = _HEAT_AGG


def _plus(a: int | None, b: int | None) -> int | None:
    return b if a is None else (a if b is None else a + b)


def _heat_direct(
    workspace_id: int, channel_ids: Iterable[int], first: dt.datetime, after: dt.datetime, tz: dt.tzinfo
) -> dict[tuple[int, int], tuple[int, int]]:
    """(measured posts, their engagements) by local (weekday, hour) over these channels' posts."""
    with _roomy():
        heat = _grouped(
            _posts(workspace_id, channel_ids, first, after).annotate(
                local_weekday=ExtractIsoWeekDay("published_at", tzinfo=tz),
                local_hour=ExtractHour("published_at", tzinfo=tz),
            ),
            ["local_weekday", "local_hour"],
            _HEAT_AGG,
        )
    return {
        (int(r["local_weekday"]) - 1, int(r["local_hour"])): (
            r["measured"] or 0,
            (r["engagements"] or 0) + (r["reactions"] or 0),
        )
        for r in heat
    }


def _heat_from_rollup(
    workspace_id: int,
    scope: dict[int, channels.ChannelRef],
    start: dt.date,
    end: dt.date,
    first: dt.datetime,
    after: dt.datetime,
    tz: dt.tzinfo,
) -> dict[tuple[int, int], tuple[int, int]]:
    """The heatmap's cells over the scope: the workspace's hourly rollup (:class:`PostHour`, all
    its channels) less the posts of the channels outside the scope, when those are the fewer
    channels (removed ones, or the few a person left out); else the scope's posts directly."""
    from rupor.analytics import rollup

    outside = rollup.hour_channels(workspace_id) - set(scope)
    if len(outside) > len(scope):
        return _heat_direct(workspace_id, scope, first, after, tz)
    cells: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for day, hour, measured, engagements in PostHour.objects.filter(
        workspace_id=workspace_id, day__gte=start, day__lte=end
    ).values_list("day", "hour", "measured", "engagements"):
        cell = cells[(day.weekday(), hour)]
        cell[0] += measured
        cell[1] += engagements
    if outside:
        for key, (measured, engagements) in _heat_direct(workspace_id, outside, first, after, tz).items():
            cells[key][0] -= measured
            cells[key][1] -= engagements
    return {key: (m, e) for key, (m, e) in cells.items()}


def _series(
    workspace_id: int, scope: dict[int, channels.ChannelRef], start: dt.date, end: dt.date, zone: str
) -> tuple[tuple[DayRow, ...], tuple[tuple[HeatCell, ...], ...]]:
    """The daily series and the 7x24 heatmap from one scan of the period's posts grouped by
    local day and hour, plus the channels' days.

    A day row holds the posts published that local day with their figures (``None`` where no post
    reports one) and the channels' figures for that day. A heatmap cell is the mean engagements
    per post published in that local weekday and hour (E, or reactions on reactions-only
    networks, so every measured post counts)."""
    first, after = _bounds(start, end, zone)
    tz = timezones.zone(zone)
    by_day: dict[dt.date, dict[str, Any]] = {}
    cells: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    if USE_ROLLUP:
        # the daily series from the daily rollup, the heatmap from the hourly one
        for row in _grouped(
            PostDay.objects.filter(  # the scope's channels are the workspace's
                channel_id__in=list(scope), day__gte=start, day__lte=end
            ),
            ["day"],
            _rolled(("posts", "likes", "reactions", "reposts", "comments", "views", "reach", "e")),
        ):
            by_day[row["day"]] = {**row, "engagements": row["e"]}
        for (weekday, hour), (measured, engagements) in _heat_from_rollup(
            workspace_id, scope, start, end, first, after, tz
        ).items():
            cell = cells[(weekday, hour)]
            cell[0] += measured
            cell[1] += engagements
    else:
        for row in _grouped(
            _posts(workspace_id, scope, first, after).annotate(
                local_day=TruncDate("published_at", tzinfo=tz),
                local_hour=ExtractHour("published_at", tzinfo=tz),
            ),
            ["local_day", "local_hour"],
            _HOURLY_POST_AGG,
        ):
            acc = by_day.setdefault(row["local_day"], {"posts": 0})
            acc["posts"] += row["posts"]
            for k in _DAILY_SUMS:
                acc[k] = _plus(acc.get(k), row[k])
            cell = cells[(row["local_day"].weekday(), row["local_hour"])]
            cell[0] += row["measured"]
            cell[1] += (row["engagements"] or 0) + (row["reactions"] or 0)
    channel_days = _grouped(
        ChannelDay.objects.filter(channel_id__in=list(scope), day__gte=start, day__lte=end),
        ["day"],
        {"members": Sum("members"), "joins": Sum("joins"), "leaves": Sum("leaves")},
    )
    by_channel_day = {row["day"]: row for row in channel_days}
    daily = []
    day = start
    while day <= end:
        p, c = by_day.get(day, {}), by_channel_day.get(day, {})
        daily.append(
            DayRow(
                day=day,
                posts=p.get("posts") or 0,
                likes=p.get("likes"),
                reposts=p.get("reposts"),
                comments=p.get("comments"),
                views=p.get("views"),
                reach=p.get("reach"),
                engagements=p.get("engagements"),
                reactions=p.get("reactions"),
                members=c.get("members"),
                joins=c.get("joins"),
                leaves=c.get("leaves"),
            )
        )
        day += dt.timedelta(days=1)
    heatmap = tuple(
        tuple(
            HeatCell(
                posts=cells[(d, h)][0] if (d, h) in cells else 0,
                engagements=cells[(d, h)][1] if (d, h) in cells else 0,
                mean=cells[(d, h)][1] / cells[(d, h)][0] if (d, h) in cells and cells[(d, h)][0] else None,
            )
            for h in range(24)
        )
        for d in range(7)
    )
    return tuple(daily), heatmap


def _post_e(likes: int | None, reposts: int | None, comments: int | None, reactions_only: bool) -> int | None:
    if reactions_only:
        return likes
    parts = [v for v in (likes, reposts, comments) if v is not None]
    return sum(parts) if parts else None


def _top_posts(
    workspace_id: int, scope: dict[int, channels.ChannelRef], start: dt.date, end: dt.date, zone: str
) -> tuple[TopPost, ...]:
    """The period's posts with the most engagements (reactions on reactions-only networks)."""
    first, after = _bounds(start, end, zone)
    rows = (
        _posts(workspace_id, scope, first, after)
        .filter(_LIVE & _E_KNOWN)
        .annotate(e=_E)
        .order_by("-e", "-published_at")
        .values(
            "channel_id",
            "remote_post_id",
            "published_at",
            "text_excerpt",
            "url",
            "content_format",
            "likes",
            "reposts",
            "comments",
            "views",
            "reach",
            "followers",
            "reactions_only",
            "post_id",
        )[:TOP_POSTS]
    )
    out = []
    for r in rows:
        ref = scope[r["channel_id"]]
        e = _post_e(r["likes"], r["reposts"], r["comments"], r["reactions_only"])
        out.append(
            TopPost(
                channel_id=ref.id,
                channel_name=ref.name,
                network=ref.network,
                remote_post_id=r["remote_post_id"],
                published_at=r["published_at"],
                text_excerpt=r["text_excerpt"],
                url=r["url"],
                content_format=r["content_format"],
                likes=r["likes"],
                reposts=r["reposts"],
                comments=r["comments"],
                views=r["views"],
                reach=r["reach"],
                engagements=e,
                followers=r["followers"],
                er_post=_pct(e, r["followers"]),
                reactions_only=r["reactions_only"],
                post_id=r["post_id"],
            )
        )
    return tuple(out)


def _channel_rows(t: _Totals, scope: dict[int, channels.ChannelRef]) -> tuple[ChannelRow, ...]:
    out = []
    for channel_id, ref in scope.items():
        p = t.by_channel.get(channel_id) or _add(())
        d = t.days.get(channel_id, _ChannelDays())
        out.append(
            ChannelRow(
                channel_id=channel_id,
                name=ref.name,
                network=ref.network,
                posts=p["posts"] or 0,
                engagements=p["e"],
                reactions=p["reactions"],
                views=p["views"],
                reach=p["reach"],
                er_post=_mean_pct(p["erpost_sum"], p["erpost_n"] or 0)
                if p["erpost_n"]
                else _mean_pct(p["rr_sum"], p["rr_n"] or 0),
                err=_pct(p["err_e"], p["err_r"]),
                members_start=d.members_start,
                members_end=d.members_end,
                joins=d.joins if d.n_joins else None,
                leaves=d.leaves if d.n_leaves else None,
            )
        )
    out.sort(key=lambda r: (-(r.engagements or r.reactions or 0), r.name))
    return tuple(out)


def _notes(now: _Totals) -> tuple[str, ...]:
    notes = []
    if now.posts["deleted"]:
        notes.append(_("%(n)s deleted posts are left out of every figure.") % {"n": now.posts["deleted"]})
    if now.posts["posts_reac"]:
        notes.append(
            _(
                "%(n)s posts are on networks that give emoji reactions only (Telegram): their reactions "
                "are not mixed into engagements; their rates are reaction rates."
            )
            % {"n": now.posts["posts_reac"]}
        )
    return tuple(notes)


def overview(
    workspace_id: int, start: dt.date, end: dt.date, *, channel_ids: Sequence[int] | None = None
) -> Overview:
    """The dashboard of a workspace (or some of its channels) over the local days start..end.

    Raises :class:`DashboardError` for a period that ends before it starts or is too long (422)
    and for a channel that is not the workspace's (404).
    """
    check_period(start, end)
    zone = accounts.workspace_info(workspace_id).timezone
    scope = _scope(workspace_id, channel_ids)
    if USE_ROLLUP:
        from rupor.analytics import rollup

        rollup.ensure(workspace_id, zone)
    prev_start, prev_end = previous_period(start, end)
    now, before = _totals(workspace_id, scope, start, end, zone)
    daily, heatmap = _series(workspace_id, scope, start, end, zone)
    return Overview(
        workspace_id=workspace_id,
        start=start,
        end=end,
        previous_start=prev_start,
        previous_end=prev_end,
        timezone=zone,
        channel_ids=tuple(scope),
        figures=_figures(now, before),
        daily=daily,
        top_posts=_top_posts(workspace_id, scope, start, end, zone),
        heatmap=heatmap,
        channels=_channel_rows(now, scope),
        notes=_notes(now),
    )


# -- what works ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SliceRow:
    """One group of posts (a rubric, a format, a length, an hour, a weekday) and its results."""

    key: str
    label: str
    posts: int
    #: Share of the period's measured posts in this group, per cent.
    share_pct: float
    mean_engagements: float | None
    median_engagements: float | None
    #: Mean over the group's posts of E / followers x 100 (posts with known followers > 0).
    mean_er: float | None


@dataclass(frozen=True)
class Slice:
    key: str
    title: str
    rows: tuple[SliceRow, ...]


@dataclass(frozen=True)
class MixRow:
    """A rubric (or "selling" / "not selling") in the 80/20 mix: planned share against actual
    share of posts published, and the results of its posts."""

    key: str
    label: str
    color: str
    target_share: int | None
    actual_share: float
    posts: int
    mean_engagements: float | None
    mean_er: float | None
    is_selling: bool | None


@dataclass(frozen=True)
class ContentSlices:
    workspace_id: int
    start: dt.date
    end: dt.date
    timezone: str
    channel_ids: tuple[int, ...]
    #: "engagements" (likes + reposts + comments) or "reactions" (only reactions-only posts).
    basis: str
    posts: int
    slices: tuple[Slice, ...]
    mix: tuple[MixRow, ...]
    selling: tuple[MixRow, ...]
    notes: tuple[str, ...] = ()

    def slice(self, key: str) -> Slice:
        for s in self.slices:
            if s.key == key:
                return s
        raise KeyError(key)


def length_bucket(length: int) -> int:
    """The index in :data:`LENGTH_BUCKETS` of a text of this many characters."""
    for i, (upper, _label) in enumerate(LENGTH_BUCKETS):
        if upper is None or length <= upper:
            return i
    return len(LENGTH_BUCKETS) - 1


@dataclass
class _Summary:
    """What a slice row shows of a group of posts: how many, the sum and median of their
    engagements, and the sum and count of their per-post rates (posts with followers)."""

    n: int = 0
    e_sum: int = 0
    median: float | None = None
    er_sum: float = 0.0
    er_n: int = 0

    def row(self, key: str, label: str, total: int) -> SliceRow:
        return SliceRow(
            key=key,
            label=label,
            posts=self.n,
            share_pct=self.n / total * 100 if total else 0.0,
            mean_engagements=self.e_sum / self.n if self.n else None,
            median_engagements=self.median,
            mean_er=self.er_sum / self.er_n * 100 if self.er_n else None,
        )


@dataclass
class _Group:
    es: list[int] = field(default_factory=list)
    ers: list[float] = field(default_factory=list)

    def summary(self) -> _Summary:
        return _Summary(
            n=len(self.es),
            e_sum=sum(self.es),
            median=float(statistics.median(self.es)) if self.es else None,
            er_sum=math.fsum(self.ers),
            er_n=len(self.ers),
        )


#: The dimensions of the "what works" slices, and the selling flag of the posts' rubric.
_SLICE_KEYS = ("rubric", "format", "length", "hour", "weekday", "selling")
#: Compute the slices in the database where it can (PostgreSQL: grouping sets and exact medians)
#: rather than from every post in Python. The figures are the same either way (the tests compare).
SLICES_IN_SQL = True


@contextmanager
def _roomy() -> Iterator[None]:
    """A transaction whose queries may use 32 MB per sort or hash table on PostgreSQL (the
    default 4 MB). A grouping of the period's posts by expressions whose distinct values the
    planner cannot guess (local hour, weekday) is then hashed in memory rather than sorted on
    disk: about half the time for 90 days of 1,000,000 posts."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL work_mem = '32MB'")
        yield


def _slices_in_python(
    rows_qs: QuerySet[PostStat], post_e: Any, tz: Any, rubrics: dict[int, Any]
) -> dict[str, dict[Any, _Summary]]:
    """The slices' groups from every post, in Python (the direct computation)."""
    rows = rows_qs.annotate(
        post_e=post_e,
        local_hour=ExtractHour("published_at", tzinfo=tz),
        local_weekday=ExtractIsoWeekDay("published_at", tzinfo=tz),
    ).values_list(
        "rubric_id", "content_format", "text_length", "local_hour", "local_weekday", "post_e", "followers"
    )
    groups: dict[str, dict[Any, _Group]] = {k: defaultdict(_Group) for k in _SLICE_KEYS}
    buckets: dict[int, int] = {}
    for rubric_id, fmt, length, hour, iso_weekday, e, followers in rows:
        er = e / followers if followers else None
        rubric = rubric_id if rubric_id in rubrics else None
        bucket = buckets.get(length)
        if bucket is None:
            bucket = buckets[length] = length_bucket(length)
        for key, value in (
            ("rubric", rubric),
            ("format", fmt),
            ("length", bucket),
            ("hour", hour),
            ("weekday", iso_weekday - 1),
            ("selling", rubrics[rubric].is_selling if rubric is not None else None),
        ):
            g = groups[key][value]
            g.es.append(e)
            if er is not None:
                g.ers.append(er)
    return {k: {value: g.summary() for value, g in groups[k].items()} for k in _SLICE_KEYS}


def _slices_in_sql(
    rows_qs: QuerySet[PostStat], post_e: Any, tz: Any, rubrics: dict[int, Any]
) -> dict[str, dict[Any, _Summary]]:
    """The slices' groups in one PostgreSQL query: one grouping set per dimension (hashed, one
    pass over the period's posts), with the count, the sum of E, the sum and count of
    E/followers, and the group's E values, from which the median is taken here exactly as the
    direct path takes it (:func:`statistics.median`; the values come sorted by E, so sorting
    them again is linear). ``percentile_cont`` would give the same medians, but an ordered-set
    aggregate makes PostgreSQL sort every post once per grouping set, which took longer."""
    known = list(rubrics)
    selling = [r.id for r in rubrics.values() if r.is_selling]
    plain = [r.id for r in rubrics.values() if not r.is_selling]
    none = Value(None, output_field=IntegerField())
    inner = (
        rows_qs.annotate(
            k_rubric=Case(When(rubric_id__in=known, then=F("rubric_id")), default=none) if known else none,
            k_format=F("content_format"),
            k_length=Case(
                *(
                    When(text_length__lte=upper, then=Value(i))
                    for i, (upper, _label) in enumerate(LENGTH_BUCKETS)
                    if upper is not None
                ),
                default=Value(len(LENGTH_BUCKETS) - 1),
                output_field=IntegerField(),
            ),
            k_hour=ExtractHour("published_at", tzinfo=tz),
            k_weekday=ExtractIsoWeekDay("published_at", tzinfo=tz) - 1,
            k_selling=Case(
                When(rubric_id__in=selling, then=Value(1)),
                When(rubric_id__in=plain, then=Value(0)),
                default=none,
                output_field=IntegerField(),
            ),
            k_e=post_e,
            k_er=Case(
                When(Q(followers__isnull=False) & ~Q(followers=0), then=_per_follower(post_e)),
                default=Value(None, output_field=FloatField()),
                output_field=FloatField(),
            ),
        )
        .values("k_rubric", "k_format", "k_length", "k_hour", "k_weekday", "k_selling", "k_e", "k_er")
        .order_by("k_e")
    )
    sql, params = inner.query.sql_with_params()
    cols = ", ".join(f"k_{k}" for k in _SLICE_KEYS)
    sets = ", ".join(f"(k_{k})" for k in _SLICE_KEYS)
    out: dict[str, dict[Any, _Summary]] = {k: {} for k in _SLICE_KEYS}
    with _roomy(), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT GROUPING({cols}), {cols}, COUNT(*), SUM(k_e), "  # noqa: S608 - column names are constants
            "ARRAY_AGG(k_e), SUM(k_er), COUNT(k_er) "
            f"FROM ({sql}) AS posts GROUP BY GROUPING SETS ({sets})",
            params,
        )
        for grouping, *values, n, e_sum, es, er_sum, er_n in cursor.fetchall():
            # GROUPING() has a bit set for each key left out; one key is in each set
            i = next(j for j in range(len(_SLICE_KEYS)) if not grouping >> (len(_SLICE_KEYS) - 1 - j) & 1)
            value = values[i]
            if _SLICE_KEYS[i] == "selling" and value is not None:
                value = bool(value)
            out[_SLICE_KEYS[i]][value] = _Summary(
                n=n, e_sum=int(e_sum), median=float(statistics.median(es)), er_sum=er_sum or 0.0, er_n=er_n
            )
    return out


def content_slices(
    workspace_id: int, start: dt.date, end: dt.date, *, channel_ids: Sequence[int] | None = None
) -> ContentSlices:
    """Results by rubric, format, text length, hour and weekday (local), and the mix against them.

    A post counts when its engagements are known. Engagements are E = likes + reposts + comments
    over the posts of networks that report them; where the period has only reactions-only posts
    (Telegram), the slices compare reactions instead and say so (``basis``).
    """
    from rupor.planning import service as planning

    check_period(start, end)
    zone = accounts.workspace_info(workspace_id).timezone
    tz = timezones.zone(zone)
    scope = _scope(workspace_id, channel_ids)
    first, after = _bounds(start, end, zone)
    base = _posts(workspace_id, scope, first, after).filter(_LIVE & _E_KNOWN)
    full = base.filter(reactions_only=False)
    basis = "engagements"
    notes: list[str] = []
    if not full.exists() and base.filter(reactions_only=True).exists():
        rows_qs, basis = base.filter(reactions_only=True), "reactions"
        notes.append(_("Only reactions-only posts (Telegram) in this period: the slices compare reactions."))
    else:
        rows_qs = full
        skipped = base.filter(reactions_only=True).count()
        if skipped:
            notes.append(
                _("%(n)s reactions-only posts (Telegram) are left out: reactions are not engagements.")
                % {"n": skipped}
            )
    rubrics = {r.id: r for r in planning.rubric_facts(workspace_id)}
    post_e = Coalesce(F("likes"), Value(0)) if basis == "reactions" else _E
    if SLICES_IN_SQL and connection.vendor == "postgresql":
        summaries = _slices_in_sql(rows_qs, post_e, tz, rubrics)
    else:
        summaries = _slices_in_python(rows_qs, post_e, tz, rubrics)
    groups, selling = summaries, summaries["selling"]
    total = sum(g.n for g in groups["rubric"].values())
    no_rubric = _("No rubric")
    rubric_rows = [
        groups["rubric"][r.id].row(str(r.id), _(r.name), total)
        for r in rubrics.values()
        if r.id in groups["rubric"]
    ]
    if None in groups["rubric"]:
        rubric_rows.append(groups["rubric"][None].row("none", no_rubric, total))
    slices = (
        Slice("rubric", _("By rubric"), tuple(rubric_rows)),
        Slice(
            "format",
            _("By format"),
            tuple(
                groups["format"][f].row(str(f), str(label), total)
                for f, label in FORMAT_LABELS.items()
                if f in groups["format"]
            ),
        ),
        Slice(
            "length",
            _("By text length"),
            tuple(
                groups["length"][i].row(str(i), str(label), total)
                for i, (_u, label) in enumerate(LENGTH_BUCKETS)
                if i in groups["length"]
            ),
        ),
        Slice(
            "hour",
            _("By hour published"),
            tuple(
                groups["hour"][h].row(str(h), f"{h:02d}:00", total) for h in range(24) if h in groups["hour"]
            ),
        ),
        Slice(
            "weekday",
            _("By weekday published"),
            tuple(
                groups["weekday"][d].row(str(d), str(WEEKDAY_LABELS[d]), total)
                for d in range(7)
                if d in groups["weekday"]
            ),
        ),
    )
    mix = []
    for r in rubrics.values():
        g = groups["rubric"].get(r.id, _Summary())
        row = g.row(str(r.id), _(r.name), total)
        mix.append(
            MixRow(
                str(r.id),
                _(r.name),
                r.color,
                r.target_share,
                row.share_pct,
                row.posts,
                row.mean_engagements,
                row.mean_er,
                r.is_selling,
            )
        )
    if None in groups["rubric"]:
        row = groups["rubric"][None].row("none", no_rubric, total)
        mix.append(
            MixRow(
                "none",
                no_rubric,
                "#9ca3af",
                None,
                row.share_pct,
                row.posts,
                row.mean_engagements,
                row.mean_er,
                None,
            )
        )
    selling_rows = []
    for flag, label in ((False, _("Not selling")), (True, _("Selling")), (None, no_rubric)):
        if flag is None and None not in selling:
            continue
        g = selling.get(flag, _Summary())
        row = g.row(str(flag).lower(), label, total)
        target = (
            sum(r.target_share for r in rubrics.values() if r.is_selling == flag)
            if flag is not None
            else None
        )
        selling_rows.append(
            MixRow(
                str(flag).lower(),
                label,
                "",
                target,
                row.share_pct,
                row.posts,
                row.mean_engagements,
                row.mean_er,
                flag,
            )
        )
    return ContentSlices(
        workspace_id=workspace_id,
        start=start,
        end=end,
        timezone=zone,
        channel_ids=tuple(scope),
        basis=basis,
        posts=total,
        slices=slices,
        mix=tuple(mix),
        selling=tuple(selling_rows),
        notes=tuple(notes),
    )


# -- reading a request ---------------------------------------------------------------------

#: The period a dashboard shows when none is chosen, in days (today included), and the presets.
DEFAULT_DAYS = 30
PRESETS = (7, 30, 90)


def parse_period(raw_from: str, raw_to: str, raw_days: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """The period a person asked for: ``from``/``to`` (YYYY-MM-DD), or ``days`` (the last N days
    up to today), else the last :data:`DEFAULT_DAYS` days. Bad input is a 422 that says why."""
    raw_from, raw_to, raw_days = raw_from.strip(), raw_to.strip(), raw_days.strip()
    if raw_days and not (raw_from or raw_to):
        if not raw_days.isdigit() or not 1 <= int(raw_days) <= MAX_DAYS:
            raise DashboardError(
                _("The number of days is a whole number from 1 to %(max)s.") % {"max": MAX_DAYS}, "days", 422
            )
        return today - dt.timedelta(days=int(raw_days) - 1), today
    if not raw_from and not raw_to:
        return today - dt.timedelta(days=DEFAULT_DAYS - 1), today
    try:
        start = dt.date.fromisoformat(raw_from) if raw_from else None
    except ValueError:
        start = None
        bad = "from"
    else:
        bad = ""
    try:
        end = dt.date.fromisoformat(raw_to) if raw_to else today
    except ValueError:
        end, bad = None, bad or "to"
    if bad or start is None or end is None:
        raise DashboardError(_("Dates are written as YYYY-MM-DD."), bad or "from", 422)
    check_period(start, end)
    return start, end


def parse_channels(raw: Sequence[str]) -> list[int]:
    """Channel ids from a query string (``channel=3&channel=5``); an empty value means all."""
    out = []
    for value in raw:
        value = value.strip()
        if not value:
            continue
        if not value.isdigit():
            raise DashboardError(_("A channel is given by its number."), "channel", 422)
        out.append(int(value))
    return out
