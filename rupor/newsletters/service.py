"""Community newsletters: opt-in lists per channel, one-click unsubscribe, segments, a welcome
chain, scheduled sends in the worker, and what became of each message.

Rules (docs/decisions/0032-newsletters.md):

* **Consent first.** A person is on a list only after they opted in themselves: VK's
  ``message_allow`` (the *Allow messages* button or a subscription widget with the list's key),
  ``/start`` (or ``/start <key>``) to the Telegram bot, or a message that is exactly the list's
  keyword; or by an import whose every row names when and how they agreed. An unsubscribe beats
  an import: only the person can undo it.
* **One-click unsubscribe.** A reply "stop" ("стоп", "отписаться", "unsubscribe", "/stop"), VK's
  ``message_deny``, blocking the bot, or the link at the foot of every message.
* **Nobody gets a message twice.** Each message is a :class:`Delivery` row, unique per (send,
  person), claimed with a lease and sent with the row's id as the idempotency key (VK's
  ``random_id``). A row found still "sending" after its lease (a worker killed mid-call) is sent
  again only where the network dedupes on that key; elsewhere (Telegram) it is *unconfirmed*,
  reported and never repeated.
* Quiet hours of each list, in the workspace's zone; the networks' rate limits through the
  adapters' call windows; retries with ``core/backoff`` for what certainly did not happen.
* **Figures.** Links go out as tracked links made once per newsletter (``links.track_newsletter``:
  short link and UTM tags, so the newsletter's clicks are counted); reads where the network
  tells a community (VK ``out_read``); Telegram tells a bot nothing of reads.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from rupor.accounts import service as accounts
from rupor.accounts.roles import Perm
from rupor.channels import service as channels
from rupor.core import backoff, clock, config
from rupor.core.errors import DomainError
from rupor.core.timezones import LocalTimeError, to_local, to_utc
from rupor.inbox import service as inbox
from rupor.links import service as links
from rupor.networks import errors, registry
from rupor.networks.base import Adapter, Capability
from rupor.newsletters.models import (
    Delivery,
    Newsletter,
    Purpose,
    Segment,
    Source,
    SubscriberList,
    Subscription,
    WelcomeStep,
)

log = logging.getLogger(__name__)

#: A reply that is one of these (case and spacing aside) unsubscribes from the channel's lists.
STOP_WORDS = frozenset(
    {"stop", "/stop", "unsubscribe", "стоп", "отписаться", "отписка", "/отписаться", "중지", "구독취소"}
)
#: How long a claimed delivery is held before another worker may take it up.
LEASE_S = 120
MAX_ATTEMPTS = 5
#: The 80/20 rule: a warning when selling messages are more than this share of a list's sends.
SELLING_SHARE = 20
SENT_STATES = (Delivery.State.SENT,)
DONE_STATES = (
    Delivery.State.SENT,
    Delivery.State.FAILED,
    Delivery.State.UNREACHABLE,
    Delivery.State.UNCONFIRMED,
    Delivery.State.SKIPPED,
)


class NewsletterError(DomainError):
    pass


def _require(actor: accounts.Actor, perm: Perm) -> None:
    if not actor.can(perm):
        raise NewsletterError(_("Your role does not allow this."), status=403)


def _can_message(network: str) -> bool:
    return type(registry.adapter(network)).send_message is not Adapter.send_message


# -- lists ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListInput:
    channel_id: int
    name: str
    key: str
    keyword: str = ""
    is_default: bool = False
    quiet_start: int = 22
    quiet_end: int = 9


@dataclass(frozen=True)
class ListRow:
    id: int
    name: str
    channel_id: int
    channel_name: str
    network: str
    key: str
    keyword: str
    is_default: bool
    quiet_start: int
    quiet_end: int
    subscribed: int
    unsubscribed: int


def create_list(actor: accounts.Actor, data: ListInput) -> int:
    """A new subscriber list on one of the workspace's channels that can send direct messages."""
    _require(actor, Perm.NEWSLETTERS_SEND)
    channel = channels.find_channel(data.channel_id)
    if channel is None or channel.workspace_id != actor.workspace_id:
        raise NewsletterError(_("No such channel."), "channel_id", status=404)
    if not _can_message(channel.network):
        raise NewsletterError(_("This network cannot send direct messages."), "channel_id", status=422)
    name, key = data.name.strip(), data.key.strip().lower()
    if not name:
        raise NewsletterError(_("A list needs a name."), "name")
    if not re.fullmatch(r"[a-z0-9_-]{1,60}", key):
        raise NewsletterError(_("The key is 1 to 60 Latin letters, digits, - or _."), "key")
    for field, hour in (("quiet_start", data.quiet_start), ("quiet_end", data.quiet_end)):
        if not 0 <= hour <= 23:
            raise NewsletterError(_("An hour from 0 to 23."), field)
    try:
        with transaction.atomic():
            if data.is_default:
                SubscriberList.objects.filter(channel_id=channel.id).update(is_default=False)
            lst = SubscriberList.objects.create(
                workspace_id=actor.workspace_id,
                channel_id=channel.id,
                name=name[:120],
                key=key,
                keyword=data.keyword.strip()[:60],
                is_default=data.is_default
                or not SubscriberList.objects.filter(channel_id=channel.id).exists(),
                quiet_start=data.quiet_start,
                quiet_end=data.quiet_end,
            )
    except IntegrityError:
        raise NewsletterError(
            _("This channel already has a list with this key."), "key", status=409
        ) from None
    accounts.record(actor.workspace_id, actor, "newsletter.list_create", "newsletter_list", lst.pk, name)
    return lst.pk


