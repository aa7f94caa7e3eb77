"""Public actions of the analytics domain: collect readings, and derive figures from them.

Readings are append-only time series (``PostMetricReading``, ``ChannelMetricReading``); every
derived figure names its formula (``FORMULAS``, shown beside every figure: the industry's
ERR, ERpost and ERview definitions). A figure a network cannot read is ``None`` with a note
that says so — Rupor never shows a guessed number.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from rupor.accounts.roles import Perm
from rupor.accounts.service import Actor
from rupor.analytics import collection, polls, rollup
from rupor.analytics.audience import NETWORKS as _AUDIENCE_NETWORKS
from rupor.analytics.audience import AudienceError as AudienceError
from rupor.analytics.audience import ChannelAudience as ChannelAudience
from rupor.analytics.audience import channel_audience as channel_audience
from rupor.analytics.collection import ChannelFacts
from rupor.analytics.models import (
    ChannelDay,
    ChannelMetricReading,
    MemberEvent,
    PollResult,
    PostMetricReading,
    PostStat,
    WatchedPost,
)
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
    "followers = the channel's member count read at or nearest before publishing",
    "er_views": "ERview (engagement rate by views, Popsters) = (likes + reposts + comments) / views x 100%",
    "reaction_rate": "Reaction rate by followers = emoji reactions / followers x 100% (networks that give only "
    "reactions, such as Telegram: not an ERpost, because reposts and comments are unknown)",
    "growth_rate": "Follower growth rate = (members at end - members at start) / members at start x 100%",
    "net_growth": "Net growth = members at end - members at start",
    "churn": "Churn = leaves in the period / members at the start of the period x 100%",
}
#: What a rate of a reactions-only post is called instead of ERpost / ERR / ERview.
REACTION_RATE_NAMES: dict[str, str] = {
    "er_followers": "Reaction rate by followers = reactions / followers x 100%",
    "er_reach": "Reaction rate by reach = reactions / reach x 100%",
    "er_views": "Reaction rate by views = reactions / views x 100%",
}


def _facts(channel: channels.ChannelRef) -> ChannelFacts:
    return ChannelFacts(id=channel.id, workspace_id=channel.workspace_id, network=channel.network)


def audience_networks() -> frozenset[str]:
    """The networks whose channels' audience Rupor reads."""
    return _AUDIENCE_NETWORKS


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


