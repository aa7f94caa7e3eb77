"""Competitors: a saved watchlist of other brands' public pages, collected like our own channels
and compared side by side (docs/analytics.md, "Competitors").

A page is read through one of the workspace's channels on the same network whose adapter can
read public pages (``Capability.PUBLIC_PAGES``: VK communities, OK groups; any network whose
adapter gains it joins without changes here). The worker's job :func:`run_due` reads each page:

* its member count once a day (``WatchedPageReading``, append-only);
* its latest posts, each on a decaying schedule — at 1 h, 6 h, 24 h, 3 d, 7 d and 30 d of age —
  (``WatchedPostReading``, append-only); ``WatchedPost`` keeps the figures of the newest reading,
  all four counters from that ONE reading;
* new posts every :data:`NEW_POSTS_EVERY`.

Collection takes at most :data:`SHARE` of the reading channel's published rate limit, so it never
takes the rate publishing needs. A page that fails keeps what was collected and shows why.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.utils.translation import gettext as _

from rupor.accounts.roles import Perm
from rupor.accounts.service import Actor, record
from rupor.analytics.models import WatchedPage, WatchedPageReading, WatchedPost, WatchedPostReading
from rupor.analytics.service import AnalyticsError as AnalyticsError  # refusals of this module
from rupor.analytics.service import engagements, network_failure
from rupor.channels import service as channels
from rupor.core import clock
from rupor.networks import errors, registry
from rupor.networks.base import Adapter, Capability, ChannelAccess, PublicPage

log = logging.getLogger(__name__)

#: The post ages at which a watched post is read again (then it is left as it is).
POST_AGES = tuple(dt.timedelta(hours=h) for h in (1, 6, 24, 3 * 24, 7 * 24, 30 * 24))
#: How often a page's member count is read, and how often it is checked for new posts.
MEMBERS_EVERY = dt.timedelta(days=1)
NEW_POSTS_EVERY = dt.timedelta(hours=6)
#: How many of a page's latest posts one reading asks for.
READ_LIMIT = 50
#: The share of the reading channel's published rate limit that collection may use, counted over
#: one pass of the worker's periodic jobs (every :data:`PASS_S` seconds).
SHARE = 0.05
PASS_S = 30.0
#: API calls one reading of a page makes (VK groups.getById + wall.get; OK group.getInfo +
#: mediatopic.getTopics).
CALLS_PER_READ = 2
#: At most this many watched pages per workspace.
MAX_PAGES = 30
#: A failing page is tried again after this long, doubling up to a day.
RETRY_FIRST = dt.timedelta(hours=1)
TEXT_LIMIT = 2000
#: A page being read is claimed this long (a worker that dies mid-read frees it then).
CLAIM = dt.timedelta(minutes=10)
FORMATS = ("text", "photo", "video", "poll", "link")

#: The formulas the comparison shows (F = members at the period's end, P = posts in it,
#: D = its days, E = likes + reposts + comments of one post from one reading).
FORMULAS: dict[str, str] = {
    "er_post": "Avg ERpost (Popsters) = ΣE / F / P x 100%",
    "er_day": "Avg ERday (Popsters) = ΣE / F / D x 100%",
    "er_view": "Avg ERview (Popsters) = mean of E / views x 100% over posts with views",
    "love_rate": "Love rate = Σlikes / F / P x 100%",
    "amplification_rate": "Amplification rate = Σreposts / F / P x 100%",
    "talk_rate": "Talk rate = Σcomments / F / P x 100%",
    "posts_per_week": "Posts per week = P / D x 7",
    "growth": "Growth = members at the end - members at the start (daily readings; unknown until two); % of the start",
    "relative": "Relative score = the post's E / the median E of its page's posts in the period",
}


# -- the watchlist -------------------------------------------------------------------------


@dataclass(frozen=True)
class PageView:
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
    posts: int
    last_error: str
    last_error_at: dt.datetime | None


def _view(page: WatchedPage, posts: int) -> PageView:
    return PageView(
        id=page.pk,
        network=page.network,
        handle=page.handle,
        remote_id=page.remote_id,
        name=page.name,
        url=page.url,
        members=page.members,
        channel_id=page.channel_id,
        added_at=page.added_at,
        last_read_at=page.last_read_at,
        next_read_at=page.next_read_at,
        posts=posts,
        last_error=page.last_error,
        last_error_at=page.last_error_at,
    )


def list_pages(workspace_id: int) -> list[PageView]:
    """The workspace's watched pages, by name."""
    rows = WatchedPage.objects.filter(workspace_id=workspace_id).annotate(n=Count("posts"))
    return [_view(p, p.n) for p in rows]