def list_rows(workspace_id: int) -> list[ListRow]:
    names = {c.id: c for c in channels.workspace_channels(workspace_id)}
    qs = (
        SubscriberList.objects.filter(workspace_id=workspace_id)
        .annotate(
            subscribed=Count("subscriptions", filter=Q(subscriptions__status=Subscription.Status.SUBSCRIBED)),
            unsubscribed=Count(
                "subscriptions", filter=Q(subscriptions__status=Subscription.Status.UNSUBSCRIBED)
            ),
        )
        .order_by("name", "pk")
    )
    return [
        ListRow(
            lst.pk,
            lst.name,
            lst.channel_id,
            names[lst.channel_id].name if lst.channel_id in names else "",
            names[lst.channel_id].network if lst.channel_id in names else "",
            lst.key,
            lst.keyword,
            lst.is_default,
            lst.quiet_start,
            lst.quiet_end,
            lst.subscribed,
            lst.unsubscribed,
        )
        for lst in qs
    ]


def get_list(workspace_id: int, list_id: int) -> SubscriberList:
    lst = SubscriberList.objects.filter(workspace_id=workspace_id, pk=list_id).first()
    if lst is None:
        raise NewsletterError(_("No such list."), status=404)
    return lst


def messaging_channels(workspace_id: int) -> list[channels.ChannelRef]:
    """The workspace's channels that can send direct messages (VK communities, Telegram bots)."""
    return [c for c in channels.workspace_channels(workspace_id) if _can_message(c.network)]


# -- subscriptions ----------------------------------------------------------------------------


def _new_token() -> str:
    return secrets.token_urlsafe(32)


def _subscribe(
    lst: SubscriberList, address: str, name: str, source: str, proof: str, at: dt.datetime, tags: str = ""
) -> Subscription | None:
    """Put a person on a list (or back on it) and start the welcome chain for them. ``None``
    when it changes nothing: a later change is already known, or an import meets an unsubscribe."""
    sub = Subscription.objects.filter(list=lst, address=address).first()
    if sub is None:
        sub = Subscription.objects.create(
            workspace_id=lst.workspace_id,
            list=lst,
            address=address[:100],
            name=name[:200],
            source=source,
            consent_at=at,
            consent_proof=proof[:300],
            tags=tags,
            last_active_at=at if source != Source.IMPORT else None,
            changed_at=at,
            token=_new_token(),
        )
    elif at < sub.changed_at or sub.status == Subscription.Status.SUBSCRIBED:
        return None
    elif source == Source.IMPORT:
        return None  # they unsubscribed: only they can undo that
    else:
        sub.status, sub.source, sub.consent_at, sub.consent_proof = (
            Subscription.Status.SUBSCRIBED,
            source,
            at,
            proof[:300],
        )
        sub.unsubscribed_at, sub.unsubscribe_reason, sub.changed_at = None, "", at
        sub.save()
    _start_welcome(lst, sub, at)
    return sub


def _start_welcome(lst: SubscriberList, sub: Subscription, at: dt.datetime) -> None:
    """Each step of the chain once per person (a resubscriber does not get a step twice)."""
    zone = accounts.workspace_info(lst.workspace_id).timezone
    Delivery.objects.bulk_create(
        [
            Delivery(
                workspace_id=lst.workspace_id,
                step=step,
                subscription=sub,
                due_at=outside_quiet_hours(at + dt.timedelta(hours=step.delay_hours), lst, zone),
            )
            for step in lst.welcome_steps.all()
        ],
        ignore_conflicts=True,
    )
    # Back after leaving: the steps they missed meanwhile resume; those they got are not repeated.
    Delivery.objects.filter(subscription=sub, step__isnull=False, state=Delivery.State.SKIPPED).update(
        state=Delivery.State.PENDING
    )


def _unsubscribe(sub: Subscription, reason: str, at: dt.datetime) -> bool:
    if sub.status != Subscription.Status.SUBSCRIBED or at < sub.changed_at:
        return False
    sub.status, sub.unsubscribed_at, sub.unsubscribe_reason, sub.changed_at = (
        Subscription.Status.UNSUBSCRIBED,
        at,
        reason,
        at,
    )
    sub.save(update_fields=["status", "unsubscribed_at", "unsubscribe_reason", "changed_at"])
    Delivery.objects.filter(subscription=sub, state=Delivery.State.PENDING).update(
        state=Delivery.State.SKIPPED, lease_until=None
    )
    return True


def _list_for(lists: Sequence[SubscriberList], key: str) -> SubscriberList | None:
    if key:
        return next((lst for lst in lists if lst.key == key.lower()), None)
    return next((lst for lst in lists if lst.is_default), None)


