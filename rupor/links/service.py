"""Tracked links, the public surface other domains and the entry points call.

- :func:`track` turns a variant's text, link and first comment into what is published: every
  http(s) address tagged by the workspace's UTM conventions and, where short links are on,
  replaced by Rupor's own short link (created once per variant and address, so a retried
  publication sends the same text). It never fails a publication: when shortening fails the
  tagged long address is used.
- :func:`click` answers the public redirect: the target of a code, with the click recorded as a
  person or a program and, for people, whether it is the visitor's first of the day.
- :func:`post_stats`, :func:`links_table`, :func:`network_stats` give the counts.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import html
import io
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings as django_settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from rupor.accounts.roles import Perm
from rupor.accounts.service import Actor, record
from rupor.core import clock, config
from rupor.core.errors import DomainError
from rupor.core.urls import url_problem
from rupor.links import utm
from rupor.links.classify import bot_reason
from rupor.links.models import LinkClick, LinkSettings, ShortLink

log = logging.getLogger(__name__)

#: Clicks from one address (any link) within this window that make a burst ...
BURST_WINDOW = dt.timedelta(seconds=10)
#: ... when there are this many: the click that makes it and the earlier ones count as a bot.
BURST_CLICKS = 5
CODE_LENGTH = 7
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#: The option a variant sets to ``False`` to publish its links as written.
VARIANT_SWITCH = "tracked_links"
MEDIUMS = tuple(LinkSettings.Medium.values)
CAMPAIGN_SOURCES = tuple(LinkSettings.CampaignSource.values)
NEWSLETTER_MEDIUMS = tuple(LinkSettings.NewsletterMedium.values)


class LinksError(DomainError):
    """A refusal of the links domain."""


# -- settings ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Conventions:
    """A workspace's link conventions (the defaults when it never set them: nothing is changed)."""

    utm_enabled: bool = False
    medium: str = "social"
    campaign_source: str = "rubric"
    campaign: str = ""
    short_links: bool = False
    short_domain: str = ""
    #: Newsletters' links: tagged (with ``newsletter_medium``) and shortened, on their own switch.
    newsletter_links: bool = True
    newsletter_medium: str = "email"

    @property
    def active(self) -> bool:
        return self.utm_enabled or self.short_links


def conventions(workspace_id: int) -> Conventions:
    row = LinkSettings.objects.filter(workspace_id=workspace_id).first()
    if row is None:
        return Conventions()
    return Conventions(
        utm_enabled=row.utm_enabled,
        medium=row.medium,
        campaign_source=row.campaign_source,
        campaign=row.campaign,
        short_links=row.short_links,
        short_domain=row.short_domain,
        newsletter_links=row.newsletter_links,
        newsletter_medium=row.newsletter_medium,
    )


def _require(actor: Actor, perm: Perm) -> None:
    if not actor.can(perm):
        raise LinksError(_("Your role does not allow this."), status=403)


def save_conventions(actor: Actor, data: Conventions) -> Conventions:
    """Set the workspace's link conventions (managers and up); each field checked."""
    _require(actor, Perm.ANALYTICS_MANAGE)
    if data.medium not in MEDIUMS:
        raise LinksError(_("Choose social or paid_social."), "medium")
    if data.newsletter_medium not in NEWSLETTER_MEDIUMS:
        raise LinksError(_("Choose email or newsletter."), "newsletter_medium")
    if data.campaign_source not in CAMPAIGN_SOURCES:
        raise LinksError(_("Choose rubric, title or fixed."), "campaign_source")
    campaign = utm.slug(data.campaign)
    if data.campaign_source == "fixed" and not campaign:
        raise LinksError(_("Name the campaign."), "campaign")
    domain = data.short_domain.strip().rstrip("/")
    if domain:
        problem = url_problem(domain, max_length=200)
        if problem:
            raise LinksError(problem, "short_domain")
    LinkSettings.objects.update_or_create(
        workspace_id=actor.workspace_id,
        defaults={
            "utm_enabled": data.utm_enabled,
            "medium": data.medium,
            "campaign_source": data.campaign_source,
            "campaign": campaign,
            "short_links": data.short_links,
            "short_domain": domain,
            "newsletter_links": data.newsletter_links,
            "newsletter_medium": data.newsletter_medium,
        },
    )
    record(actor.workspace_id, actor, "links.settings", "workspace", actor.workspace_id, "")
    return conventions(actor.workspace_id)