def get_page(workspace_id: int, page_id: int) -> PageView:
    page = (
        WatchedPage.objects.filter(workspace_id=workspace_id, pk=page_id).annotate(n=Count("posts")).first()
    )
    if page is None:
        raise AnalyticsError(_("No such watched page."), status=404)
    return _view(page, page.n)


def reading_channels(workspace_id: int, network: str = "") -> list[channels.ChannelRef]:
    """The workspace's channels whose network can read other public pages."""
    available = set(registry.available())
    return [
        c
        for c in channels.workspace_channels(workspace_id)
        if c.network in available
        and (not network or c.network == network)
        and Capability.PUBLIC_PAGES in registry.adapter(c.network).capabilities
    ]


def _require(actor: Actor, perm: Perm) -> None:
    if not actor.can(perm):
        raise AnalyticsError(_("Your role does not allow this."), status=403)


def add_page(actor: Actor, handle: str, *, channel_id: int | None = None, network: str = "") -> PageView:
    """Watch a public page: read it now through ``channel_id`` (else a channel on ``network``, or
    on the network its address names; a bare short name is tried on each network that can read
    pages, the first that knows it wins) and store what it shows. A page that does not exist or
    whose wall is closed is refused with the network's reason."""
    _require(actor, Perm.ANALYTICS_MANAGE)
    handle = " ".join((handle or "").split())
    if not handle or len(handle) > 200:
        raise AnalyticsError(
            _("Give the page's address or short name (up to 200 characters)."), "handle", 422
        )
    if network and network not in registry.DISPLAY_NAMES:
        raise AnalyticsError(_("Unknown network %(network)s.") % {"network": network}, "network", 422)
    if channel_id is not None:
        channel = channels.find_channel(channel_id)
        if channel is None or channel.workspace_id != actor.workspace_id:
            raise AnalyticsError(_("No such channel."), "channel", 404)
        if channel.id not in {c.id for c in reading_channels(actor.workspace_id)}:
            name = registry.DISPLAY_NAMES.get(channel.network, channel.network)
            raise AnalyticsError(
                _("%(network)s does not let Rupor read other public pages.") % {"network": name},
                "channel",
                422,
            )
    else:
        network = network or network_of(handle)
        choices = reading_channels(actor.workspace_id, network)
        if not choices:
            raise AnalyticsError(
                _("Connect a channel whose network can read public pages (VK, OK) first."), "channel", 422
            )
        channel = choices[0]
    if WatchedPage.objects.filter(workspace_id=actor.workspace_id).count() >= MAX_PAGES:
        raise AnalyticsError(
            _("A workspace watches at most %(n)s pages; remove one first.") % {"n": MAX_PAGES}, "handle", 422
        )
    # A bare short name names no network: try one channel of each network that can read pages.
    tries = [channel] if channel_id is not None or network else _one_per_network(choices)
    found: PublicPage | None = None
    failure: errors.NetworkError | None = None
    for candidate in tries:
        try:
            found = registry.adapter(candidate.network).public_page(
                channels.access_for(candidate.id), handle, limit=READ_LIMIT
            )
        except errors.NetworkError as exc:
            failure = failure or exc
            continue
        channel = candidate
        break
    if found is None:
        if failure is None:
            raise AnalyticsError(_("No such channel."), "channel", 422)
        raise network_failure(failure) from failure
    now = clock.now()
    try:
        with transaction.atomic():
            page = WatchedPage.objects.create(
                workspace_id=actor.workspace_id,
                network=channel.network,
                channel_id=channel.id,
                handle=handle,
                remote_id=found.remote_id,
                name=found.name[:200],
                url=(found.url or "")[:500],
                added_by_id=actor.user_id,
                added_at=now,
            )
            _store(page, found, now)
            record(
                actor.workspace_id,
                actor,
                "competitor.add",
                "watched_page",
                page.pk,
                f"{page.name} ({page.network})",
            )
    except IntegrityError:
        raise AnalyticsError(
            _("%(name)s is already on the watchlist.") % {"name": found.name or handle}, "handle", 409
        ) from None
    return get_page(actor.workspace_id, page.pk)