def _apply(signal: inbox.Signal, lists: Sequence[SubscriberList]) -> None:
    at, address = signal.occurred_at, signal.address
    if signal.kind == "deny":
        for sub in Subscription.objects.filter(list__in=lists, address=address):
            _unsubscribe(sub, "network", at)
        return
    if signal.kind == "allow":
        lst = _list_for(lists, signal.key)
        if lst is not None:
            proof = f"{signal.network} message_allow {at:%Y-%m-%d %H:%M:%S} UTC key={signal.key or '-'}"
            _subscribe(lst, address, signal.name, Source.NETWORK, proof, at)
        return
    text = " ".join(signal.text.split())
    word = text.casefold()
    Subscription.objects.filter(list__in=lists, address=address).update(last_active_at=at)
    if word in STOP_WORDS:
        for sub in Subscription.objects.filter(list__in=lists, address=address):
            _unsubscribe(sub, "keyword", at)
    elif word == "/start" or word.startswith("/start "):
        lst = _list_for(lists, word[len("/start") :].strip())
        if lst is not None:
            proof = f"{signal.network} {text[:100]} {at:%Y-%m-%d %H:%M:%S} UTC"
            _subscribe(lst, address, signal.name, Source.NETWORK, proof, at)
    else:
        for lst in lists:
            if lst.keyword and word == lst.keyword.casefold():
                proof = f'wrote "{text[:100]}" {at:%Y-%m-%d %H:%M:%S} UTC'
                _subscribe(lst, address, signal.name, Source.KEYWORD, proof, at)


def on_signals(signals: Sequence[inbox.Signal]) -> None:
    """What the inbox took in: opt-ins, unsubscribes and activity (inside its transaction)."""
    by_channel: dict[int, list[SubscriberList]] = {}
    for signal in signals:
        if signal.channel_id not in by_channel:
            by_channel[signal.channel_id] = list(SubscriberList.objects.filter(channel_id=signal.channel_id))
        lists = by_channel[signal.channel_id]
        if lists and signal.address:
            _apply(signal, lists)


def unsubscribe_by_token(token: str) -> bool:
    """The one-click link: True when this took the person off the list (or they already were)."""
    sub = Subscription.objects.filter(token=token).first() if token else None
    if sub is None:
        return False
    _unsubscribe(sub, "link", max(clock.now(), sub.changed_at))
    return True


def subscription_by_token(token: str) -> Subscription | None:
    return Subscription.objects.select_related("list").filter(token=token).first() if token else None


def unsubscribe_url(sub: Subscription) -> str:
    return f"{config.base_url().rstrip('/')}/u/{sub.token}/"


def subscriptions(workspace_id: int, list_id: int, *, status: str = "") -> QuerySet[Subscription]:
    qs = Subscription.objects.filter(workspace_id=workspace_id, list_id=list_id)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-consent_at", "pk")


def set_tags(actor: accounts.Actor, subscription_id: int, tags: Sequence[str]) -> None:
    _require(actor, Perm.NEWSLETTERS_SEND)
    sub = Subscription.objects.filter(workspace_id=actor.workspace_id, pk=subscription_id).first()
    if sub is None:
        raise NewsletterError(_("No such subscriber."), status=404)
    sub.tags = _tags(tags)
    sub.save(update_fields=["tags"])
    accounts.record(actor.workspace_id, actor, "newsletter.tags", "subscriber", sub.pk, sub.tags.strip(","))


def _tags(tags: Sequence[str]) -> str:
    clean = sorted({t.strip().lower()[:60] for t in tags if t.strip() and "," not in t})
    return f",{','.join(clean)}," if clean else ""


@dataclass(frozen=True)
class ImportResult:
    added: int
    refused: tuple[tuple[int, str], ...]  # (line, why)


def _import_row(row: Sequence[str], now: dt.datetime) -> tuple[str, dt.datetime, str, str]:
    if len(row) < 3:
        raise ValueError(_("A row needs the address, when they agreed and the proof of consent."))
    address, when, proof = (cell.strip() for cell in row[:3])
    if not address.lstrip("-").isdigit():
        raise ValueError(_("The address is the person's numeric id on the network."))
    try:
        at = dt.datetime.fromisoformat(when)
    except ValueError:
        raise ValueError(_("When they agreed is a date and time like 2026-05-01T10:00:00+03:00.")) from None
    if at.tzinfo is None:
        raise ValueError(_("When they agreed needs a time zone (Z or +03:00)."))
    if at > now:
        raise ValueError(_("They cannot have agreed in the future."))
    if len(proof) < 10:
        raise ValueError(_("Say how they agreed (at least 10 characters: the form, the page, the event)."))
    return address, at.astimezone(dt.UTC), proof, _tags(row[3].split(";")) if len(row) > 3 else ""


