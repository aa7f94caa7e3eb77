"""Public actions of the analytics domain: collect readings, and derive figures from them.

Readings are append-only time series (``PostMetricReading``, ``ChannelMetricReading``); every
derived figure names its formula (``FORMULAS``, shown beside every figure: the industry's
ERR, ERpost and ERview definitions). A figure a network cannot read is ``None`` with a note
that says so — Rupor never shows a guessed number.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from rupor.accounts.roles import Perm
from rupor.accounts.service import Actor
from rupor.analytics.models import ChannelMetricReading, MemberEvent, PostMetricReading, WatchedPost
from rupor.channels import service as channels
from rupor.core import clock
from rupor.core.errors import DomainError
from rupor.networks import errors, registry
from rupor.networks.base import Adapter, Capability
from rupor.publishing import service as publishing

log = logging.getLogger(__name__)

#: Posts published by Rupor in the last this many days are measured by ``collect_post_metrics``.
COLLECT_DAYS = 30

#: The engagement set E and the formulas shown to people (the definitions LiveDune and Popsters publish).
ENGAGEMENT_SET = "likes + reposts + comments (Telegram: likes = the sum of emoji reactions)"
FORMULAS: dict[str, str] = {
    "er_reach": "ERR (engagement rate by reach) = (likes + reposts + comments) / reach x 100%",
    "er_followers": "ERpost (engagement rate by followers, Popsters) = (likes + reposts + comments) / followers x 100%; "
    "followers = the channel's latest member count read at or before the post's reading",
    "er_views": "ERview (engagement rate by views, Popsters) = (likes + reposts + comments) / views x 100%",
    "growth_rate": "Follower growth rate = (members at end - members at start) / members at start x 100%",
    "net_growth": "Net growth = members at end - members at start",
}


class AnalyticsError(DomainError):
    """A request the analytics domain refuses."""


def network_failure(exc: errors.NetworkError) -> DomainError:
    """A network error as a plain message with an HTTP status for the entry points."""
    return AnalyticsError(exc.message, status=errors.http_status(exc))


# -- collecting ----------------------------------------------------------------------------


def _channel_and_adapter(
    channel_id: int, capability: Capability | None
) -> tuple[channels.ChannelRef, Adapter]:
    channel = channels.find_channel(channel_id)
    if channel is None:
        raise AnalyticsError(_("No such channel."), status=404)
    name = registry.DISPLAY_NAMES.get(channel.network, channel.network)
    if channel.network not in registry.available():
        raise AnalyticsError(_("Rupor cannot talk to %(network)s yet.") % {"network": name}, status=422)
    adapter = registry.adapter(channel.network)
    if capability is not None and capability not in adapter.capabilities:
        refusal = {
            Capability.POST_METRICS: _("%(network)s does not let Rupor read post statistics."),
            Capability.CHANNEL_METRICS: _("%(network)s does not let Rupor read channel statistics."),
            Capability.PUBLIC_PAGES: _("%(network)s does not let Rupor read other public pages."),
        }.get(capability)
        if refusal is None:
            refusal = _("%(network)s does not let Rupor read %(what)s.")
        raise AnalyticsError(refusal % {"network": name, "what": capability.value}, status=422)
    return channel, adapter


@dataclass(frozen=True)
class CollectResult:
    channel_id: int
    readings: int
    notes: tuple[str, ...] = ()


def collect_post_metrics(channel_id: int, *, days: int = COLLECT_DAYS) -> CollectResult:
    """Read the counters of posts Rupor published on the channel in the last ``days`` days and
    append one reading per post. Figures the network does not give stay ``None``."""
    channel, adapter = _channel_and_adapter(channel_id, Capability.POST_METRICS)
    posts = publishing.published_posts(channel_id, since=clock.now() - dt.timedelta(days=days))
    if not posts:
        return CollectResult(channel_id, 0, (_("Rupor has not published on this channel recently."),))
    by_remote = {p.remote_id: p for p in posts}
    try:
        metrics = adapter.post_metrics(channels.access_for(channel.id), list(by_remote))
    except errors.READ_ERRORS as exc:
        raise network_failure(errors.as_network_error(exc, adapter.display_name)) from exc
    now = clock.now()
    rows = []
    for m in metrics:
        post = by_remote.get(m.remote_id)
        rows.append(
            PostMetricReading(
                workspace_id=channel.workspace_id,
                channel_id=channel.id,
                target_id=post.target_id if post else None,
                remote_post_id=m.remote_id,
                read_at=now,
                likes=m.likes,
                reposts=m.reposts,
                comments=m.comments,
                views=m.views,
                reach=m.reach,
                reactions=dict(m.reactions),
                extra=dict(m.extra),
                source="poll",
            )
        )
    PostMetricReading.objects.bulk_create(rows)
    return CollectResult(
        channel_id, len(rows), tuple(_missing_notes(channel.network, rows[-1]) if rows else ())
    )


def collect_channel_metrics(channel_id: int) -> CollectResult:
    """Read members (and joins/leaves where the network reports them) and append one reading."""
    channel, adapter = _channel_and_adapter(channel_id, Capability.CHANNEL_METRICS)
    try:
        m = adapter.channel_metrics(channels.access_for(channel.id))
    except errors.READ_ERRORS as exc:
        raise network_failure(errors.as_network_error(exc, adapter.display_name)) from exc
    ChannelMetricReading.objects.create(
        workspace_id=channel.workspace_id,
        channel_id=channel.id,
        read_at=clock.now(),
        members=m.members,
        joins=m.joins,
        leaves=m.leaves,
        extra=dict(m.extra),
        source="poll",
    )
    notes = []
    name = registry.DISPLAY_NAMES.get(channel.network, channel.network)
    if m.joins is None:
        notes.append(
            _(
                "%(network)s does not report joins and leaves on request; Rupor counts those it receives as events."
            )
            % {"network": name}
        )
    return CollectResult(channel_id, 1, tuple(notes))


@dataclass(frozen=True)
class MemberChange:
    remote_id: str
    joined: bool
    occurred_at: dt.datetime
    person_remote_id: str = ""


def record_member_events(channel_id: int, changes: Iterable[MemberChange]) -> int:
    """Store joins/leaves the network pushed; each remote id once. Returns how many were new."""
    channel = channels.find_channel(channel_id, removed_too=True)
    if channel is None:
        return 0
    new = 0
    for change in changes:
        try:
            with transaction.atomic():
                MemberEvent.objects.create(
                    workspace_id=channel.workspace_id,
                    channel_id=channel_id,
                    remote_id=change.remote_id[:200],
                    kind=MemberEvent.Kind.JOIN if change.joined else MemberEvent.Kind.LEAVE,
                    person_remote_id=change.person_remote_id[:200],
                    occurred_at=change.occurred_at,
                )
            new += 1
        except IntegrityError:
            continue
    return new


def record_reactions(channel_id: int, remote_post_id: str, counts: dict[str, int], at: dt.datetime) -> bool:
    """Append a reading from reaction totals the network pushed (Telegram ``message_reaction_count``).

    Views, reposts and comments are unknown in such a reading and stay ``None``. A repeated
    delivery of the same totals at the same time adds nothing.
    """
    channel = channels.find_channel(channel_id, removed_too=True)
    if channel is None:
        return False
    if PostMetricReading.objects.filter(
        channel_id=channel_id, remote_post_id=remote_post_id, read_at=at, source="event", reactions=counts
    ).exists():
        return False
    post = publishing.find_published(channel_id, remote_post_id)
    PostMetricReading.objects.create(
        workspace_id=channel.workspace_id,
        channel_id=channel_id,
        target_id=post.target_id if post else None,
        remote_post_id=(post.remote_id if post else remote_post_id),
        read_at=at,
        likes=sum(counts.values()),
        reactions=dict(counts),
        source="event",
    )
    return True


# -- derived figures -----------------------------------------------------------------------


def _pct(numerator: int | None, denominator: int | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator * 100, 4)


def engagements(likes: int | None, reposts: int | None, comments: int | None) -> int | None:
    """E = likes + reposts + comments over the counters the network reported (None if none)."""
    parts = [v for v in (likes, reposts, comments) if v is not None]
    return sum(parts) if parts else None


_FIELD_WORDS = {
    "views": gettext_noop("view counts"),
    "reach": gettext_noop("reach"),
    "likes": gettext_noop("likes or reactions"),
    "reposts": gettext_noop("reposts"),
    "comments": gettext_noop("comment counts"),
}  # translated where they are used


def _missing_notes(network: str, reading: PostMetricReading) -> list[str]:
    name = registry.DISPLAY_NAMES.get(network, network)
    missing = [f for f in ("views", "reach", "likes", "reposts", "comments") if getattr(reading, f) is None]
    if not missing:
        return []
    words = ", ".join(_(_FIELD_WORDS[f]) for f in missing)
    return [
        _(
            "%(network)s does not give Rupor %(figures)s for this post; no number is shown rather than a guess."
        )
        % {"network": name, "figures": words}
    ]


@dataclass(frozen=True)
class VariantMetrics:
    variant_id: int
    target_id: int
    channel_id: int
    network: str
    remote_id: str
    readings: int
    read_at: dt.datetime | None = None
    likes: int | None = None
    reposts: int | None = None
    comments: int | None = None
    views: int | None = None
    reach: int | None = None
    reactions: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    engagements: int | None = None
    followers: int | None = None
    er_reach: float | None = None
    er_followers: float | None = None
    er_views: float | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PostSummary:
    post_id: int
    variants: tuple[VariantMetrics, ...]
    engagement_set: str = ENGAGEMENT_SET
    formulas: dict[str, str] = field(default_factory=lambda: dict(FORMULAS))


def _followers_at(channel_id: int, at: dt.datetime) -> int | None:
    reading = (
        ChannelMetricReading.objects.filter(channel_id=channel_id, read_at__lte=at, members__isnull=False)
        .order_by("-read_at", "-id")
        .first()
    )
    if reading is None:  # read the channel after the post: still the best figure we have
        reading = (
            ChannelMetricReading.objects.filter(channel_id=channel_id, members__isnull=False)
            .order_by("read_at", "id")
            .first()
        )
    return reading.members if reading else None


def _merge(readings: Sequence[PostMetricReading]) -> dict[str, Any]:
    """The latest value of each counter across the newest readings (pushed reaction totals
    carry only likes/reactions, polled readings carry the rest)."""
    out: dict[str, Any] = {"read_at": None, "reactions": {}, "extra": {}}
    for r in readings:  # newest first
        if out["read_at"] is None:
            out["read_at"] = r.read_at
        for name in ("likes", "reposts", "comments", "views", "reach"):
            if out.get(name) is None and getattr(r, name) is not None:
                out[name] = getattr(r, name)
        if not out["reactions"] and r.reactions:
            out["reactions"] = dict(r.reactions)
        if not out["extra"] and r.extra:
            out["extra"] = dict(r.extra)
    return out


def post_summary(workspace_id: int, post_id: int) -> PostSummary:
    """The latest figures per published variant of a Rupor post, with engagement rates.

    * ``er_reach`` — ERR, engagement rate by reach: (likes + reposts + comments) / reach x 100%.
    * ``er_followers`` — ERpost (Popsters), engagement rate by followers:
      (likes + reposts + comments) / followers x 100%, followers = the channel's latest member
      count read at or before the post's latest reading.
    * ``er_views`` — ERview (Popsters): (likes + reposts + comments) / views x 100%.

    A rate is ``None`` when its denominator is unknown (Telegram bots cannot read views).
    """
    from rupor.planning import service as planning

    planning.get_post(workspace_id, post_id)  # 404 for other workspaces
    targets = publishing.post_targets(workspace_id, post_id)
    out = []
    for t in targets:
        readings = list(
            PostMetricReading.objects.filter(channel_id=t.channel_id, target_id=t.target_id).order_by(
                "-read_at", "-id"
            )[:10]
        )
        count = PostMetricReading.objects.filter(channel_id=t.channel_id, target_id=t.target_id).count()
        name = registry.DISPLAY_NAMES.get(t.network, t.network)
        if not readings:
            note = (
                _("Not measured yet on %(network)s.")
                if t.published
                else _("Not published on %(network)s, so there is nothing to measure.")
            ) % {"network": name}
            out.append(
                VariantMetrics(
                    variant_id=t.variant_id,
                    target_id=t.target_id,
                    channel_id=t.channel_id,
                    network=t.network,
                    remote_id=t.remote_id,
                    readings=0,
                    notes=(note,),
                )
            )
            continue
        m = _merge(readings)
        e = engagements(m.get("likes"), m.get("reposts"), m.get("comments"))
        followers = _followers_at(t.channel_id, m["read_at"])
        merged = PostMetricReading(
            **{k: m.get(k) for k in ("likes", "reposts", "comments", "views", "reach")}
        )
        notes = _missing_notes(t.network, merged)
        if followers is None:
            notes.append(
                _("The channel's member count has not been read yet, so the rate by followers is unknown.")
            )
        out.append(
            VariantMetrics(
                variant_id=t.variant_id,
                target_id=t.target_id,
                channel_id=t.channel_id,
                network=t.network,
                remote_id=t.remote_id,
                readings=count,
                read_at=m["read_at"],
                likes=m.get("likes"),
                reposts=m.get("reposts"),
                comments=m.get("comments"),
                views=m.get("views"),
                reach=m.get("reach"),
                reactions=m["reactions"],
                extra=m["extra"],
                engagements=e,
                followers=followers,
                er_reach=_pct(e, m.get("reach")),
                er_followers=_pct(e, followers),
                er_views=_pct(e, m.get("views")),
                notes=tuple(notes),
            )
        )
    return PostSummary(post_id=post_id, variants=tuple(out))


@dataclass(frozen=True)
class GrowthPoint:
    read_at: dt.datetime
    members: int | None
    joins: int | None
    leaves: int | None


@dataclass(frozen=True)
class ChannelGrowth:
    channel_id: int
    network: str
    start: dt.datetime
    end: dt.datetime
    points: tuple[GrowthPoint, ...]
    members_start: int | None
    members_end: int | None
    net_growth: int | None
    growth_rate: float | None
    joins: int
    leaves: int
    notes: tuple[str, ...] = ()
    formulas: dict[str, str] = field(
        default_factory=lambda: {k: FORMULAS[k] for k in ("net_growth", "growth_rate")}
    )


def channel_growth(workspace_id: int, channel_id: int, start: dt.datetime, end: dt.datetime) -> ChannelGrowth:
    """Members over ``[start, end]`` from the channel's readings, plus joins and leaves counted
    from the events the network delivered in that window."""
    if start.tzinfo is None or end.tzinfo is None:
        raise AnalyticsError(_("Give start and end with a time zone."), "start")
    if end < start:
        raise AnalyticsError(_("The end must not be before the start."), "end")
    channel = channels.get_channel(workspace_id, channel_id)
    readings = list(
        ChannelMetricReading.objects.filter(
            channel_id=channel_id, read_at__gte=start, read_at__lte=end, source="poll"
        ).order_by("read_at", "id")[:5000]
    )
    points = tuple(GrowthPoint(r.read_at, r.members, r.joins, r.leaves) for r in readings)
    with_members = [r.members for r in readings if r.members is not None]
    first = with_members[0] if with_members else None
    last = with_members[-1] if with_members else None
    net = last - first if first is not None and last is not None else None
    events = MemberEvent.objects.filter(channel_id=channel_id, occurred_at__gte=start, occurred_at__lte=end)
    notes = []
    if len(with_members) < 2:
        notes.append(
            _("Fewer than two member counts were read in this period, so growth cannot be computed yet.")
        )
    return ChannelGrowth(
        channel_id=channel_id,
        network=channel.network,
        start=start,
        end=end,
        points=points,
        members_start=first,
        members_end=last,
        net_growth=net,
        growth_rate=_pct(net, first) if len(with_members) >= 2 else None,
        joins=events.filter(kind=MemberEvent.Kind.JOIN).count(),
        leaves=events.filter(kind=MemberEvent.Kind.LEAVE).count(),
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class CompetitorPost:
    remote_id: str
    text: str
    published_at: dt.datetime
    likes: int | None
    reposts: int | None
    comments: int | None
    views: int | None
    url: str | None
    er_followers: float | None


@dataclass(frozen=True)
class CompetitorPage:
    remote_id: str
    name: str
    members: int | None
    url: str | None
    posts: tuple[CompetitorPost, ...]
    average_er_followers: float | None
    formula: str = "Avg ERpost (Popsters) = sum(likes + reposts + comments) / followers / posts x 100%"


def competitor_page(actor: Actor, channel_id: int, handle: str) -> CompetitorPage:
    """Read another public page through one of our channels (for competitor analysis)."""
    if not actor.can(Perm.ANALYTICS_VIEW):
        raise AnalyticsError(_("Your role does not allow this."), status=403)
    handle = (handle or "").strip()
    if not handle or len(handle) > 200:
        raise AnalyticsError(_("Give the page's address or short name."), "handle", 422)
    channels.get_channel(actor.workspace_id, channel_id)
    # No capability check: the adapter's own NotSupported says best why it cannot (Telegram).
    channel, adapter = _channel_and_adapter(channel_id, None)
    try:
        page = adapter.public_page(channels.access_for(channel.id), handle)
    except errors.NetworkError as exc:
        raise network_failure(exc) from exc
    posts = tuple(
        CompetitorPost(
            remote_id=p.remote_id,
            text=p.text,
            published_at=p.published_at,
            likes=p.likes,
            reposts=p.reposts,
            comments=p.comments,
            views=p.views,
            url=p.url,
            er_followers=_pct(engagements(p.likes, p.reposts, p.comments), page.members),
        )
        for p in page.posts
    )
    total = [engagements(p.likes, p.reposts, p.comments) for p in posts]
    known = [e for e in total if e is not None]
    average = _pct(sum(known), page.members * len(known)) if known and page.members else None
    return CompetitorPage(
        remote_id=page.remote_id,
        name=page.name,
        members=page.members,
        url=page.url,
        posts=posts,
        average_er_followers=average,
    )


def watched_post_texts(workspace_id: int, since: dt.datetime) -> list[tuple[dt.datetime, str]]:
    """(publication time, text) of the workspace's watched pages' posts published since ``since``
    (for the keyword trends of the inbox)."""
    return list(
        WatchedPost.objects.filter(workspace_id=workspace_id, published_at__gte=since)
        .order_by("published_at")
        .values_list("published_at", "text")
    )