#: Where an address says which network the page is on.
_HOSTS = {
    "vk.com": "vk",
    "vk.ru": "vk",
    "m.vk.com": "vk",
    "ok.ru": "ok",
    "m.ok.ru": "ok",
    "odnoklassniki.ru": "ok",
}


def network_of(handle: str) -> str:
    """The network an address points at ("vk.com/club1" -> "vk"), or "" for a bare name."""
    host = handle.strip().lower().removeprefix("https://").removeprefix("http://").split("/", 1)[0]
    return _HOSTS.get(host.removeprefix("www."), "")


def _one_per_network(choices: Sequence[channels.ChannelRef]) -> list[channels.ChannelRef]:
    seen: dict[str, channels.ChannelRef] = {}
    for c in choices:
        seen.setdefault(c.network, c)
    return list(seen.values())


def remove_page(actor: Actor, page_id: int) -> None:
    """Stop watching a page; what was collected goes with it."""
    _require(actor, Perm.ANALYTICS_MANAGE)
    name = (
        WatchedPage.objects.filter(workspace_id=actor.workspace_id, pk=page_id)
        .values_list("name", flat=True)
        .first()
    )
    deleted, _rows = WatchedPage.objects.filter(workspace_id=actor.workspace_id, pk=page_id).delete()
    if not deleted:
        raise AnalyticsError(_("No such watched page."), status=404)
    record(actor.workspace_id, actor, "competitor.remove", "watched_page", page_id, name or "")


# -- collecting ----------------------------------------------------------------------------


def next_reading(published_at: dt.datetime, after: dt.datetime) -> dt.datetime | None:
    """When a post published at ``published_at`` and last read at ``after`` is due again: the
    first age of :data:`POST_AGES` it has not reached at ``after`` (None: it is done)."""
    for age in POST_AGES:
        if published_at + age > after:
            return published_at + age
    return None


def _store(page: WatchedPage, found: PublicPage, now: dt.datetime) -> int:
    """Write one reading of the page; return how many post readings it added."""
    page.name = (found.name or page.name)[:200]
    page.url = (found.url or page.url)[:500]
    if page.members_read_at is None or now - page.members_read_at >= MEMBERS_EVERY - dt.timedelta(minutes=30):
        WatchedPageReading.objects.create(page=page, read_at=now, members=found.members)
        page.members, page.members_read_at = found.members, now
    known = {
        p.remote_id: p
        for p in WatchedPost.objects.filter(page=page, remote_id__in=[x.remote_id for x in found.posts])
    }
    readings: list[WatchedPostReading] = []
    for item in found.posts:
        post = known.get(item.remote_id)
        if post is not None and (post.next_read_at is None or post.next_read_at > now):
            continue  # not due: its figures stay those of its last reading
        values = {
            "text": item.text[:TEXT_LIMIT],
            "url": (item.url or "")[:500],
            "content_format": item.content_format if item.content_format in FORMATS else "text",
            "likes": item.likes,
            "reposts": item.reposts,
            "comments": item.comments,
            "views": item.views,
            "read_at": now,
            "next_read_at": next_reading(item.published_at, now),
        }
        if post is None:
            post = WatchedPost.objects.create(
                workspace_id=page.workspace_id,
                page=page,
                remote_id=item.remote_id,
                published_at=item.published_at,
                **values,
            )
        else:
            WatchedPost.objects.filter(pk=post.pk).update(readings=F("readings") + 1, **values)
        readings.append(
            WatchedPostReading(
                post=post,
                read_at=now,
                likes=item.likes,
                reposts=item.reposts,
                comments=item.comments,
                views=item.views,
            )
        )
    WatchedPostReading.objects.bulk_create(readings)
    due = [
        page.members_read_at + MEMBERS_EVERY if page.members_read_at else now,
        now + NEW_POSTS_EVERY,
    ]
    soonest = (
        WatchedPost.objects.filter(page=page, next_read_at__isnull=False)
        .order_by("next_read_at")
        .values_list("next_read_at", flat=True)
        .first()
    )
    if soonest is not None:
        due.append(max(soonest, now + dt.timedelta(minutes=1)))
    page.last_read_at, page.next_read_at = now, min(due)
    page.failures, page.last_error, page.last_error_at = 0, "", None
    page.save()
    return len(readings)


def _reader(page: WatchedPage) -> channels.ChannelRef | None:
    """The channel that reads the page: its own, else another of the workspace on that network."""
    choices = reading_channels(page.workspace_id, page.network)
    return next((c for c in choices if c.id == page.channel_id), choices[0] if choices else None)