def import_subscribers(actor: accounts.Actor, list_id: int, text: str) -> ImportResult:
    """Add people from a CSV (address, consented_at, proof[, tags separated by ;]). Every row
    must say when and how the person agreed; a row without that is refused, and so is anyone
    who unsubscribed from this list (only they can undo it). Nothing is sent to them but what
    the list sends; VK still refuses people who never allowed the community's messages."""
    _require(actor, Perm.NEWSLETTERS_SEND)
    lst = get_list(actor.workspace_id, list_id)
    now, added, refused = clock.now(), 0, []
    rows = list(csv.reader(io.StringIO(text)))
    if rows and rows[0] and rows[0][0].strip().lower() == "address":
        rows = rows[1:]
    with transaction.atomic():
        for line, row in enumerate(rows, start=1):
            if not any(cell.strip() for cell in row):
                continue
            try:
                address, at, proof, tags = _import_row(row, now)
            except ValueError as exc:
                refused.append((line, str(exc)))
                continue
            sub = _subscribe(lst, address, "", Source.IMPORT, f"import: {proof}", at, tags)
            if sub is None:
                refused.append(
                    (line, _("Already on the list, or unsubscribed: only they can subscribe again."))
                )
            else:
                added += 1
    accounts.record(
        actor.workspace_id, actor, "newsletter.import", "newsletter_list", lst.pk, f"{added} added"
    )
    return ImportResult(added, tuple(refused))


# -- segments and the welcome chain -----------------------------------------------------------


def create_segment(
    actor: accounts.Actor,
    list_id: int,
    name: str,
    *,
    tag: str = "",
    source: str = "",
    active_within_days: int | None = None,
) -> int:
    _require(actor, Perm.NEWSLETTERS_SEND)
    lst = get_list(actor.workspace_id, list_id)
    if not name.strip():
        raise NewsletterError(_("A segment needs a name."), "name")
    if source and source not in Source.values:
        raise NewsletterError(_("No such source."), "source")
    if active_within_days is not None and active_within_days < 1:
        raise NewsletterError(_("At least one day."), "active_within_days")
    seg = Segment.objects.create(
        workspace_id=actor.workspace_id,
        list=lst,
        name=name.strip()[:120],
        tag=tag.strip().lower()[:60],
        source=source,
        active_within_days=active_within_days,
    )
    accounts.record(actor.workspace_id, actor, "newsletter.segment_create", "segment", seg.pk, seg.name)
    return seg.pk


def segments(workspace_id: int, list_id: int | None = None) -> QuerySet[Segment]:
    qs = Segment.objects.filter(workspace_id=workspace_id)
    return (qs.filter(list_id=list_id) if list_id else qs).order_by("name")


def audience(lst: SubscriberList, segment: Segment | None, now: dt.datetime) -> QuerySet[Subscription]:
    """Who a send to this list (and segment) reaches now: subscribed people that match it."""
    qs = Subscription.objects.filter(list=lst, status=Subscription.Status.SUBSCRIBED)
    if segment is not None:
        if segment.tag:
            qs = qs.filter(tags__contains=f",{segment.tag},")
        if segment.source:
            qs = qs.filter(source=segment.source)
        if segment.active_within_days:
            qs = qs.filter(last_active_at__gte=now - dt.timedelta(days=segment.active_within_days))
    return qs


def add_welcome_step(actor: accounts.Actor, list_id: int, text: str, delay_hours: int, purpose: str) -> int:
    """Append a message to the list's welcome chain (it reaches people who subscribe from now on)."""
    _require(actor, Perm.NEWSLETTERS_SEND)
    lst = get_list(actor.workspace_id, list_id)
    if not text.strip():
        raise NewsletterError(_("A message needs a text."), "text")
    if not 0 <= delay_hours <= 24 * 90:
        raise NewsletterError(_("From 0 hours to 90 days."), "delay_hours")
    position = (lst.welcome_steps.order_by("-position").values_list("position", flat=True).first() or 0) + 1
    step = WelcomeStep.objects.create(
        workspace_id=actor.workspace_id,
        list=lst,
        position=position,
        delay_hours=delay_hours,
        text=text.strip(),
        purpose=purpose if purpose in Purpose.values else Purpose.USEFUL,
    )
    accounts.record(
        actor.workspace_id,
        actor,
        "newsletter.welcome_step",
        "welcome_step",
        step.pk,
        f"{lst.name} #{position}",
    )
    return step.pk


# -- newsletters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewsletterInput:
    list_id: int
    title: str
    text: str
    purpose: str = Purpose.USEFUL
    segment_id: int | None = None


def _check(workspace_id: int, data: NewsletterInput) -> tuple[SubscriberList, Segment | None]:
    lst = get_list(workspace_id, data.list_id)
    if not data.title.strip():
        raise NewsletterError(_("A newsletter needs a title."), "title")
    if not data.text.strip():
        raise NewsletterError(_("A message needs a text."), "text")
    if len(data.text) > 4000:  # Telegram: 4096 less the unsubscribe line (VK: 9000)
        raise NewsletterError(_("At most 4000 characters."), "text", status=422)
    if data.purpose not in Purpose.values:
        raise NewsletterError(_("Useful or selling."), "purpose")
    segment = None
    if data.segment_id:
        segment = Segment.objects.filter(workspace_id=workspace_id, list=lst, pk=data.segment_id).first()
        if segment is None:
            raise NewsletterError(_("No such segment of this list."), "segment_id", status=404)
    return lst, segment