# -- tagging and shortening ----------------------------------------------------------------


@dataclass(frozen=True)
class VariantRef:
    """The facts of a variant its links are tagged with."""

    workspace_id: int
    post_id: int | None
    variant_id: int | None
    channel_id: int | None
    network: str
    rubric: str = ""
    title: str = ""
    #: The variant's own switch (``options["tracked_links"]``); False: its links stay as written.
    enabled: bool = True
    #: The text is HTML (Telegram's ``format: html``): addresses in it are read unescaped and
    #: written back with ``&`` as ``&amp;``, as Telegram's parser requires.
    html: bool = False


@dataclass(frozen=True)
class Tracked:
    """A variant's text, link and first comment as they are published, and what changed."""

    text: str
    link: str | None
    first_comment: str | None
    #: (address as written, address as published), in order of appearance.
    changes: tuple[tuple[str, str], ...] = ()


def tag_for_network(url: str, network: str, *, medium: str, campaign: str = "", content: str = "") -> str:
    """``url`` tagged as shared on ``network`` outside a post (the site's share buttons):
    ``utm_source`` the network, ``utm_medium`` ``medium``, campaign and content as given (slugs);
    a tag the address already has is kept as written."""
    convention = utm.Convention(
        source=utm.slug(network),
        medium=utm.slug(medium),
        campaign=utm.slug(campaign),
        content=utm.slug(content),
    )
    return utm.tag(url, convention)


def tag_slug(value: str) -> str:
    """A UTM tag value as the builder writes it (lower case, underscores)."""
    return utm.slug(value)


def short_base(conv: Conventions) -> str:
    return (conv.short_domain or config.base_url()).rstrip("/")


def short_url(conv: Conventions, code: str) -> str:
    return f"{short_base(conv)}/l/{code}"


def _convention(ref: VariantRef, conv: Conventions) -> utm.Convention:
    fixed = utm.slug(conv.campaign)
    if conv.campaign_source == "fixed":
        campaign = fixed
    elif conv.campaign_source == "title":
        campaign = utm.slug(ref.title) or fixed
    else:
        campaign = utm.slug(ref.rubric) or fixed
    return utm.Convention(
        source=utm.slug(ref.network),
        medium=conv.medium,
        campaign=campaign,
        content=str(ref.post_id) if ref.post_id else "",
    )


def _code_for(owner: int | str, url: str, extra: int = 0) -> str:
    """The code of a short link, derived from what it belongs to (a variant's id, or "n<id>" for a
    newsletter) and the address: the same link gets the same code, before and after it is made."""
    key = hashlib.sha256(django_settings.SECRET_KEY.encode()).digest()
    digest = hmac.new(key, f"rupor.links.code|{owner}|{url}".encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest, "big")
    chars = []
    for _i in range(CODE_LENGTH + extra):
        number, rest = divmod(number, len(_ALPHABET))
        chars.append(_ALPHABET[rest])
    return "".join(chars)


def _short(ref: VariantRef, url: str, *, store: bool) -> str | None:
    """The code of the variant's short link to ``url``: the stored one, else a new one (or, for a
    preview, the one it would get). ``None`` when it cannot be made."""
    if ref.variant_id is None:
        return None
    existing = (
        ShortLink.objects.filter(variant_id=ref.variant_id, url=url).values_list("code", flat=True).first()
    )
    if existing:
        return existing
    if not store:
        return _code_for(ref.variant_id, url)
    for extra in range(3):
        code = _code_for(ref.variant_id, url, extra)
        try:
            with transaction.atomic():
                ShortLink.objects.create(
                    workspace_id=ref.workspace_id,
                    code=code,
                    url=url,
                    post_id=ref.post_id,
                    variant_id=ref.variant_id,
                    channel_id=ref.channel_id,
                    network=ref.network,
                )
        except IntegrityError:
            # Another worker made this very link (same variant and address), or a code collision.
            again = ShortLink.objects.filter(variant_id=ref.variant_id, url=url).values_list(
                "code", flat=True
            )
            if again.first():
                return again.first()
            continue
        return code
    return None