def _fail(page: WatchedPage, message: str, now: dt.datetime) -> None:
    page.failures += 1
    page.last_error, page.last_error_at = message[:500], now
    page.next_read_at = now + min(MEMBERS_EVERY, RETRY_FIRST * 2 ** (page.failures - 1))
    page.save(update_fields=["failures", "last_error", "last_error_at", "next_read_at"])


def read_page(page_id: int, now: dt.datetime | None = None) -> int:
    """Read one watched page now; return how many post readings it stored. A failure is recorded
    on the page (its collected figures stay) and raised as :class:`AnalyticsError`."""
    now = now or clock.now()
    page = WatchedPage.objects.get(pk=page_id)
    channel = _reader(page)
    if channel is None:
        name = registry.DISPLAY_NAMES.get(page.network, page.network)
        message = _("No channel of this workspace on %(network)s can read public pages; connect one.") % {
            "network": name
        }
        _fail(page, message, now)
        raise AnalyticsError(message, status=422)
    adapter = registry.adapter(channel.network)
    try:
        found = adapter.public_page(channels.access_for(channel.id), page.remote_id, limit=READ_LIMIT)
    except errors.NetworkError as exc:
        _fail(page, exc.message, now)
        raise network_failure(exc) from exc
    if channel.id != page.channel_id:
        page.channel_id = channel.id
    with transaction.atomic():
        return _store(page, found, now)


def calls_per_pass(adapter: Adapter, access: ChannelAccess) -> int:
    """API calls collection may make through this channel's token in one pass: :data:`SHARE` of
    its strictest published limit over :data:`PASS_S` (at least one page's reading)."""
    limits = [lim for lim in adapter.rate_limits(access, None) if lim.limit > 0 and lim.per_s > 0]
    if not limits:
        return CALLS_PER_READ
    rate = min(lim.limit / lim.per_s for lim in limits)
    return max(CALLS_PER_READ, math.floor(SHARE * rate * PASS_S))


def run_due(now: dt.datetime) -> int:
    """The worker's job: read every watched page that is due, within each token's share of its
    rate limit (the rest wait for the next pass). Returns how many pages were read."""
    due = WatchedPage.objects.filter(Q(next_read_at__isnull=True) | Q(next_read_at__lte=now)).order_by(
        F("next_read_at").asc(nulls_first=True), "id"
    )
    spent: dict[str, int] = defaultdict(int)
    budget: dict[str, int] = {}
    done = 0
    for page in due[:500]:
        channel = _reader(page)
        key = f"none:{page.pk}"
        if channel is not None:
            adapter = registry.adapter(channel.network)
            try:
                access = channels.access_for(channel.id)
            except Exception:  # noqa: BLE001 - read_page records the same failure on the page
                access = None
            if access is not None:
                limits = adapter.rate_limits(access, None)
                key = limits[0].key if limits else f"channel:{channel.id}"
                budget.setdefault(key, calls_per_pass(adapter, access))
        if key in budget and spent[key] + CALLS_PER_READ > budget[key]:
            continue  # this token's share is spent for this pass
        # Claim the page (another worker may be at the same list): only one moves its time on.
        if not WatchedPage.objects.filter(pk=page.pk, next_read_at=page.next_read_at).update(
            next_read_at=now + CLAIM
        ):
            continue
        spent[key] += CALLS_PER_READ
        try:
            read_page(page.pk, now)
            done += 1
        except AnalyticsError as exc:
            log.info("watched page %s: %s", page.pk, exc.message)
        except Exception as exc:
            log.exception("reading watched page %s failed unexpectedly", page.pk)
            _fail(
                WatchedPage.objects.get(pk=page.pk),
                _("Reading the page failed unexpectedly (%(kind)s); see the server log.")
                % {"kind": type(exc).__name__},
                now,
            )
    return done


# -- comparing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PageFigures:
    """One page's figures over a period (rates in %, None where a denominator is unknown)."""

    page: PageView
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
    formats: dict[str, float] = field(default_factory=dict)  # share of posts, 0..1


@dataclass(frozen=True)
class TopPost:
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
    relative: float


@dataclass(frozen=True)
class Comparison:
    start: dt.datetime
    end: dt.datetime
    pages: tuple[PageFigures, ...]
    top_posts: tuple[TopPost, ...]
    formulas: dict[str, str]