def create_newsletter(actor: accounts.Actor, data: NewsletterInput) -> int:
    """A draft (editors and up); managers schedule it."""
    _require(actor, Perm.NEWSLETTERS_DRAFT)
    lst, segment = _check(actor.workspace_id, data)
    n = Newsletter.objects.create(
        workspace_id=actor.workspace_id,
        list=lst,
        segment=segment,
        title=data.title.strip()[:200],
        text=data.text.strip(),
        purpose=data.purpose,
        created_by=actor.label,
    )
    accounts.record(actor.workspace_id, actor, "newsletter.create", "newsletter", n.pk, n.title)
    return n.pk


def get_newsletter(workspace_id: int, newsletter_id: int) -> Newsletter:
    n = (
        Newsletter.objects.select_related("list", "segment")
        .filter(workspace_id=workspace_id, pk=newsletter_id)
        .first()
    )
    if n is None:
        raise NewsletterError(_("No such newsletter."), status=404)
    return n


def newsletters(workspace_id: int) -> QuerySet[Newsletter]:
    return (
        Newsletter.objects.select_related("list", "segment")
        .filter(workspace_id=workspace_id)
        .order_by("-created_at", "-pk")
    )


def schedule(actor: accounts.Actor, newsletter_id: int, at: dt.datetime) -> None:
    """Send a draft at ``at`` (aware; now or later). Quiet hours move each message to their end."""
    _require(actor, Perm.NEWSLETTERS_SEND)
    n = get_newsletter(actor.workspace_id, newsletter_id)
    if at.tzinfo is None:
        raise NewsletterError(_("A time with its zone."), "scheduled_at")
    if at < clock.now() - dt.timedelta(minutes=1):
        raise NewsletterError(_("That time has passed."), "scheduled_at", status=422)
    changed = Newsletter.objects.filter(
        pk=n.pk, status__in=(Newsletter.Status.DRAFT, Newsletter.Status.SCHEDULED)
    ).update(status=Newsletter.Status.SCHEDULED, scheduled_at=at)
    if not changed:
        raise NewsletterError(_("This newsletter has already gone out."), status=409)
    accounts.record(
        actor.workspace_id, actor, "newsletter.schedule", "newsletter", n.pk, f"{at:%Y-%m-%d %H:%M}Z"
    )


def cancel(actor: accounts.Actor, newsletter_id: int) -> None:
    """Stop a scheduled or sending newsletter: what has not gone out is skipped."""
    _require(actor, Perm.NEWSLETTERS_SEND)
    n = get_newsletter(actor.workspace_id, newsletter_id)
    with transaction.atomic():
        changed = Newsletter.objects.filter(
            pk=n.pk, status__in=(Newsletter.Status.SCHEDULED, Newsletter.Status.SENDING)
        ).update(status=Newsletter.Status.CANCELLED, finished_at=clock.now())
        if not changed:
            raise NewsletterError(_("Only a scheduled or sending newsletter can be cancelled."), status=409)
        Delivery.objects.filter(newsletter=n, state=Delivery.State.PENDING).update(
            state=Delivery.State.SKIPPED, error="cancelled"
        )
    accounts.record(actor.workspace_id, actor, "newsletter.cancel", "newsletter", n.pk, n.title)


@dataclass(frozen=True)
class Mix:
    """The 80/20 check of a list over a period: useful vs selling newsletters."""

    useful: int
    selling: int

    @property
    def selling_share(self) -> int:
        total = self.useful + self.selling
        return round(self.selling * 100 / total) if total else 0

    @property
    def too_selling(self) -> bool:
        return self.selling_share > SELLING_SHARE


def mix(workspace_id: int, list_id: int, *, days: int = 30) -> Mix:
    """Newsletters of the list sent, sending or scheduled in the last ``days`` and ahead."""
    since = clock.now() - dt.timedelta(days=days)
    rows = dict(
        Newsletter.objects.filter(workspace_id=workspace_id, list_id=list_id, scheduled_at__gte=since)
        .exclude(status__in=(Newsletter.Status.CANCELLED, Newsletter.Status.DRAFT))
        .values_list("purpose")
        .annotate(n=Count("pk"))
        .values_list("purpose", "n")
    )
    return Mix(useful=rows.get(Purpose.USEFUL, 0), selling=rows.get(Purpose.SELLING, 0))


@dataclass(frozen=True)
class Stats:
    recipients: int
    pending: int
    sent: int
    failed: int
    unreachable: int
    unconfirmed: int
    skipped: int
    #: Clicks by people through the message's tracked links (bots left out); ``None`` when its
    #: links are not tracked (newsletter links turned off, or a text without links).
    clicks: int | None = None
    #: Of those, the first click of a visitor on a link each day.
    unique_clicks: int | None = None
    #: Messages the person has read, where the network tells (VK); ``None`` where it does not
    #: (Telegram tells a bot nothing of reads).
    read: int | None = None
    #: When the first waiting message is due (quiet hours or a retry push it later).
    next_at: dt.datetime | None = None
    #: How many links of the message are tracked (short links counting for this newsletter).
    tracked_links: int = 0