def collect_post_metrics(
    channel_id: int, *, days: int = COLLECT_DAYS, remote_ids: Sequence[str] | None = None
) -> CollectResult:
    """Read the counters of posts Rupor published on the channel — those of the last ``days``
    days, or exactly ``remote_ids`` (the scheduled batch) — in one adapter call, append one
    reading per post and bring each post's :class:`PostStat` up to date from its reading.

    Figures the network does not give stay ``None``. A post the network no longer returns
    (deleted on VK or OK) is marked deleted and no longer read.
    """
    channel, adapter = _channel_and_adapter(channel_id, Capability.POST_METRICS)
    facts = _facts(channel)
    if remote_ids is None:
        since = clock.now() - dt.timedelta(days=days)
        collection.track_published(facts, since=since)
        posts = publishing.published_posts(channel_id, since=since)
        wanted = [p.remote_id for p in posts]
    else:
        wanted = list(remote_ids)
    if not wanted:
        return CollectResult(channel_id, 0, (_("Rupor has not published on this channel recently."),))
    try:
        metrics = adapter.post_metrics(channels.access_for(channel.id), wanted)
    except errors.READ_ERRORS as exc:
        raise network_failure(errors.as_network_error(exc, adapter.display_name)) from exc
    now = clock.now()
    targets = dict(
        PostStat.objects.filter(channel_id=channel.id, remote_post_id__in=wanted).values_list(
            "remote_post_id", "target_id"
        )
    )
    rows = []
    for m in metrics:
        rows.append(
            PostMetricReading(
                workspace_id=channel.workspace_id,
                channel_id=channel.id,
                target_id=targets.get(m.remote_id),
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
    with transaction.atomic():
        PostMetricReading.objects.bulk_create(rows)
        collection.apply_readings(facts, rows)
        returned = {m.remote_id for m in metrics}
        collection.mark_deleted(channel.id, [r for r in wanted if r not in returned], now)
        polls.record_tallies(channel.id, metrics)
    return CollectResult(
        channel_id, len(rows), tuple(_missing_notes(channel.network, rows[-1]) if rows else ())
    )


def collect_channel_metrics(channel_id: int) -> CollectResult:
    """Read members (and the network's daily statistics where it keeps them: joins, leaves,
    reach, views, audience), append one reading, and update the channel's days."""
    channel, adapter = _channel_and_adapter(channel_id, Capability.CHANNEL_METRICS)
    try:
        m = adapter.channel_metrics(channels.access_for(channel.id))
    except errors.READ_ERRORS as exc:
        raise network_failure(errors.as_network_error(exc, adapter.display_name)) from exc
    now = clock.now()
    with transaction.atomic():
        ChannelMetricReading.objects.create(
            workspace_id=channel.workspace_id,
            channel_id=channel.id,
            read_at=now,
            members=m.members,
            joins=m.joins,
            leaves=m.leaves,
            extra=dict(m.extra),
            source="poll",
        )
        collection.apply_channel_metrics(_facts(channel), read_at=now, members=m.members, days=m.days)
    notes = []
    if m.joins is None and not m.days:
        notes.append(_joins_note(channel.network, collection.counts_events(_facts(channel))))
    return CollectResult(channel_id, 1, tuple(notes))


def _joins_note(network: str, from_events: bool) -> str:
    name = registry.DISPLAY_NAMES.get(network, network)
    if from_events:
        return _(
            "%(network)s does not report joins and leaves on request; Rupor counts the join and leave events it receives."
        ) % {"network": name}
    return _(
        "%(network)s reports neither joins and leaves nor events about them for this channel, so they are unknown (not zero)."
    ) % {"network": name}


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
    days: set[dt.date] = set()
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
        days.add(change.occurred_at.astimezone(dt.UTC).date())
    if days:
        collection.refresh_event_days(_facts(channel), days)
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
    with transaction.atomic():
        reading = PostMetricReading.objects.create(
            workspace_id=channel.workspace_id,
            channel_id=channel_id,
            target_id=post.target_id if post else None,
            remote_post_id=(post.remote_id if post else remote_post_id),
            read_at=at,
            likes=sum(counts.values()),
            reactions=dict(counts),
            source="event",
        )
        # Pushed totals update the post's row but not its reading schedule.
        collection.apply_readings(_facts(channel), [reading], schedule=False)
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
    #: True where the network gives only emoji reactions (Telegram): the rates above are then
    #: reaction rates, named so in ``rate_names``, not ERpost / ERR / ERview.
    reactions_only: bool = False
    #: What each rate of this variant is, by what went into it (the formula shown beside it).
    rate_names: dict[str, str] = field(default_factory=dict)
    deleted_at: dt.datetime | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PostSummary:
    post_id: int
    variants: tuple[VariantMetrics, ...]
    engagement_set: str = ENGAGEMENT_SET
    formulas: dict[str, str] = field(default_factory=lambda: dict(FORMULAS))


def rate_names(reactions_only: bool) -> dict[str, str]:
    """The name and formula of each per-post rate, by what went into it."""
    if reactions_only:
        return dict(REACTION_RATE_NAMES)
    return {k: FORMULAS[k] for k in ("er_followers", "er_reach", "er_views")}


def _readings_of(channel_id: int, remote_id: str, target_id: int) -> QuerySet[PostMetricReading]:
    """A variant's readings: by its target, or by its post id on the network."""
    return PostMetricReading.objects.filter(channel_id=channel_id).filter(
        Q(target_id=target_id) | Q(remote_post_id=remote_id) if remote_id else Q(target_id=target_id)
    )


def _latest_reading(channel_id: int, remote_id: str, target_id: int) -> PostMetricReading | None:
    """The newest reading of a post that has any counter: every figure shown comes from it."""
    has_any = (
        Q(likes__isnull=False)
        | Q(reposts__isnull=False)
        | Q(comments__isnull=False)
        | Q(views__isnull=False)
        | Q(reach__isnull=False)
    )
    qs = _readings_of(channel_id, remote_id, target_id)
    return qs.filter(has_any).order_by("-read_at", "-id").first() or qs.order_by("-read_at", "-id").first()


def post_summary(workspace_id: int, post_id: int) -> PostSummary:
    """The latest figures per published variant of a Rupor post, with engagement rates.

    Every figure of a variant comes from **one** reading (the newest with any counter), so a
    rate never divides one moment's counters by another moment's reach.

    * ``er_reach`` — ERR, engagement rate by reach: (likes + reposts + comments) / reach x 100%.
    * ``er_followers`` — ERpost (Popsters), engagement rate by followers:
      (likes + reposts + comments) / followers x 100%, followers = the channel's member count
      read at or nearest before publishing.
    * ``er_views`` — ERview (Popsters): (likes + reposts + comments) / views x 100%.

    Where the network gives only reactions (Telegram), the same quotients are reaction rates and
    ``rate_names`` says so. A rate is ``None`` when its denominator is unknown or zero.
    """
    from rupor.planning import service as planning

    planning.get_post(workspace_id, post_id)  # 404 for other workspaces
    targets = publishing.post_targets(workspace_id, post_id)
    out = []
    for t in targets:
        count = _readings_of(t.channel_id, t.remote_id, t.target_id).count()
        reading = _latest_reading(t.channel_id, t.remote_id, t.target_id) if count else None
        name = registry.DISPLAY_NAMES.get(t.network, t.network)
        if reading is None:
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
        stat = PostStat.objects.filter(channel_id=t.channel_id, remote_post_id=reading.remote_post_id).first()
        published_at = stat.published_at if stat else reading.read_at
        followers = (
            stat.followers
            if stat and stat.followers is not None
            else collection.followers_at(t.channel_id, published_at)
        )
        e = engagements(reading.likes, reading.reposts, reading.comments)
        only_reactions = reading.likes is not None and reading.reposts is None and reading.comments is None
        notes = _missing_notes(t.network, reading)
        if followers is None:
            notes.append(
                _("The channel's member count has not been read yet, so the rate by followers is unknown.")
            )
        if only_reactions:
            notes.append(
                _(
                    "%(network)s gives only emoji reactions for this post, so its rates are reaction rates, not ERpost."
                )
                % {"network": name}
            )
        if stat and stat.deleted_at:
            notes.append(_("The post was deleted on the network; the figures are the last ones read."))
        out.append(
            VariantMetrics(
                variant_id=t.variant_id,
                target_id=t.target_id,
                channel_id=t.channel_id,
                network=t.network,
                remote_id=t.remote_id,
                readings=count,
                read_at=reading.read_at,
                likes=reading.likes,
                reposts=reading.reposts,
                comments=reading.comments,
                views=reading.views,
                reach=reading.reach,
                reactions=dict(reading.reactions or {}),
                extra=dict(reading.extra or {}),
                engagements=e,
                followers=followers,
                er_reach=_pct(e, reading.reach),
                er_followers=_pct(e, followers),
                er_views=_pct(e, reading.views),
                reactions_only=only_reactions,
                rate_names=rate_names(only_reactions),
                deleted_at=stat.deleted_at if stat else None,
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
    #: ``None`` where nothing tells them (never 0 for "unknown"); ``joins_source`` says where
    #: they came from: "events" (join/leave events received), "stats" (the network's daily
    #: statistics, whole days) or "" (unknown).
    joins: int | None
    leaves: int | None
    churn: float | None = None
    joins_source: str = ""
    notes: tuple[str, ...] = ()
    formulas: dict[str, str] = field(
        default_factory=lambda: {k: FORMULAS[k] for k in ("net_growth", "growth_rate", "churn")}
    )


def churn(leaves: int | None, members_start: int | None) -> float | None:
    """Churn = leaves / members at the start of the period x 100% (None when either is unknown
    or there were no members)."""
    return _pct(leaves, members_start)


def _joins_leaves(
    channel: ChannelFacts, start: dt.datetime, end: dt.datetime
) -> tuple[int | None, int | None, str]:
    """Joins and leaves in ``[start, end]``: counted from events where events tell them all,
    else summed from the network's daily statistics when they cover every day of the period,
    else unknown."""
    if collection.counts_events(channel):
        events = MemberEvent.objects.filter(
            channel_id=channel.id, occurred_at__gte=start, occurred_at__lte=end
        )
        return (
            events.filter(kind=MemberEvent.Kind.JOIN).count(),
            events.filter(kind=MemberEvent.Kind.LEAVE).count(),
            "events",
        )
    first, last = start.astimezone(dt.UTC).date(), end.astimezone(dt.UTC).date()
    rows = list(
        ChannelDay.objects.filter(
            channel_id=channel.id, day__gte=first, day__lte=last, source="stats"
        ).values_list("joins", "leaves")
    )
    if (
        rows
        and len(rows) == (last - first).days + 1
        and all(j is not None and lv is not None for j, lv in rows)
    ):
        return sum(j for j, _ in rows if j is not None), sum(lv for _, lv in rows if lv is not None), "stats"
    return None, None, ""


def channel_growth(workspace_id: int, channel_id: int, start: dt.datetime, end: dt.datetime) -> ChannelGrowth:
    """Members over ``[start, end]`` from the channel's readings, joins and leaves (events, or
    the network's daily statistics), net growth, growth rate and churn.

    Members at the start are those read at or nearest before ``start`` (else the first read in
    the period); at the end, the last read by ``end``.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise AnalyticsError(_("Give start and end with a time zone."), "start")
    if end < start:
        raise AnalyticsError(_("The end must not be before the start."), "end")
    channel = channels.get_channel(workspace_id, channel_id)
    facts = ChannelFacts(id=channel.pk, workspace_id=channel.workspace_id, network=channel.network)
    readings = list(
        ChannelMetricReading.objects.filter(
            channel_id=channel_id, read_at__gte=start, read_at__lte=end, source="poll"
        ).order_by("read_at", "id")[:5000]
    )
    points = tuple(GrowthPoint(r.read_at, r.members, r.joins, r.leaves) for r in readings)
    known = ChannelMetricReading.objects.filter(channel_id=channel_id, members__isnull=False, source="poll")
    first = (
        known.filter(read_at__lte=start).order_by("-read_at", "-id").first()
        or known.filter(read_at__gte=start, read_at__lte=end).order_by("read_at", "id").first()
    )
    last = known.filter(read_at__lte=end).order_by("-read_at", "-id").first()
    two = first is not None and last is not None and first.pk != last.pk
    members_start = first.members if first else None
    members_end = last.members if last else None
    net = (
        members_end - members_start if two and members_start is not None and members_end is not None else None
    )
    joins, leaves, source = _joins_leaves(facts, start, end)
    notes = []
    if not two:
        notes.append(
            _("Fewer than two member counts were read in this period, so growth cannot be computed yet.")
        )
    if joins is None:
        notes.append(_joins_note(channel.network, False))
    elif source == "stats":
        notes.append(_("Joins and leaves come from the network's daily statistics, counted by whole days."))
    return ChannelGrowth(
        channel_id=channel_id,
        network=channel.network,
        start=start,
        end=end,
        points=points,
        members_start=members_start,
        members_end=members_end,
        net_growth=net,
        growth_rate=_pct(net, members_start) if net is not None else None,
        joins=joins,
        leaves=leaves,
        churn=churn(leaves, members_start),
        joins_source=source,
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


def backfill_summaries(workspace_id: int | None = None) -> tuple[int, int, int]:
    """Rebuild the summary tables (PostStat, ChannelDay) from the readings already stored, for one
    workspace's channels or every channel (``rupor metrics backfill``; safe to run again).
    Returns (channels, post rows, channel days)."""
    if workspace_id is None:
        refs = [
            ChannelFacts(id=c.id, workspace_id=c.workspace_id, network=c.network)
            for c in channels.active_channels(registry.available())
        ]
    else:
        refs = [_facts(c) for c in channels.workspace_channels(workspace_id)]
    posts, days = collection.backfill(refs)
    for ws in sorted({r.workspace_id for r in refs}):
        rollup.rebuild(ws)  # the daily rollup of the rebuilt posts, in the workspace's zone
    return len(refs), posts, days


def watched_post_texts(workspace_id: int, since: dt.datetime) -> list[tuple[dt.datetime, str]]:
    """(publication time, text) of the workspace's watched pages' posts published since ``since``
    (for the keyword trends of the inbox)."""
    return list(
        WatchedPost.objects.filter(workspace_id=workspace_id, published_at__gte=since)
        .order_by("published_at")
        .values_list("published_at", "text")
    )


def provide_poll_comments(reader: Callable[[int, int], Sequence[polls.CommentLike]]) -> None:
    """The inbox's reader of a post's comments, for keyword polls (set by ``inbox/apps.py``)."""
    polls.provide_comments(reader)


def collect_polls(channel_id: int) -> int:
    """Count the channel's keyword polls and stop its Telegram polls that are due (the job's)."""
    return polls.collect(channel_id)


@dataclass(frozen=True)
class PollOptionView:
    text: str
    votes: int
    #: The bar's length: this option's votes as a percentage of the most-voted option's.
    bar: int
    #: This option's share of all the votes (0..1).
    share: float
    correct: bool


@dataclass(frozen=True)
class PollView:
    """One post's poll results for people: votes per option, voters, a quiz's right share."""

    post_id: int | None
    channel_id: int
    channel_name: str
    network: str
    remote_post_id: str
    kind: str
    kind_label: str
    question: str
    options: tuple[PollOptionView, ...]
    voters: int | None
    correct_option: int | None
    correct_share: float | None
    closed: bool
    closes_at: dt.datetime | None
    read_at: dt.datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "post_id": self.post_id,
            "channel_id": self.channel_id,
            "network": self.network,
            "remote_post_id": self.remote_post_id,
            "kind": self.kind,
            "question": self.question,
            "options": [{"text": o.text, "votes": o.votes} for o in self.options],
            "voters": self.voters,
            "correct_option": self.correct_option,
            "correct_share": self.correct_share,
            "closed": self.closed,
            "closes_at": self.closes_at.isoformat() if self.closes_at else None,
            "read_at": self.read_at.isoformat(),
        }


def poll_results(workspace_id: int, post_id: int | None = None, *, limit: int = 50) -> list[PollView]:
    """The poll results of a planned post, one per channel it went out on, or (no post) the
    workspace's latest ``limit``; this workspace's only."""
    out = []
    rows = PollResult.objects.filter(workspace_id=workspace_id).select_related("channel")
    if post_id is not None:
        rows = rows.filter(post_id=post_id).order_by("channel__network", "channel_id")
    else:
        rows = rows.order_by("-closes_at", "-id")[:limit]
    for r in rows:
        votes = [int(v) for v in r.votes]
        top = max(votes, default=0) or 1
        total = sum(votes) or 1
        out.append(
            PollView(
                post_id=r.post_id,
                channel_id=r.channel_id,
                channel_name=r.channel.name,
                network=r.channel.network,
                remote_post_id=r.remote_post_id,
                kind=r.kind,
                kind_label=str(PollResult.Kind(r.kind).label),
                question=r.question,
                options=tuple(
                    PollOptionView(str(t), v, round(100 * v / top), v / total, i == r.correct_option)
                    for i, (t, v) in enumerate(zip(r.options, votes, strict=False))
                ),
                voters=r.voters,
                correct_option=r.correct_option,
                correct_share=r.correct_share,
                closed=r.closed,
                closes_at=r.closes_at,
                read_at=r.read_at,
            )
        )
    return out


def post_poll_results(workspace_id: int, post_id: int) -> list[PollView]:
    """:func:`poll_results` of one post, a 404 (PlanningError) for another workspace's or none."""
    from rupor.planning import service as planning

    planning.get_post(workspace_id, post_id)
    return poll_results(workspace_id, post_id)