# -- newsletters ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NewsletterRef:
    """The facts of a newsletter its links are tagged with."""

    workspace_id: int
    newsletter_id: int
    network: str
    title: str = ""


def _newsletter_short(ref: NewsletterRef, url: str, *, store: bool) -> str | None:
    """The code of the newsletter's short link to ``url`` (made once per newsletter and address;
    ``store=False``: the code it would get)."""
    existing = (
        ShortLink.objects.filter(newsletter_id=ref.newsletter_id, url=url)
        .values_list("code", flat=True)
        .first()
    )
    if existing:
        return existing
    owner = f"n{ref.newsletter_id}"
    if not store:
        return _code_for(owner, url)
    for extra in range(3):
        code = _code_for(owner, url, extra)
        try:
            with transaction.atomic():
                ShortLink.objects.create(
                    workspace_id=ref.workspace_id,
                    code=code,
                    url=url,
                    newsletter_id=ref.newsletter_id,
                    network=ref.network,
                )
        except IntegrityError:
            again = ShortLink.objects.filter(newsletter_id=ref.newsletter_id, url=url).values_list(
                "code", flat=True
            )
            if again.first():
                return again.first()
            continue
        return code
    return None


def track_newsletter(ref: NewsletterRef, text: str, *, store: bool = True) -> Tracked:
    """A newsletter's text as it is sent: every address tagged (utm_source the network,
    utm_medium the workspace's newsletter medium, utm_campaign the newsletter's title or the
    fixed campaign, utm_content ``newsletter-<id>``) and replaced by a short link counted for the
    newsletter. Unchanged when the workspace turned newsletter links off; when a short link
    cannot be made, the tagged long address is sent."""
    conv = conventions(ref.workspace_id)
    if not conv.newsletter_links:
        return Tracked(text, None, None)
    fixed = utm.slug(conv.campaign)
    convention = utm.Convention(
        source=utm.slug(ref.network),
        medium=conv.newsletter_medium,
        campaign=fixed if conv.campaign_source == "fixed" else (utm.slug(ref.title) or fixed),
        content=f"newsletter-{ref.newsletter_id}",
    )
    changes: list[tuple[str, str]] = []
    memo: dict[str, str] = {}

    def change(url: str) -> str:
        if url not in memo:
            memo[url] = _newsletter_final(ref, conv, convention, url, store=store)
            if memo[url] != url:
                changes.append((url, memo[url]))
        return memo[url]

    return Tracked(utm.rewrite(text, change), None, None, tuple(changes))


def _newsletter_final(
    ref: NewsletterRef, conv: Conventions, convention: utm.Convention, url: str, *, store: bool
) -> str:
    if url.startswith(short_base(conv) + "/l/"):
        return url  # already one of ours
    tagged = utm.tag(url, convention)
    if len(tagged) > 2000:
        return tagged
    try:
        code = _newsletter_short(ref, tagged, store=store)
    except DatabaseError:
        log.warning("short link for newsletter %s not made; the long address is sent", ref.newsletter_id)
        return tagged
    return short_url(conv, code) if code else tagged


def newsletter_stats(workspace_id: int, newsletter_ids: Sequence[int]) -> dict[int, Stats]:
    """Each newsletter's clicks over all its links (newsletters without clicks left out)."""
    rows = _clicks(workspace_id, None, None).filter(link__newsletter_id__in=list(newsletter_ids))
    return {
        r["link__newsletter_id"]: _stats(r) for r in rows.values("link__newsletter_id").annotate(**_COUNTS)
    }


def newsletter_links(workspace_id: int, newsletter_id: int) -> list[LinkRow]:
    """A newsletter's short links, each with its clicks."""
    conv = conventions(workspace_id)
    found = list(
        ShortLink.objects.filter(workspace_id=workspace_id, newsletter_id=newsletter_id).order_by("pk")
    )
    stats = link_stats(workspace_id, [link.pk for link in found])
    return [
        LinkRow(
            id=link.pk,
            code=link.code,
            short_url=short_url(conv, link.code),
            url=link.url,
            post_id=None,
            channel_id=None,
            network=link.network,
            created_at=link.created_at,
            stats=stats.get(link.pk, Stats()),
        )
        for link in found
    ]