def reports_reads(network: str) -> bool:
    """Whether the network tells a community which of its messages were read."""
    return Capability.READ_RECEIPTS in registry.adapter(network).capabilities


def stats(workspace_id: int, newsletter_id: int) -> Stats:
    n = get_newsletter(workspace_id, newsletter_id)
    counts = dict(
        Delivery.objects.filter(newsletter=n)
        .values_list("state")
        .annotate(c=Count("pk"))
        .values_list("state", "c")
    )
    tracked = len(links.newsletter_links(workspace_id, n.pk))
    clicked = links.newsletter_stats(workspace_id, [n.pk]).get(n.pk, links.Stats())
    channel = channels.find_channel(n.list.channel_id, removed_too=True)
    reads = channel is not None and reports_reads(channel.network)
    return Stats(
        recipients=sum(counts.values()),
        pending=counts.get(Delivery.State.PENDING, 0) + counts.get(Delivery.State.SENDING, 0),
        sent=counts.get(Delivery.State.SENT, 0),
        failed=counts.get(Delivery.State.FAILED, 0),
        unreachable=counts.get(Delivery.State.UNREACHABLE, 0),
        unconfirmed=counts.get(Delivery.State.UNCONFIRMED, 0),
        skipped=counts.get(Delivery.State.SKIPPED, 0),
        clicks=clicked.human if tracked else None,
        unique_clicks=clicked.unique if tracked else None,
        read=Delivery.objects.filter(newsletter=n, read_at__isnull=False).count() if reads else None,
        next_at=Delivery.objects.filter(newsletter=n, state=Delivery.State.PENDING)
        .order_by("due_at")
        .values_list("due_at", flat=True)
        .first(),
        tracked_links=tracked,
    )


def problems(workspace_id: int, newsletter_id: int, *, limit: int = 50) -> QuerySet[Delivery]:
    """Messages that need a look: failed or unconfirmed (perhaps delivered, never repeated)."""
    return (
        Delivery.objects.select_related("subscription")
        .filter(
            workspace_id=workspace_id,
            newsletter_id=newsletter_id,
            state__in=(Delivery.State.FAILED, Delivery.State.UNCONFIRMED),
        )
        .order_by("pk")[:limit]
    )


# -- sending ------------------------------------------------------------------------------------


def outside_quiet_hours(at: dt.datetime, lst: SubscriberList, zone: str) -> dt.datetime:
    """``at``, or the end of the list's quiet hours (workspace time) when ``at`` falls inside."""
    start, end = lst.quiet_start, lst.quiet_end
    if start == end:
        return at
    local = to_local(at, zone)
    quiet = (start <= local.hour or local.hour < end) if start > end else start <= local.hour < end
    if not quiet:
        return at
    day = local.date() if local.hour < end else local.date() + dt.timedelta(days=1)
    wall = dt.datetime.combine(day, dt.time(end))
    try:
        return to_utc(wall, zone)
    except LocalTimeError:  # the clocks jump over the hour: an hour later exists
        return to_utc(wall + dt.timedelta(hours=1), zone)


def tracked_text(n: Newsletter, network: str, *, store: bool = True) -> str:
    """The newsletter's text with its links tracked (``links.track_newsletter``: tagged with the
    workspace's newsletter medium and shortened once per newsletter and address, so its clicks
    count for it); ``store=False`` makes nothing (what the page shows before it goes out)."""
    ref = links.NewsletterRef(n.workspace_id, n.pk, network, n.title)
    return links.track_newsletter(ref, n.text, store=store).text


def message_text(delivery: Delivery, body: str) -> str:
    """The message as sent: the body and the unsubscribe line."""
    return f"{body}\n\n— stop / стоп: {unsubscribe_url(delivery.subscription)}"


def start_due(now: dt.datetime) -> int:
    """Turn each newsletter that fell due into its delivery rows (one per person in its audience
    at that moment, quiet hours applied). Returns how many newsletters started."""
    started = 0
    for n in Newsletter.objects.select_related("list", "segment").filter(
        status=Newsletter.Status.SCHEDULED, scheduled_at__lte=now
    ):
        zone = accounts.workspace_info(n.workspace_id).timezone
        due = outside_quiet_hours(now, n.list, zone)
        with transaction.atomic():
            if not Newsletter.objects.filter(pk=n.pk, status=Newsletter.Status.SCHEDULED).update(
                status=Newsletter.Status.SENDING, started_at=now
            ):
                continue  # another worker started it
            # The links once, for everyone: each retry and each person gets the same short links.
            channel = channels.find_channel(n.list.channel_id)
            if channel is not None:
                Newsletter.objects.filter(pk=n.pk).update(sent_text=tracked_text(n, channel.network))
            ids = list(audience(n.list, n.segment, now).values_list("pk", flat=True))
            for chunk in range(0, len(ids), 1000):
                Delivery.objects.bulk_create(
                    [
                        Delivery(workspace_id=n.workspace_id, newsletter=n, subscription_id=sid, due_at=due)
                        for sid in ids[chunk : chunk + 1000]
                    ],
                    ignore_conflicts=True,
                )
        started += 1
    return started