def _rate(total: int, followers: int | None, count: int) -> float | None:
    if not followers or not count:
        return None
    return round(total / followers / count * 100, 4)


def _members_between(
    page_id: int, start: dt.datetime, end: dt.datetime
) -> tuple[int | None, int | None, bool]:
    """Members at the period's start and end: the first and last readings inside it (else the
    nearest before it), and whether those are two different readings (growth is known)."""
    rows = WatchedPageReading.objects.filter(page_id=page_id, members__isnull=False)
    before = rows.filter(read_at__lt=start).order_by("-read_at").values_list("pk", "members").first()
    inside = rows.filter(read_at__gte=start, read_at__lt=end)
    first = inside.order_by("read_at", "pk").values_list("pk", "members").first()
    last = inside.order_by("-read_at", "-pk").values_list("pk", "members").first()
    opening = before or first
    closing = last or before
    return (
        opening[1] if opening else None,
        closing[1] if closing else None,
        opening is not None and closing is not None and opening[0] != closing[0],
    )


def relative_scores(values: Sequence[int]) -> tuple[float | None, list[float | None]]:
    """Each value against the median of all of them (None where the median is 0 or unknown)."""
    if not values:
        return None, []
    median = float(statistics.median(values))
    return median, [round(v / median, 4) if median else None for v in values]


def compare(workspace_id: int, start: dt.datetime, end: dt.datetime, *, top: int = 20) -> Comparison:
    """Every watched page side by side over ``[start, end)``, and the posts that did best
    against their own page's median (``FORMULAS``)."""
    if end <= start:
        raise AnalyticsError(_("The period must end after it starts."), "end", 422)
    days = (end - start).total_seconds() / 86400
    pages: list[PageFigures] = []
    ranked: list[TopPost] = []
    views = {v.id: v for v in list_pages(workspace_id)}
    posts_by_page: dict[int, list[WatchedPost]] = defaultdict(list)
    for post in WatchedPost.objects.filter(
        workspace_id=workspace_id, published_at__gte=start, published_at__lt=end
    ).order_by("published_at", "id"):
        posts_by_page[post.page_id].append(post)
    for page_id, view in views.items():
        posts = posts_by_page.get(page_id, [])
        members_start, members, two_readings = _members_between(page_id, start, end)
        count = len(posts)
        es = [engagements(p.likes, p.reposts, p.comments) for p in posts]
        known = [(p, e) for p, e in zip(posts, es, strict=True) if e is not None]
        total = sum(e for _p, e in known)
        by_views = [e / p.views * 100 for p, e in known if p.views]
        formats = Counter(p.content_format for p in posts)
        median, scores = relative_scores([e for _p, e in known])
        for (post, e), score in zip(known, scores, strict=True):
            if score is None or median is None:
                continue
            ranked.append(
                TopPost(
                    page_id=page_id,
                    page_name=view.name,
                    network=view.network,
                    remote_id=post.remote_id,
                    url=post.url,
                    text=post.text[:280],
                    published_at=post.published_at,
                    content_format=post.content_format,
                    likes=post.likes,
                    reposts=post.reposts,
                    comments=post.comments,
                    views=post.views,
                    engagements=e,
                    page_median=median,
                    relative=score,
                )
            )
        growth = (
            members - members_start
            if two_readings and members is not None and members_start is not None
            else None
        )
        pages.append(
            PageFigures(
                page=view,
                posts=count,
                members=members,
                members_start=members_start,
                growth=growth,
                growth_pct=round(growth / members_start * 100, 4)
                if growth is not None and members_start
                else None,
                posts_per_week=round(count / days * 7, 4),
                er_post=_rate(total, members, len(known)),
                er_day=round(total / members / days * 100, 4) if members and known else None,
                er_view=round(statistics.fmean(by_views), 4) if by_views else None,
                love_rate=_rate(sum(p.likes or 0 for p, _e in known), members, len(known)),
                amplification_rate=_rate(sum(p.reposts or 0 for p, _e in known), members, len(known)),
                talk_rate=_rate(sum(p.comments or 0 for p, _e in known), members, len(known)),
                median_engagements=median,
                formats={f: round(formats[f] / count, 4) for f in FORMATS if formats[f]} if count else {},
            )
        )
    ranked.sort(key=lambda t: (-t.relative, -t.engagements, t.published_at))
    return Comparison(start, end, tuple(pages), tuple(ranked[:top]), FORMULAS)