def _final(ref: VariantRef, conv: Conventions, url: str, *, store: bool) -> str:
    if url.startswith(short_base(conv) + "/l/"):
        return url  # already one of ours
    tagged = utm.tag(url, _convention(ref, conv)) if conv.utm_enabled else url
    if not conv.short_links or len(tagged) > 2000:
        return tagged
    try:
        code = _short(ref, tagged, store=store)
    except DatabaseError:
        # A short link must never break a post: the tagged long address goes out instead.
        log.warning("short link for variant %s not made; the long address is used", ref.variant_id)
        return tagged
    return short_url(conv, code) if code else tagged


def track(
    ref: VariantRef,
    *,
    text: str,
    link: str | None,
    first_comment: str | None,
    store: bool = True,
    conv: Conventions | None = None,
) -> Tracked:
    """The variant's content with its links tagged and shortened by the workspace's conventions.

    ``store=False`` (the composer's preview) creates nothing: a link not made yet shows the code
    it will get. Unchanged when the conventions are off or the variant switched them off.
    """
    conv = conv if conv is not None else conventions(ref.workspace_id)
    if not conv.active or not ref.enabled:
        return Tracked(text, link, first_comment)
    changes: list[tuple[str, str]] = []
    memo: dict[str, str] = {}

    def change(url: str) -> str:
        if url not in memo:
            memo[url] = _final(ref, conv, url, store=store)
        if memo[url] != url and (url, memo[url]) not in changes:
            changes.append((url, memo[url]))
        return memo[url]

    def in_html(written: str) -> str:
        return html.escape(change(html.unescape(written)), quote=True)

    new_text = utm.rewrite(text, in_html if ref.html else change)
    new_link = change(link) if link else link
    new_comment = utm.rewrite(first_comment, change) if first_comment else first_comment
    return Tracked(new_text, new_link, new_comment, tuple(changes))


# -- clicks --------------------------------------------------------------------------------


def _day_key(day: dt.date) -> bytes:
    """The day's salt: derived from the instance secret and the date, never stored, so a day's
    hashes cannot be joined to another day's, nor reversed by trying every IPv4 address."""
    secret = hashlib.sha256(django_settings.SECRET_KEY.encode()).digest()
    return hmac.new(secret, f"rupor.links.day|{day.isoformat()}".encode(), hashlib.sha256).digest()


def _hash(key: bytes, *parts: str) -> str:
    return hmac.new(key, "\n".join(parts).encode(), hashlib.sha256).hexdigest()[:32]


def click(code: str, *, address: str, user_agent: str, method: str = "GET") -> str | None:
    """The target of short link ``code`` (None: no such link), with this click recorded."""
    link = ShortLink.objects.filter(code=code).only("pk", "url").first()
    if link is None:
        return None
    now = clock.now()
    day = now.date()
    key = _day_key(day)
    visitor = _hash(key, "visitor", address, user_agent[:512])
    where = _hash(key, "address", address)
    reason = bot_reason(user_agent, method)
    with transaction.atomic():
        recent = LinkClick.objects.filter(address=where, at__gte=now - BURST_WINDOW)
        if not reason and recent.count() + 1 >= BURST_CLICKS:
            reason = "burst"
            recent.filter(bot=False).update(bot=True, reason="burst", unique=False)
        unique = (
            not reason
            and not LinkClick.objects.filter(link_id=link.pk, day=day, visitor=visitor, unique=True).exists()
        )
        LinkClick.objects.create(
            link_id=link.pk,
            at=now,
            day=day,
            visitor=visitor,
            address=where,
            bot=bool(reason),
            reason=reason,
            unique=unique,
        )
    return link.url


# -- counts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    clicks: int = 0
    human: int = 0
    bot: int = 0
    unique: int = 0

    def __add__(self, other: Stats) -> Stats:
        return Stats(
            self.clicks + other.clicks,
            self.human + other.human,
            self.bot + other.bot,
            self.unique + other.unique,
        )