@dataclass(frozen=True)
class Claimed:
    id: int
    #: It was found "sending" after its lease with a call under way: the person may have it.
    in_doubt: bool


def claim_due(now: dt.datetime, *, limit: int = 50, lease_s: float = LEASE_S) -> list[Claimed]:
    """Take up to ``limit`` due deliveries, each by one conditional update (safe with any number
    of workers on any database): pending ones that fell due, and sending ones whose lease ran
    out (a worker died mid-send)."""
    lease = now + dt.timedelta(seconds=lease_s)
    rows = list(
        Delivery.objects.filter(
            Q(state=Delivery.State.PENDING, due_at__lte=now)
            | Q(state=Delivery.State.SENDING, lease_until__lt=now)
        )
        .order_by("due_at", "pk")
        .values_list("pk", "state", "lease_until", "in_flight")[: limit * 2]
    )
    claimed: list[Claimed] = []
    for pk, state, lease_until, in_flight in rows:
        if len(claimed) >= limit:
            break
        won = Delivery.objects.filter(pk=pk, state=state, lease_until=lease_until).update(
            state=Delivery.State.SENDING, lease_until=lease
        )
        if won:
            claimed.append(Claimed(pk, in_doubt=state == Delivery.State.SENDING and in_flight))
    return claimed


def _finish(
    d: Delivery, state: str, *, error: str = "", remote_id: str = "", now: dt.datetime | None = None
) -> str:
    """The one way a claimed delivery leaves "sending" (only while this worker's lease holds)."""
    Delivery.objects.filter(pk=d.pk, state=Delivery.State.SENDING, lease_until=d.lease_until).update(
        state=state,
        error=error[:500],
        remote_id=remote_id[:100],
        sent_at=now if state == Delivery.State.SENT else None,
        lease_until=None,
        in_flight=False,
    )
    return state


def _again(d: Delivery, at: dt.datetime, error: str) -> str:
    """Back to pending, due at ``at`` (what was tried certainly had no effect, or is keyed)."""
    Delivery.objects.filter(pk=d.pk, state=Delivery.State.SENDING, lease_until=d.lease_until).update(
        state=Delivery.State.PENDING, due_at=at, error=error[:500], lease_until=None, in_flight=False
    )
    return Delivery.State.PENDING


def send_claimed(claim: Claimed, now: dt.datetime) -> str:
    """Send one claimed delivery and record how it ended; returns its new state."""
    d = Delivery.objects.select_related("subscription__list", "newsletter", "step").get(pk=claim.id)
    sub, lst = d.subscription, d.subscription.list
    if sub.status != Subscription.Status.SUBSCRIBED or (
        d.newsletter is not None and d.newsletter.status == Newsletter.Status.CANCELLED
    ):
        return _finish(d, Delivery.State.SKIPPED)
    zone = accounts.workspace_info(d.workspace_id).timezone
    later = outside_quiet_hours(now, lst, zone)
    if later > now and not claim.in_doubt:
        return _again(d, later, "")
    channel = channels.find_channel(lst.channel_id)
    if channel is None:
        return _finish(d, Delivery.State.FAILED, error=_("The channel was removed."))
    adapter = registry.adapter(channel.network)
    if claim.in_doubt and not adapter.idempotent_messages:
        return _finish(
            d,
            Delivery.State.UNCONFIRMED,
            error=_("The worker stopped while sending; it may have been delivered, so it is not sent again."),
        )
    attempt = d.attempts + 1
    Delivery.objects.filter(pk=d.pk).update(attempts=attempt, in_flight=True)
    if d.newsletter is not None:
        body = d.newsletter.sent_text or d.newsletter.text
    else:
        body = d.step.text if d.step is not None else ""
    try:
        sent = adapter.send_message(
            channels.access_for(channel.id), sub.address, message_text(d, body), idempotency_key=str(d.pk)
        )
    except errors.Unreachable as exc:
        _unsubscribe(sub, "unreachable", max(now, sub.changed_at))
        return _finish(d, Delivery.State.UNREACHABLE, error=exc.message)
    except (errors.RateLimited, errors.Transient, errors.UnknownOutcome, errors.AuthExpired) as exc:
        if isinstance(exc, errors.UnknownOutcome) and not adapter.idempotent_messages:
            return _finish(d, Delivery.State.UNCONFIRMED, error=exc.message)
        if attempt >= MAX_ATTEMPTS:
            return _finish(d, Delivery.State.FAILED, error=exc.message)
        if isinstance(exc, errors.AuthExpired):
            channels.record_job_error(channel.id, "newsletters", exc.message)
        wait = backoff.delay(attempt, base=30.0, cap=3600.0, retry_after=exc.retry_after)
        return _again(d, now + dt.timedelta(seconds=wait), exc.message)
    except errors.NetworkError as exc:
        return _finish(d, Delivery.State.FAILED, error=exc.message)
    return _finish(d, Delivery.State.SENT, remote_id=sent.remote_id, now=now)


def finish_done(now: dt.datetime) -> int:
    """Mark sending newsletters with nothing left to send as sent."""
    done = 0
    for n in Newsletter.objects.filter(status=Newsletter.Status.SENDING):
        left = Delivery.objects.filter(newsletter=n).exclude(state__in=DONE_STATES).exists()
        if not left:
            done += Newsletter.objects.filter(pk=n.pk, status=Newsletter.Status.SENDING).update(
                status=Newsletter.Status.SENT, finished_at=now
            )
    return done


#: Reads are asked for during this long after a newsletter starts, at most once per READ_EVERY.
READ_WINDOW = dt.timedelta(days=7)
READ_EVERY = dt.timedelta(minutes=30)


def _is_read(remote_id: str, out_read: str) -> bool:
    """A message of ours is read when its id is at most the conversation's last read one."""
    return remote_id.isdigit() and out_read.isdigit() and int(remote_id) <= int(out_read)


def collect_reads(now: dt.datetime) -> int:
    """Ask the networks that tell (VK: ``messages.getConversationsById``'s ``out_read``) which
    messages of recent newsletters were read, and mark them. Each newsletter is claimed by a
    conditional update of its ``reads_checked_at`` (one worker per check), checked at most every
    READ_EVERY for READ_WINDOW after it starts; a network error leaves it for the next check.
    Returns how many messages were newly marked read."""
    marked = 0
    due = Newsletter.objects.select_related("list").filter(
        status__in=(Newsletter.Status.SENDING, Newsletter.Status.SENT), started_at__gte=now - READ_WINDOW
    )
    for n in due.filter(Q(reads_checked_at__isnull=True) | Q(reads_checked_at__lte=now - READ_EVERY)):
        claim = Newsletter.objects.filter(pk=n.pk)
        claim = (
            claim.filter(reads_checked_at__isnull=True)
            if n.reads_checked_at is None
            else claim.filter(reads_checked_at=n.reads_checked_at)
        )
        if not claim.update(reads_checked_at=now):
            continue
        channel = channels.find_channel(n.list.channel_id)
        if channel is None or not reports_reads(channel.network):
            continue
        rows = list(
            Delivery.objects.filter(newsletter=n, state=Delivery.State.SENT, read_at__isnull=True)
            .exclude(remote_id="")
            .values_list("pk", "remote_id", "subscription__address")
        )
        if not rows:
            continue
        try:
            reads = registry.adapter(channel.network).message_reads(
                channels.access_for(channel.id), [address for _pk, _rid, address in rows]
            )
        except errors.NetworkError as exc:
            log.info("reads of newsletter %s not known this time: %s", n.pk, exc.message)
            continue
        read_ids = [pk for pk, rid, address in rows if _is_read(rid, reads.get(address, ""))]
        marked += Delivery.objects.filter(pk__in=read_ids, read_at__isnull=True).update(read_at=now)
    return marked


def run_due(now: dt.datetime, *, budget: int = 500, budget_s: float = 10.0, lease_s: float = LEASE_S) -> int:
    """The worker's job: start due newsletters, send up to ``budget`` due messages for at most
    about ``budget_s`` seconds (the other periodic jobs share its thread; VK lets a community
    send about 20 a second), close the finished ones, then ask which were read. Returns how many
    messages it handled."""
    start_due(now)
    handled, stop_at = 0, time.monotonic() + budget_s
    while handled < budget and time.monotonic() < stop_at:
        batch = claim_due(clock.now(), limit=min(50, budget - handled), lease_s=lease_s)
        if not batch:
            break
        for claim in batch:
            send_claimed(claim, clock.now())
            handled += 1
    finish_done(clock.now())
    collect_reads(clock.now())
    return handled


def reconcile_after_restore(now: dt.datetime | None = None) -> int:
    """Make a database restored from a backup safe to send from (docs/decisions/0035).

    The instance the backup came from kept sending after it: a message pending and due then, or
    being sent, may have reached its person. Each such delivery is left "sending" with a call
    under way and an expired lease, so the worker treats it as after a worker died mid-send: sent
    again only where the network drops a repeat of the same key (VK's ``random_id``, the
    delivery's id, which the row kept), else unconfirmed. A newsletter that fell due after the
    backup may have gone out then under ids this database never had: its messages are made now
    and marked unconfirmed at once, never sent. Returns how many deliveries were marked."""
    now = now or clock.now()
    started_since = list(
        Newsletter.objects.filter(status=Newsletter.Status.SCHEDULED, scheduled_at__lte=now).values_list(
            "pk", flat=True
        )
    )
    in_doubt = Delivery.objects.filter(
        Q(state=Delivery.State.PENDING, due_at__lte=now) | Q(state=Delivery.State.SENDING)
    ).update(state=Delivery.State.SENDING, in_flight=True, lease_until=now - dt.timedelta(seconds=1))
    start_due(now)
    unconfirmed = Delivery.objects.filter(
        newsletter_id__in=started_since, state=Delivery.State.PENDING
    ).update(
        state=Delivery.State.UNCONFIRMED,
        error=_(
            "Rupor was restored from a backup taken before this newsletter went out; it may have reached this "
            "person since, so it is not sent again."
        ),
    )
    return in_doubt + unconfirmed