_COUNTS = {
    "clicks": Count("id"),
    "bots": Count("id", filter=Q(bot=True)),
    "uniques": Count("id", filter=Q(unique=True)),
}


def _stats(row: dict[str, int]) -> Stats:
    return Stats(row["clicks"], row["clicks"] - row["bots"], row["bots"], row["uniques"])


def _clicks(workspace_id: int, since: dt.datetime | None, until: dt.datetime | None) -> QuerySet[LinkClick]:
    rows = LinkClick.objects.filter(link__workspace_id=workspace_id)
    if since is not None:
        rows = rows.filter(at__gte=since)
    if until is not None:
        rows = rows.filter(at__lt=until)
    return rows


def link_stats(
    workspace_id: int,
    link_ids: Iterable[int],
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> dict[int, Stats]:
    rows = _clicks(workspace_id, since, until).filter(link_id__in=list(link_ids))
    return {r["link_id"]: _stats(r) for r in rows.values("link_id").annotate(**_COUNTS)}


def post_stats(
    workspace_id: int,
    post_ids: Sequence[int],
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> dict[int, Stats]:
    """Each post's clicks over all its links and networks (posts without clicks left out)."""
    rows = _clicks(workspace_id, since, until).filter(link__post_id__in=list(post_ids))
    return {r["link__post_id"]: _stats(r) for r in rows.values("link__post_id").annotate(**_COUNTS)}


def post_network_stats(
    workspace_id: int,
    post_ids: Sequence[int],
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> dict[tuple[int, str], Stats]:
    """Clicks per (post, network): a post's links on each network it went out on."""
    rows = _clicks(workspace_id, since, until).filter(link__post_id__in=list(post_ids))
    return {
        (r["link__post_id"], r["link__network"]): _stats(r)
        for r in rows.values("link__post_id", "link__network").annotate(**_COUNTS)
    }


def network_stats(
    workspace_id: int, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> dict[str, Stats]:
    """Clicks by the network the link was published on."""
    rows = _clicks(workspace_id, since, until)
    return {r["link__network"]: _stats(r) for r in rows.values("link__network").annotate(**_COUNTS)}


@dataclass(frozen=True)
class LinkRow:
    id: int
    code: str
    short_url: str
    url: str
    post_id: int | None
    channel_id: int | None
    network: str
    created_at: dt.datetime
    stats: Stats = field(default_factory=Stats)


def links_table(
    actor: Actor,
    *,
    post_id: int | None = None,
    network: str = "",
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 500,
) -> list[LinkRow]:
    """The workspace's short links, newest first, each with its clicks in the period."""
    _require(actor, Perm.ANALYTICS_VIEW)
    conv = conventions(actor.workspace_id)
    links = ShortLink.objects.filter(workspace_id=actor.workspace_id)
    if post_id is not None:
        links = links.filter(post_id=post_id)
    if network:
        links = links.filter(network=network)
    found = list(links[:limit])
    stats = link_stats(actor.workspace_id, [link.pk for link in found], since, until)
    return [
        LinkRow(
            id=link.pk,
            code=link.code,
            short_url=short_url(conv, link.code),
            url=link.url,
            post_id=link.post_id,
            channel_id=link.channel_id,
            network=link.network,
            created_at=link.created_at,
            stats=stats.get(link.pk, Stats()),
        )
        for link in found
    ]


CSV_HEADER = (
    "code",
    "short_url",
    "url",
    "post_id",
    "network",
    "created_at",
    "clicks",
    "human",
    "bot",
    "unique",
)


def links_csv(rows: Sequence[LinkRow]) -> str:
    """The links table as CSV (cells a spreadsheet would run as a formula are neutralised)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for r in rows:
        cells = [
            r.code,
            r.short_url,
            r.url,
            r.post_id or "",
            r.network,
            r.created_at.isoformat(),
            r.stats.clicks,
            r.stats.human,
            r.stats.bot,
            r.stats.unique,
        ]
        writer.writerow([f"'{c}" if isinstance(c, str) and c[:1] and c[0] in "=+-@" else c for c in cells])
    return out.getvalue()
