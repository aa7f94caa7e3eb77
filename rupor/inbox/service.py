"""Public actions of the inbox domain: take in what the audience says, answer and moderate it.

Items arrive by webhook (:mod:`rupor.inbox.hooks`) and by polling (:func:`poll_channel`); both
go through :func:`ingest_events`, which stores each (channel, kind, remote id) once. Our own
replies are stored as ``outgoing`` items *before* the network call, with an idempotency key
the network honours where it can (VK ``guid``/``random_id``).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from rupor.accounts import service as accounts
from rupor.accounts.roles import Perm
from rupor.analytics import service as analytics
from rupor.channels import service as channels
from rupor.core import clock
from rupor.core.errors import DomainError
from rupor.core.timezones import zone
from rupor.core.urls import http_url_or_empty
from rupor.inbox import audience, monitoring, priority, response
from rupor.inbox.models import (
    InboxItem,
    IntakeCursor,
    ItemKind,
    ItemStatus,
    Label,
    MentionInfo,
    MentionSource,
    MonitoredKeyword,
    SavedView,
    SendState,
)
from rupor.networks import errors, registry
from rupor.networks.base import (
    Adapter,
    Capability,
    ChannelAccess,
    Comment,
    Event,
    EventKind,
    Message,
    Person,
)
from rupor.notifications import service as notifications
from rupor.publishing import service as publishing

log = logging.getLogger(__name__)

#: Comments of posts Rupor published in this many days are read when a network has no update feed.
READ_COMMENTS_DAYS = 14
#: At most this many update pages are read per poll (each network pages at ~100 updates).
MAX_PAGES = 10


class InboxError(DomainError):
    """A request the inbox domain refuses."""


def _failure(exc: errors.NetworkError) -> DomainError:
    return InboxError(exc.message, status=errors.http_status(exc))


@dataclass(frozen=True)
class ItemView:
    id: int
    channel_id: int
    network: str
    kind: str
    remote_id: str
    conversation_remote_id: str
    post_id: int | None
    parent_remote_id: str
    author_remote_id: str
    author_name: str
    author_url: str
    text: str
    occurred_at: dt.datetime
    status: str
    outgoing: bool
    send_state: str
    assigned_to_id: int | None
    label: str
    negativity: float | None
    language: str
    author_avatar_url: str = ""
    #: The author's followers (their reach) where the network says; None when it does not.
    author_followers: int | None = None
    #: How much the item needs a person now (inbox/priority.py; docs/inbox-triage.md).
    priority: float = 0.0


def view(item: InboxItem) -> ItemView:
    return ItemView(
        id=item.pk,
        channel_id=item.channel_id,
        network=item.channel.network,
        kind=item.kind,
        remote_id=item.remote_id,
        conversation_remote_id=item.conversation_remote_id,
        post_id=item.post_id,
        parent_remote_id=item.parent_remote_id,
        author_remote_id=item.author_remote_id,
        author_name=item.author_name,
        author_url=item.author_url,
        text=item.text,
        occurred_at=item.occurred_at,
        status=item.status,
        outgoing=item.outgoing,
        send_state=item.send_state,
        assigned_to_id=item.assigned_to_id,
        label=item.label,
        negativity=item.negativity,
        language=item.language,
        author_avatar_url=item.author_avatar_url,
        author_followers=item.author_followers,
        priority=priority.priority_of(item, clock.now()),
    )


# -- intake --------------------------------------------------------------------------------


def _is_ours(channel: channels.ChannelRef, person: Person) -> bool:
    """Whether the author is the channel itself (VK writes communities as negative ids)."""
    rid = channel.remote_id.lstrip("-")
    return bool(rid) and person.remote_id.lstrip("-") == rid and person.remote_id != ""


def _upsert(
    channel: channels.ChannelRef,
    kind: str,
    remote_id: str,
    values: dict[str, object],
    *,
    edit: bool,
    posts: dict[str, publishing.PublishedPost | None],
) -> bool:
    """Insert the item, or refresh the one already stored. Returns True when it was new."""
    conv = str(values.get("conversation_remote_id") or "")
    if kind == ItemKind.COMMENT and conv not in posts:
        posts[conv] = publishing.find_published(channel.id, conv)
    post = posts.get(conv) if kind == ItemKind.COMMENT else None
    existing = InboxItem.objects.filter(channel_id=channel.id, kind=kind, remote_id=remote_id).first()
    if existing is None:
        try:
            with transaction.atomic():
                InboxItem.objects.create(
                    workspace_id=channel.workspace_id,
                    channel_id=channel.id,
                    kind=kind,
                    remote_id=remote_id,
                    post_id=post.post_id if post else None,
                    target_id=post.target_id if post else None,
                    received_at=clock.now(),
                    updated_at=clock.now(),
                    **values,
                )
                if values.get("outgoing"):  # our own account answered on the network
                    at = values.get("occurred_at")
                    response.record_network_reply(
                        channel.id,
                        kind,
                        str(values.get("parent_remote_id") or ""),
                        conv,
                        at if isinstance(at, dt.datetime) else clock.now(),
                    )
            return True
        except IntegrityError:  # the same item arrived at the same moment by the other path
            existing = InboxItem.objects.filter(channel_id=channel.id, kind=kind, remote_id=remote_id).first()
            if existing is None:
                raise
    changed: list[str] = []
    if values.get("status") == ItemStatus.DELETED and existing.status != ItemStatus.DELETED:
        existing.status = ItemStatus.DELETED
        changed.append("status")
    elif (
        edit
        and values.get("text") is not None
        and values["text"] != existing.text
        and existing.status != ItemStatus.DELETED
    ):
        existing.text = str(values["text"])
        existing.label, existing.negativity, existing.language = "", None, ""
        changed += ["text", "label", "negativity", "language"]
    if post is not None and existing.post_id is None:
        existing.post_id, existing.target_id = post.post_id, post.target_id
        changed += ["post_id", "target_id"]
    if changed:
        existing.updated_at = clock.now()
        existing.save(update_fields=[*changed, "updated_at"])
    return False


def _comment_values(
    channel: channels.ChannelRef, comment: Comment, *, deleted: bool = False
) -> dict[str, object]:
    ours = _is_ours(channel, comment.author)
    values: dict[str, object] = {
        "conversation_remote_id": comment.post_remote_id[:200],
        "parent_remote_id": (comment.parent_remote_id or "")[:200],
        "author_remote_id": comment.author.remote_id[:200],
        "author_name": comment.author.name[:200],
        "author_url": http_url_or_empty(comment.author.url, max_length=500),
        "text": comment.text,
        "occurred_at": comment.created_at,
        "outgoing": ours,
        "status": ItemStatus.ANSWERED if ours else ItemStatus.NEW,
    }
    if deleted or comment.deleted:
        values["status"] = ItemStatus.DELETED
        values.pop("text")
        values.pop("outgoing")
    return values


def _message_values(message: Message) -> dict[str, object]:
    return {
        "conversation_remote_id": message.conversation_id[:200],
        "author_remote_id": message.author.remote_id[:200],
        "author_name": message.author.name[:200],
        "author_url": http_url_or_empty(message.author.url, max_length=500),
        "text": message.text,
        "occurred_at": message.created_at,
        "outgoing": message.outgoing,
        "status": ItemStatus.ANSWERED if message.outgoing else ItemStatus.NEW,
    }


def _mention(
    channel: channels.ChannelRef,
    event: Event,
    keywords: list[MonitoredKeyword],
    posts: dict[str, publishing.PublishedPost | None],
) -> bool:
    """A message addressed to the channel (a mention), or chatter in a group chat that names one of
    the workspace's keywords, as a ``mention`` item; other chatter is dropped. True when new."""
    message = event.message
    if message is None or message.outgoing or _is_ours(channel, message.author):
        return False
    keyword = next(
        (
            k
            for k in keywords
            if monitoring.matches(message.text, k.phrase, k.minus_words)
            and monitoring.language_fits(k, message.text)
        ),
        None,
    )
    if event.kind == EventKind.CHATTER and keyword is None:
        return False
    remote_id = message.remote_id[:200]
    values: dict[str, object] = {
        "conversation_remote_id": message.conversation_id[:200],
        "author_remote_id": message.author.remote_id[:200],
        "author_name": message.author.name[:200],
        "author_url": http_url_or_empty(message.author.url, max_length=500),
        "text": message.text,
        "occurred_at": message.created_at,
        "outgoing": False,
        "status": ItemStatus.NEW,
    }
    new = _upsert(channel, ItemKind.MENTION, remote_id, values, edit=False, posts=posts)
    if new:
        item = InboxItem.objects.get(channel_id=channel.id, kind=ItemKind.MENTION, remote_id=remote_id)
        MentionInfo.objects.get_or_create(
            item=item,
            defaults={
                "source": MentionSource.MENTION if event.kind == EventKind.MENTION else MentionSource.KEYWORD,
                "keyword": keyword,
                "phrase": keyword.phrase if keyword else "",
                "url": http_url_or_empty(event.url, max_length=500),
            },
        )
    return new


def ingest_events(channel_id: int, events: Iterable[Event]) -> int:
    """Store what the events say; safe to call again with the same events (idempotent).

    Comments and messages become inbox items (once per remote id; an edit updates the text,
    a delete marks the item deleted); joins/leaves and reaction totals go to analytics.
    Returns how many new inbox items were stored.
    """
    channel = channels.find_channel(channel_id, removed_too=True)
    if channel is None:
        return 0
    new = 0
    posts: dict[str, publishing.PublishedPost | None] = {}
    members: list[analytics.MemberChange] = []
    keywords: list[MonitoredKeyword] | None = None
    for event in events:
        if event.kind in (EventKind.MENTION, EventKind.CHATTER) and event.message:
            if keywords is None:
                keywords = list(monitoring.list_keywords(channel.workspace_id))
            new += _mention(channel, event, keywords, posts)
            continue
        if (
            event.kind in (EventKind.COMMENT_NEW, EventKind.COMMENT_EDIT, EventKind.COMMENT_DELETE)
            and event.comment
        ):
            c = event.comment
            if not c.post_remote_id and event.post_remote_id:
                c = dataclasses.replace(c, post_remote_id=event.post_remote_id)
            deleted = event.kind == EventKind.COMMENT_DELETE
            values = _comment_values(channel, c, deleted=deleted)
            fresh = _upsert(
                channel,
                ItemKind.COMMENT,
                c.remote_id[:200],
                values,
                edit=event.kind == EventKind.COMMENT_EDIT,
                posts=posts,
            )
            new += fresh
            if fresh and values.get("outgoing") and values.get("parent_remote_id"):
                _answered_on_network(channel.id, ItemKind.COMMENT, remote_id=str(values["parent_remote_id"]))
        elif event.kind == EventKind.MESSAGE_NEW and event.message:
            fresh = _upsert(
                channel,
                ItemKind.MESSAGE,
                event.message.remote_id[:200],
                _message_values(event.message),
                edit=False,
                posts=posts,
            )
            new += fresh
            if fresh and event.message.outgoing:
                _answered_on_network(
                    channel.id,
                    ItemKind.MESSAGE,
                    conversation=event.message.conversation_id[:200],
                    before=event.message.created_at,
                )
        elif event.kind in (EventKind.MEMBER_JOIN, EventKind.MEMBER_LEAVE):
            members.append(
                analytics.MemberChange(
                    remote_id=event.remote_id,
                    joined=event.kind == EventKind.MEMBER_JOIN,
                    occurred_at=event.occurred_at,
                    person_remote_id=event.person.remote_id if event.person else "",
                )
            )
        elif event.kind == EventKind.REACTIONS and event.post_remote_id:
            analytics.record_reactions(
                channel_id, event.post_remote_id, dict(event.counts), event.occurred_at
            )
    if members:
        analytics.record_member_events(channel_id, members)
    return new


def _answered_on_network(
    channel_id: int,
    kind: str,
    *,
    remote_id: str = "",
    conversation: str = "",
    before: dt.datetime | None = None,
) -> None:
    """The channel answered on the network itself (in its own app, not through Rupor): what
    that answers no longer waits. A comment's reply answers its parent; an outgoing message
    answers the person's earlier messages in that conversation."""
    waiting = InboxItem.objects.filter(channel_id=channel_id, kind=kind, outgoing=False, status__in=WAITING)
    if remote_id:
        waiting = waiting.filter(remote_id=remote_id)
    else:
        waiting = waiting.filter(conversation_remote_id=conversation, occurred_at__lte=before or clock.now())
    waiting.update(status=ItemStatus.ANSWERED, updated_at=clock.now())


#: At most this many people are looked up per poll of a channel (the adapters batch them:
#: VK 1000 a call, OK 100); the rest wait for the next poll.
LOOKUP_PER_POLL = 1000


def _look_up_authors(channel: channels.ChannelRef, adapter: Adapter, access: ChannelAccess) -> int:
    """Give the channel's items whose author was never looked up the author's profile
    (avatar, followers, and name or link where the item had none), asking the network once for
    all of them; every item of a person is updated, so they all show the newest profile. Items
    from webhooks are filled in by the next poll. Returns how many people were looked up."""
    ids = [
        rid
        for rid in InboxItem.objects.filter(
            channel_id=channel.id, outgoing=False, author_looked_up_at__isnull=True
        )
        .exclude(author_remote_id="")
        .order_by()
        .values_list("author_remote_id", flat=True)
        .distinct()[:LOOKUP_PER_POLL]
        if not _is_ours(channel, Person(rid))
    ]
    if not ids:
        return 0
    try:
        people = {p.remote_id: p for p in adapter.people(access, ids)}
    except errors.READ_ERRORS as raised:  # the profiles are a nicety: the poll itself succeeded
        log.warning("inbox: looking people up on channel %s failed: %s", channel.id, raised)
        return 0
    now = clock.now()
    for rid in ids:
        person = people.get(rid)
        mine = InboxItem.objects.filter(channel_id=channel.id, author_remote_id=rid)
        if person is None:  # the network does not know them (any more): do not ask again
            mine.update(author_looked_up_at=now)
            continue
        mine.update(
            author_avatar_url=http_url_or_empty(person.avatar_url, max_length=500),
            author_followers=person.followers,
            author_looked_up_at=now,
        )
        if person.name:
            mine.filter(author_name="").update(author_name=person.name[:200])
        if person.url:
            mine.filter(author_url="").update(author_url=http_url_or_empty(person.url, max_length=500))
    return len(ids)


def _adapter(channel: channels.ChannelRef) -> Adapter:
    if channel.network not in registry.available():
        name = registry.DISPLAY_NAMES.get(channel.network, channel.network)
        raise InboxError(_("Rupor cannot talk to %(network)s yet.") % {"network": name}, status=422)
    return registry.adapter(channel.network)


@dataclass(frozen=True)
class PollResult:
    channel_id: int
    new_items: int
    events: int


def poll_channel(channel_id: int) -> PollResult:
    """Ask the network what is new on a channel and ingest it.

    Networks with an update feed (VK long poll, Telegram ``getUpdates``) are read from the
    stored cursor; the first time, and for networks without a feed (OK), the comments of posts
    Rupor published in the last ``READ_COMMENTS_DAYS`` days are read as well.
    """
    channel = channels.find_channel(channel_id)
    if channel is None:
        raise InboxError(_("No such channel."), status=404)
    adapter = _adapter(channel)
    caps = adapter.capabilities
    if not caps & {Capability.POLL_UPDATES, Capability.READ_COMMENTS, Capability.READ_MESSAGES}:
        raise InboxError(
            _("%(network)s does not let Rupor read comments or messages.")
            % {"network": adapter.display_name},
            status=422,
        )
    access = channels.access_for(channel.id)
    state, _created = IntakeCursor.objects.get_or_create(channel_id=channel.id)
    first = state.last_polled_at is None
    events: list[Event] = []
    try:
        if Capability.POLL_UPDATES in caps:
            cursor = state.cursor or None
            for _page in range(MAX_PAGES):
                page = adapter.poll_updates(access, cursor)
                events.extend(page.events)
                moved = page.cursor != cursor
                cursor = page.cursor
                state.cursor = cursor or ""
                if not page.events or not moved:
                    break
        if Capability.READ_COMMENTS in caps and (first or Capability.POLL_UPDATES not in caps):
            since = clock.now() - dt.timedelta(days=READ_COMMENTS_DAYS)
            for post in publishing.published_posts(channel_id, since=since)[:100]:
                for c in adapter.read_comments(access, post.remote_id):
                    kind = EventKind.COMMENT_DELETE if c.deleted else EventKind.COMMENT_NEW
                    events.append(
                        Event(
                            kind=kind,
                            remote_id=c.remote_id,
                            channel_remote_id=channel.remote_id,
                            occurred_at=c.created_at,
                            comment=c,
                            person=c.author,
                            post_remote_id=c.post_remote_id,
                        )
                    )
        if Capability.READ_MESSAGES in caps and (first or Capability.POLL_UPDATES not in caps):
            for m in adapter.read_messages(access, since=state.last_polled_at):
                events.append(
                    Event(
                        kind=EventKind.MESSAGE_NEW,
                        remote_id=m.remote_id,
                        channel_remote_id=channel.remote_id,
                        occurred_at=m.created_at,
                        message=m,
                        person=m.author,
                    )
                )
    except errors.READ_ERRORS as raised:
        exc = errors.as_network_error(raised, adapter.display_name)  # garbage from the network is its error
        state.last_error = exc.message[:300]
        state.last_polled_at = clock.now()
        state.save()
        new = ingest_events(channel_id, events)  # what was read before the failure still counts
        if isinstance(exc, errors.AuthExpired):
            channels.needs_reconnect(channel_id, exc.message)
        raise _failure(exc) from exc
    new = ingest_events(channel_id, events)
    if Capability.LOOKUP_PEOPLE in caps:
        _look_up_authors(channel, adapter, access)
    state.last_polled_at = clock.now()
    state.last_error = ""
    state.save()
    return PollResult(channel_id=channel_id, new_items=new, events=len(events))


def poll_now(actor: accounts.Actor, channel_id: int) -> PollResult:
    """The "check now" button: poll one channel of the actor's workspace."""
    if not actor.can(Perm.INBOX_VIEW):
        raise InboxError(_("Your role does not allow this."), status=403)
    channels.get_channel(actor.workspace_id, channel_id)
    return poll_channel(channel_id)


# -- reading -------------------------------------------------------------------------------


#: What still waits for an answer: nobody answered, or someone is on it.
WAITING = (ItemStatus.NEW, ItemStatus.IN_PROGRESS)
#: The statuses a person sets by hand; the others follow from what happens on the network.
WORK_STATUSES = (ItemStatus.NEW, ItemStatus.IN_PROGRESS, ItemStatus.DONE)


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    channel_id: int | None = None
    kind: str | None = None
    post_id: int | None = None
    include_outgoing: bool = True
    network: str | None = None
    assigned_to_id: int | None = None
    #: Only what the audience wrote that still waits for an answer (see WAITING) and that no
    #: reply of ours answers (with ``label="question"``: the unanswered questions).
    unanswered: bool = False
    label: str | None = None
    #: Highest priority first (inbox/priority.py: label, the author's reach, time waited), then
    #: newest first.
    urgent_first: bool = False
    #: Only items that occurred at or after ``occurred_from`` and before ``occurred_before`` (aware
    #: UTC; :func:`day_bounds` turns the workspace's calendar days into these).
    occurred_from: dt.datetime | None = None
    occurred_before: dt.datetime | None = None
    #: Only items given to nobody.
    unassigned: bool = False


def list_items(
    workspace_id: int, filters: Filters | None = None, *, now: dt.datetime | None = None
) -> QuerySet[InboxItem]:
    """Items of a workspace, newest first (or by priority as of ``now``, by default the clock's)."""
    f = filters or Filters()
    if f.status is not None and f.status not in ItemStatus.values:
        raise InboxError(
            _("%(value)s is not an inbox status; use one of %(allowed)s.")
            % {"value": repr(f.status), "allowed": ", ".join(ItemStatus.values)},
            "status",
            422,
        )
    if f.kind is not None and f.kind not in ItemKind.values:
        raise InboxError(
            _("%(value)s is not an inbox kind; use one of %(allowed)s.")
            % {"value": repr(f.kind), "allowed": ", ".join(ItemKind.values)},
            "kind",
            422,
        )
    qs = InboxItem.objects.filter(workspace_id=workspace_id).select_related("channel")
    if f.status:
        qs = qs.filter(status=f.status)
    if f.channel_id is not None:
        qs = qs.filter(channel_id=f.channel_id)
    if f.kind:
        qs = qs.filter(kind=f.kind)
    if f.post_id is not None:
        qs = qs.filter(post_id=f.post_id)
    if not f.include_outgoing:
        qs = qs.filter(outgoing=False)
    if f.network:
        qs = qs.filter(channel__network=f.network)
    if f.assigned_to_id is not None:
        qs = qs.filter(assigned_to_id=f.assigned_to_id)
    if f.unanswered:
        ours = InboxItem.objects.filter(
            channel_id=OuterRef("channel_id"), outgoing=True, parent_remote_id=OuterRef("remote_id")
        )
        qs = qs.filter(outgoing=False, status__in=WAITING).exclude(Exists(ours))
    if f.label is not None:
        if f.label not in Label.values:
            raise InboxError(
                _("%(value)s is not an inbox label; use one of %(allowed)s.")
                % {"value": repr(f.label), "allowed": ", ".join(Label.values)},
                "label",
                422,
            )
        qs = qs.filter(label=f.label)
    qs = _queue_filters(qs, f)
    if f.urgent_first:
        qs = qs.annotate(priority=priority.priority_expression(now or clock.now())).order_by(
            "-priority", "-occurred_at", "-id"
        )
    return qs


def _queue_filters(qs: QuerySet[InboxItem], f: Filters) -> QuerySet[InboxItem]:
    """The queue's narrower filters: nobody's items, and the days they occurred on."""
    if f.unassigned:
        qs = qs.filter(assigned_to__isnull=True)
    if f.occurred_from is not None:
        qs = qs.filter(occurred_at__gte=f.occurred_from)
    if f.occurred_before is not None:
        qs = qs.filter(occurred_at__lt=f.occurred_before)
    return qs


#: Items read by one triage pass (the classifier batches internally).
TRIAGE_BATCH = 256


def triage_pending(limit: int = TRIAGE_BATCH) -> int:
    """Label up to ``limit`` items the audience wrote that triage has not read yet (oldest first);
    returns how many. The classifier runs offline; it is imported here, on first use, because
    loading it takes about a second and most processes never need it."""
    from rupor.inbox import triage  # here: heavy (numpy, the encoder), and only the worker triages

    pending = list(
        InboxItem.objects.filter(label="", outgoing=False)
        .order_by("received_at", "id")
        .only("id", "text")[:limit]
    )
    if not pending:
        return 0
    for item, found in zip(pending, triage.classify([i.text for i in pending]), strict=True):
        item.label, item.negativity, item.language = found.label, found.negativity, found.language
    InboxItem.objects.bulk_update(pending, ["label", "negativity", "language"])
    return len(pending)


#: The periods the people page offers, in days (any 1-3650 is accepted).
PEOPLE_PERIODS = (7, 30, 90, 365)


def opinion_leaders(
    actor: accounts.Actor,
    *,
    days: int = 30,
    channel_id: int | None = None,
    network: str | None = None,
    limit: int = 50,
) -> list[audience.Leader]:
    """The people of the actor's workspace audience ranked by how much they engage and how much
    others answer them, over the last ``days`` (inbox/audience.py; docs/inbox-triage.md)."""
    _require(actor, Perm.INBOX_VIEW)
    if not 1 <= days <= 3650:
        raise InboxError(_("The period is 1 to 3650 days."), "days", 422)
    if not 1 <= limit <= 500:
        raise InboxError(_("Ask for 1 to 500 people."), "limit", 422)
    if network and network not in registry.DISPLAY_NAMES:
        raise InboxError(
            _("%(value)s is not a network; use one of %(allowed)s.")
            % {"value": repr(network), "allowed": ", ".join(registry.DISPLAY_NAMES)},
            "network",
            422,
        )
    if channel_id is not None:
        channels.get_channel(actor.workspace_id, channel_id)  # another workspace's channel: 404
    return audience.leaders(
        actor.workspace_id,
        since=clock.now() - dt.timedelta(days=days),
        channel_id=channel_id,
        network=network or None,
        limit=limit,
    )


def waiting_count(workspace_id: int) -> int:
    """How many items the audience wrote still wait for an answer (the sidebar's counter)."""
    return InboxItem.objects.filter(workspace_id=workspace_id, outgoing=False, status__in=WAITING).count()


def thread(workspace_id: int, item_id: int) -> list[InboxItem]:
    """The item with its conversation, oldest first: every comment under the same post, or every
    message with the same person, ours included."""
    item = get_item(workspace_id, item_id)
    if not item.conversation_remote_id:
        return [item]
    return list(
        InboxItem.objects.filter(
            workspace_id=workspace_id,
            channel_id=item.channel_id,
            kind=item.kind,
            conversation_remote_id=item.conversation_remote_id,
        )
        .select_related("channel")
        .order_by("occurred_at", "id")
    )


def replies_to(workspace_id: int, item_id: int, *, besides_key: str = "") -> int:
    """How many of our replies answer this item: the web page remembers it when it is loaded and
    tells the person when a teammate answered in the meantime. ``besides_key``: not counting the
    reply sent with this idempotency key (the same person pressing "send" twice)."""
    item = get_item(workspace_id, item_id)
    replies = InboxItem.objects.filter(
        workspace_id=workspace_id, channel_id=item.channel_id, outgoing=True, parent_remote_id=item.remote_id
    )
    if besides_key:
        replies = replies.exclude(idempotency_key=besides_key)
    return replies.count()


def get_item(workspace_id: int, item_id: int) -> InboxItem:
    item = InboxItem.objects.filter(workspace_id=workspace_id, pk=item_id).select_related("channel").first()
    if item is None:
        raise InboxError(_("No such inbox item."), status=404)
    return item


# -- answering and moderating --------------------------------------------------------------


def _require(actor: accounts.Actor, perm: Perm) -> None:
    if not actor.can(perm):
        raise InboxError(_("Your role does not allow this."), status=403)


def _settle(pending: InboxItem, remote_id: str, occurred_at: dt.datetime | None) -> InboxItem:
    """Give a sent reply its network id. If the network's own event already brought the same
    comment in (a webhook can beat the API's answer), keep that row and mark it ours."""
    remote_id = remote_id[:200]
    with transaction.atomic():
        twin = (
            InboxItem.objects.select_for_update()
            .filter(channel_id=pending.channel_id, kind=pending.kind, remote_id=remote_id)
            .exclude(pk=pending.pk)
            .first()
        )
        if twin is None:
            pending.remote_id = remote_id
            pending.send_state = SendState.SENT
            pending.occurred_at = occurred_at or pending.occurred_at
            pending.updated_at = clock.now()
            pending.save()
            return pending
        key, by = pending.idempotency_key, pending.replied_by
        pending.delete()
        twin.outgoing = True
        twin.status = ItemStatus.ANSWERED
        twin.idempotency_key = key
        twin.send_state = SendState.SENT
        twin.replied_by = by
        twin.parent_remote_id = twin.parent_remote_id or pending.parent_remote_id
        twin.updated_at = clock.now()
        twin.save()
        return twin


def reply(actor: accounts.Actor, item_id: int, text: str, *, idempotency_key: str | None = None) -> ItemView:  # noqa: C901 - each network refuses replies for its own reasons, checked in one place before any call
    """Answer a comment (in its thread) or a direct message, as the channel.

    The reply is stored first (``send_state`` "sending") with its idempotency key; a repeated
    call with the same key returns the reply already sent instead of sending it again.
    """
    _require(actor, Perm.INBOX_REPLY)
    if accounts.replies_need_approval(actor):  # they answer through answering.answer (decision 0012)
        raise InboxError(_("Your replies wait for an approver; nothing was sent."), status=403)
    started = clock.now()
    item = get_item(actor.workspace_id, item_id)
    text = (text or "").strip()
    if not text:
        raise InboxError(_("Write something to send."), "text", 422)
    key = (idempotency_key or "").strip() or uuid.uuid4().hex
    if len(key) > 64:
        raise InboxError(_("The idempotency key is at most 64 characters."), "idempotency_key", 422)
    channel = channels.find_channel(item.channel_id)
    if channel is None:
        raise InboxError(_("The channel was removed; Rupor can no longer answer there."), status=409)
    adapter = _adapter(channel)
    is_mention = item.kind == ItemKind.MENTION
    if is_mention:
        _can_answer_mention(item, adapter)
    is_message = item.kind == ItemKind.MESSAGE or is_mention
    need = Capability.SEND_MESSAGE if item.kind == ItemKind.MESSAGE else Capability.REPLY_COMMENT
    if not is_mention and need not in adapter.capabilities:
        if is_message:
            refusal = _(
                "%(network)s does not let Rupor answer direct messages; answer on %(network)s itself."
            )
        else:
            refusal = _("%(network)s does not let Rupor reply to comments; answer on %(network)s itself.")
        raise InboxError(refusal % {"network": adapter.display_name}, status=422)
    limit = adapter.limits.message_max if is_message else adapter.limits.comment_max
    if limit and adapter.text_length(text) > limit:
        raise InboxError(
            _("The reply is too long for %(network)s (%(limit)s at most).")
            % {"network": adapter.display_name, "limit": limit},
            "text",
            422,
        )
    if not is_message and item.status == ItemStatus.DELETED:
        raise InboxError(_("This comment was deleted, so it cannot be answered."), status=409)
    earlier = InboxItem.objects.filter(idempotency_key=key).select_related("channel").first()
    if earlier is not None:
        if earlier.workspace_id != actor.workspace_id or earlier.parent_remote_id != item.remote_id:
            raise InboxError(
                _("This idempotency key was already used for another reply."), "idempotency_key", 409
            )
        if earlier.send_state == SendState.SENT:
            return view(earlier)
        if not adapter.idempotent_publish:
            raise InboxError(
                _(
                    "An earlier try of this reply may have reached %(network)s; check there before sending it again."
                )
                % {"network": adapter.display_name},
                status=409,
            )
        pending = earlier  # the network honours the key: sending again cannot duplicate
    else:
        pending = InboxItem.objects.create(
            workspace_id=actor.workspace_id,
            channel_id=channel.id,
            kind=item.kind if item.kind in (ItemKind.MESSAGE, ItemKind.MENTION) else ItemKind.COMMENT,
            remote_id=f"pending:{key}",
            conversation_remote_id=item.conversation_remote_id,
            post_id=item.post_id,
            target_id=item.target_id,
            parent_remote_id=item.remote_id,
            author_remote_id="",
            author_name=channel.name,
            text=text,
            occurred_at=clock.now(),
            status=ItemStatus.ANSWERED,
            outgoing=True,
            idempotency_key=key,
            send_state=SendState.SENDING,
            replied_by=actor.label[:200],
        )
    access = channels.access_for(channel.id)
    try:
        if is_mention:
            sent_m = adapter.reply_mention(
                access, item.conversation_remote_id, item.remote_id, text, idempotency_key=key
            )
            remote, when = sent_m.remote_id, sent_m.created_at
        elif is_message:
            sent_m = adapter.send_message(access, item.conversation_remote_id, text, idempotency_key=key)
            remote, when = sent_m.remote_id, sent_m.created_at
        else:
            sent_c = adapter.reply_comment(
                access, item.conversation_remote_id, text, reply_to=item.remote_id, idempotency_key=key
            )
            remote, when = sent_c.remote_id, sent_c.created_at
    except errors.NetworkError as exc:
        if exc.nothing_happened:
            pending.delete()
        else:
            pending.send_state = SendState.UNKNOWN
            pending.save(update_fields=["send_state"])
        raise _failure(exc) from exc
    done = _settle(pending, remote, when)
    response.record_rupor_reply(item, clock.now(), actor.user_id, started)
    if item.status in WAITING:
        InboxItem.objects.filter(pk=item.pk, status__in=WAITING).update(
            status=ItemStatus.ANSWERED, updated_at=clock.now()
        )
    accounts.record(actor.workspace_id, actor, "inbox.reply", "inbox_item", item.pk, text[:100])
    return view(InboxItem.objects.select_related("channel").get(pk=done.pk))


def _can_answer_mention(item: InboxItem, adapter: Adapter) -> None:
    """Mentions are answered where they were made; a post found by search is answered on the
    network itself (decision 0011)."""
    found = MentionInfo.objects.filter(item=item).values_list("source", "url").first()
    if found is not None and found[0] == MentionSource.SEARCH:
        raise InboxError(
            _(
                "Rupor does not comment on posts it found by searching; open the post on %(network)s "
                "to answer there."
            )
            % {"network": adapter.display_name},
            status=422,
        )
    if Capability.REPLY_MENTION not in adapter.capabilities:
        raise InboxError(
            _("%(network)s does not let Rupor answer mentions; answer on %(network)s itself.")
            % {"network": adapter.display_name},
            status=422,
        )


def _moderate(
    actor: accounts.Actor, item_id: int, capability: Capability, verb: str
) -> tuple[InboxItem, Adapter, channels.ChannelRef]:
    _require(actor, Perm.INBOX_REPLY)
    item = get_item(actor.workspace_id, item_id)
    channel = channels.find_channel(item.channel_id)
    if channel is None:
        raise InboxError(_("The channel was removed; Rupor can no longer moderate there."), status=409)
    adapter = _adapter(channel)
    network = {"network": adapter.display_name}
    if capability != Capability.BAN_USER and item.kind != ItemKind.COMMENT:
        only_comments = {  # the verbs _moderate is called with for comments: hidden, deleted
            "hidden": _("Only comments can be hidden; %(network)s keeps direct messages as they are."),
            "deleted": _("Only comments can be deleted; %(network)s keeps direct messages as they are."),
        }[verb]
        raise InboxError(only_comments % network, status=422)
    if capability not in adapter.capabilities:
        alternative = ""
        if capability == Capability.HIDE_COMMENT and Capability.DELETE_COMMENT in adapter.capabilities:
            alternative = " " + _("You can delete the comment instead.")
        refusal = {
            Capability.HIDE_COMMENT: _("%(network)s does not let Rupor hide comments."),
            Capability.DELETE_COMMENT: _("%(network)s does not let Rupor delete comments."),
            Capability.BAN_USER: _("%(network)s does not let Rupor ban people."),
        }[capability]
        raise InboxError(refusal % network + alternative, status=422)
    return item, adapter, channel


def hide(actor: accounts.Actor, item_id: int) -> ItemView:
    """Hide a comment from the public (where the network can)."""
    item, adapter, channel = _moderate(actor, item_id, Capability.HIDE_COMMENT, "hidden")
    if item.status in (ItemStatus.HIDDEN, ItemStatus.DELETED):
        return view(item)
    try:
        adapter.hide_comment(channels.access_for(channel.id), item.conversation_remote_id, item.remote_id)
    except errors.NetworkError as exc:
        raise _failure(exc) from exc
    item.status, item.updated_at = ItemStatus.HIDDEN, clock.now()
    item.save(update_fields=["status", "updated_at"])
    accounts.record(actor.workspace_id, actor, "inbox.hide", "inbox_item", item.pk, item.text[:100])
    return view(item)


def delete(actor: accounts.Actor, item_id: int) -> ItemView:
    """Delete a comment on the network (the item stays in Rupor, marked deleted)."""
    item, adapter, channel = _moderate(actor, item_id, Capability.DELETE_COMMENT, "deleted")
    if item.status == ItemStatus.DELETED:
        return view(item)
    if item.remote_id.startswith("pending:"):
        raise InboxError(_("This reply has not reached the network yet."), status=409)
    try:
        adapter.delete_comment(channels.access_for(channel.id), item.conversation_remote_id, item.remote_id)
    except errors.NetworkError as exc:
        raise _failure(exc) from exc
    item.status, item.updated_at = ItemStatus.DELETED, clock.now()
    item.save(update_fields=["status", "updated_at"])
    accounts.record(actor.workspace_id, actor, "inbox.delete", "inbox_item", item.pk, item.text[:100])
    return view(item)


def ban(actor: accounts.Actor, item_id: int, *, reason: str = "") -> ItemView:
    """Ban the item's author from the channel (community ban, discussion-group ban)."""
    item, adapter, channel = _moderate(actor, item_id, Capability.BAN_USER, "banned")
    if item.outgoing or not item.author_remote_id or _is_ours(channel, Person(item.author_remote_id)):
        raise InboxError(_("This was written by the channel itself; there is nobody to ban."), status=422)
    try:
        adapter.ban_user(channels.access_for(channel.id), item.author_remote_id, reason=reason[:200])
    except errors.NetworkError as exc:
        raise _failure(exc) from exc
    accounts.record(
        actor.workspace_id,
        actor,
        "inbox.ban",
        "inbox_item",
        item.pk,
        f"{item.author_name or item.author_remote_id}"[:100],
    )
    return view(item)


def set_status(actor: accounts.Actor, item_id: int, status: str) -> ItemView:
    """Mark where the team stands with an item: new, in progress or done."""
    _require(actor, Perm.INBOX_REPLY)
    if status not in WORK_STATUSES:
        raise InboxError(
            _("%(value)s is not a status a person sets; use one of %(allowed)s.")
            % {"value": repr(status), "allowed": ", ".join(WORK_STATUSES)},
            "status",
            422,
        )
    item = get_item(actor.workspace_id, item_id)
    if item.status != status:
        item.status, item.updated_at = status, clock.now()
        resolution = response.status_fields(item, status, actor.user_id)
        item.save(update_fields=["status", "updated_at", *resolution])
        accounts.record(actor.workspace_id, actor, "inbox.status", "inbox_item", item.pk, status)
    return view(item)


def assign(actor: accounts.Actor, item_id: int, user_id: int | None) -> ItemView:
    """Give an item to a member of the workspace (``None``: to nobody)."""
    _require(actor, Perm.INBOX_REPLY)
    item = get_item(actor.workspace_id, item_id)
    if user_id is not None and not accounts.members(actor.workspace_id).filter(user_id=user_id).exists():
        raise InboxError(_("Only a member of this workspace can take an item."), "assigned_to", 422)
    if item.assigned_to_id != user_id:
        item.assigned_to_id, item.updated_at = user_id, clock.now()
        item.save(update_fields=["assigned_to", "updated_at"])
        accounts.record(actor.workspace_id, actor, "inbox.assign", "inbox_item", item.pk, str(user_id or ""))
        if user_id is not None and user_id != actor.user_id:
            _tell_assignee(actor, item, user_id)
    return view(item)


def _tell_assignee(actor: accounts.Actor, item: InboxItem, user_id: int) -> None:
    """An in-app notification for whoever was given the item by someone else."""
    who = actor.label or _("A teammate")
    excerpt = (item.author_name or item.author_remote_id or "") + ": " + (item.text or "")[:120]
    notifications.notify_member(
        actor.workspace_id,
        user_id,
        ASSIGNED_EVENT,
        _("%(who)s gave you an inbox item. %(excerpt)s") % {"who": who, "excerpt": excerpt.strip(": ")},
        link=f"/inbox/{item.pk}/",
        target_id=item.pk,
    )


#: The notification event a person gets when a teammate gives them an item.
ASSIGNED_EVENT = "inbox_assigned"


def channels_to_poll(now: dt.datetime, interval: dt.timedelta) -> Sequence[int]:
    """Active channels whose network can be polled and whose last poll is older than ``interval``."""
    available = set(registry.available())
    pollable = [
        n
        for n in available
        if registry.adapter(n).capabilities
        & {Capability.POLL_UPDATES, Capability.READ_COMMENTS, Capability.READ_MESSAGES}
    ]
    cutoff = now - interval
    ids = []
    last = dict(IntakeCursor.objects.values_list("channel_id", "last_polled_at"))
    for channel in channels.active_channels(pollable):
        at = last.get(channel.id)
        if at is None or at < cutoff:
            ids.append(channel.id)
    return ids


# -- the queue: dates, paging, bulk actions, saved views ------------------------------------


def day_bounds(
    workspace_id: int, first: dt.date | None, last: dt.date | None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The instants that begin ``first`` and end ``last`` (both included) in the workspace's time
    zone, for :class:`Filters`. A midnight the clocks skip is read as the day's first real instant."""
    if first is not None and last is not None and last < first:
        raise InboxError(_("The end date is before the start date."), "to", 422)
    tz = zone(accounts.workspace_info(workspace_id).timezone)

    def start_of(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(dt.UTC)

    return (
        start_of(first) if first is not None else None,
        start_of(last + dt.timedelta(days=1)) if last is not None else None,
    )


#: The most items one page of the list holds.
MAX_PAGE = 200


@dataclass(frozen=True)
class Page:
    items: list[InboxItem]
    #: Where the next page starts (pass it back as ``after``); blank when this is the last page.
    next_cursor: str


def _cursor(item: InboxItem, urgent: bool, now: dt.datetime) -> str:
    rank = float(getattr(item, "priority", 0.0)) if urgent else 0.0
    raw = "|".join(
        (
            repr(rank),
            item.occurred_at.astimezone(dt.UTC).isoformat(),
            str(item.pk),
            now.astimezone(dt.UTC).isoformat(),
        )
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _after(cursor: str) -> tuple[float, dt.datetime, int, dt.datetime]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        rank, when, pk, as_of = raw.split("|")
        at, now = dt.datetime.fromisoformat(when), dt.datetime.fromisoformat(as_of)
        if at.tzinfo is None or now.tzinfo is None:
            raise ValueError(when)
        return float(rank), at, int(pk), now
    except ValueError as exc:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise InboxError(
            _("This page cursor is not one Rupor gave; start from the first page."), "after", 422
        ) from exc


def page_items(
    workspace_id: int, filters: Filters | None = None, *, after: str = "", limit: int = MAX_PAGE
) -> Page:
    """One page of :func:`list_items`, and the cursor of the next. Pages are keyed on the order
    itself (priority, time, id), not on offsets: items arriving while someone pages (newer ones
    go on top) neither repeat an item nor skip one on the following pages. Priority rises with
    the time an item waits, so every page of one walk ranks as of the first page's moment (the
    cursor carries it)."""
    f = filters or Filters()
    limit = max(1, min(limit, MAX_PAGE * 5))
    now = clock.now()
    later = Q()
    if after:
        rank, at, pk, now = _after(after)
        older = Q(occurred_at__lt=at) | Q(occurred_at=at, pk__lt=pk)
        later = (Q(priority__lt=rank) | (Q(priority=rank) & older)) if f.urgent_first else older
    qs = list_items(workspace_id, f, now=now).filter(later)
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=rows, next_cursor=_cursor(rows[-1], f.urgent_first, now) if more and rows else "")


#: What a bulk action may do to each item.
BULK_ACTIONS = ("status", "assign", "done")
#: The most items one bulk action takes.
MAX_BULK = 500


@dataclass(frozen=True)
class BulkFailure:
    item_id: int
    message: str
    status: int


@dataclass(frozen=True)
class BulkResult:
    done: list[int]
    failed: list[BulkFailure]


def bulk_apply(
    actor: accounts.Actor,
    item_ids: Sequence[int],
    action: str,
    *,
    status: str = "",
    user_id: int | None = None,
) -> BulkResult:
    """Set the status of, assign, or mark done many items in one request. Each item goes through
    the same action as alone (:func:`set_status`, :func:`assign`): the actor's workspace and role
    are checked and an audit entry recorded per item; an item that cannot be changed is reported
    with its reason and the others are changed all the same."""
    _require(actor, Perm.INBOX_REPLY)
    if action not in BULK_ACTIONS:
        raise InboxError(
            _("%(value)s is not a bulk action; use one of %(allowed)s.")
            % {"value": repr(action), "allowed": ", ".join(BULK_ACTIONS)},
            "action",
            422,
        )
    ids = list(dict.fromkeys(item_ids))
    if not ids:
        raise InboxError(_("Choose at least one item."), "ids", 422)
    if len(ids) > MAX_BULK:
        raise InboxError(_("At most %(n)s items can be changed at once.") % {"n": MAX_BULK}, "ids", 422)
    if action == "status" and status not in WORK_STATUSES:
        raise InboxError(
            _("%(value)s is not a status a person sets; use one of %(allowed)s.")
            % {"value": repr(status), "allowed": ", ".join(WORK_STATUSES)},
            "status",
            422,
        )
    done: list[int] = []
    failed: list[BulkFailure] = []
    for item_id in ids:
        try:
            with transaction.atomic():
                if action == "assign":
                    assign(actor, item_id, user_id)
                else:
                    set_status(actor, item_id, ItemStatus.DONE if action == "done" else status)
        except InboxError as exc:
            failed.append(BulkFailure(item_id, exc.message, exc.status))
        else:
            done.append(item_id)
    detail = f"{action} {status or (user_id if action == 'assign' else '')}: {len(done)} done, {len(failed)} refused"
    accounts.record(actor.workspace_id, actor, "inbox.bulk", "inbox_item", "", detail[:100])
    return BulkResult(done=done, failed=failed)


@dataclass(frozen=True)
class SavedViewRef:
    id: int
    name: str
    shared: bool
    owner_id: int | None
    filters: dict[str, str]
    mine: bool  # saved by the person asking (they may rename and delete it)


#: The filters a saved view keeps (the list's query parameters); anything else is dropped.
VIEW_KEYS = ("channel", "network", "status", "assignee", "label", "mine", "unanswered", "sort", "from", "to")
#: The most saved views one person (or the workspace, for shared ones) keeps.
MAX_VIEWS = 50


def _clean_filters(filters: Mapping[str, object]) -> dict[str, str]:
    out = {}
    for key in VIEW_KEYS:
        value = str(filters.get(key) or "").strip()[:40]
        if value:
            out[key] = value
    return out


def _view_ref(row: SavedView, user_id: int | None) -> SavedViewRef:
    return SavedViewRef(
        id=row.pk,
        name=row.name,
        shared=row.shared,
        owner_id=row.owner_id,
        filters=dict(row.filters or {}),
        mine=row.owner_id is not None and row.owner_id == user_id,
    )


def _visible_views(actor: accounts.Actor) -> QuerySet[SavedView]:
    mine = Q(owner_id=actor.user_id) if actor.user_id is not None else Q(pk__in=[])
    return SavedView.objects.filter(Q(workspace_id=actor.workspace_id) & (Q(shared=True) | mine))


def saved_views(actor: accounts.Actor) -> list[SavedViewRef]:
    """The actor's own saved views and the workspace's shared ones, by name."""
    _require(actor, Perm.INBOX_VIEW)
    return [_view_ref(v, actor.user_id) for v in _visible_views(actor)]


def _may_share(actor: accounts.Actor) -> bool:
    """Shared views are for managers and above (whoever may approve posts or run the workspace)."""
    return actor.can(Perm.POSTS_APPROVE) or actor.can(Perm.WORKSPACE_MANAGE)


def _check_name(actor: accounts.Actor, name: str, shared: bool, besides: int | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InboxError(_("Give the view a name."), "name", 422)
    if len(name) > 80:
        raise InboxError(_("A view's name is at most 80 characters."), "name", 422)
    same = _visible_views(actor).filter(name__iexact=name, shared=shared)
    if not shared:
        same = same.filter(owner_id=actor.user_id)
    if besides is not None:
        same = same.exclude(pk=besides)
    if same.exists():
        raise InboxError(_("A view with this name already exists."), "name", 409)
    return name


def save_view(
    actor: accounts.Actor, name: str, filters: Mapping[str, object], *, shared: bool = False
) -> SavedViewRef:
    """Keep the current filters under a name: for the actor alone, or (managers and above) for
    the whole workspace."""
    _require(actor, Perm.INBOX_VIEW)
    if shared and not _may_share(actor):
        raise InboxError(_("Only managers and above can share a view with the workspace."), "shared", 403)
    if not shared and actor.user_id is None:
        raise InboxError(
            _("An API key has no person to keep a personal view for; share it instead."), "shared", 422
        )
    name = _check_name(actor, name, shared)
    if (
        _visible_views(actor).filter(shared=shared, **({} if shared else {"owner_id": actor.user_id})).count()
        >= MAX_VIEWS
    ):
        raise InboxError(
            _("There are already %(n)s saved views; delete one first.") % {"n": MAX_VIEWS}, status=409
        )
    row = SavedView.objects.create(
        workspace_id=actor.workspace_id,
        owner_id=actor.user_id,
        name=name,
        shared=shared,
        filters=_clean_filters(filters),
    )
    accounts.record(actor.workspace_id, actor, "inbox.view_save", "inbox_view", row.pk, name)
    return _view_ref(row, actor.user_id)


def _visible_view(actor: accounts.Actor, view_id: int) -> SavedView:
    _require(actor, Perm.INBOX_VIEW)
    row = _visible_views(actor).filter(pk=view_id).first()
    if row is None:
        raise InboxError(_("No such saved view."), status=404)
    return row


def get_view(actor: accounts.Actor, view_id: int) -> SavedViewRef:
    return _view_ref(_visible_view(actor, view_id), actor.user_id)


def _own_view(actor: accounts.Actor, view_id: int) -> SavedView:
    """A view the actor may change: their own, or a shared one when they may share."""
    row = _visible_view(actor, view_id)
    if not (row.owner_id == actor.user_id and actor.user_id is not None) and not (
        row.shared and _may_share(actor)
    ):
        raise InboxError(_("Only whoever saved this view, or a manager, can change it."), status=403)
    return row


def rename_view(actor: accounts.Actor, view_id: int, name: str) -> SavedViewRef:
    row = _own_view(actor, view_id)
    name = _check_name(actor, name, row.shared, besides=row.pk)
    if name != row.name:
        row.name, row.updated_at = name, clock.now()
        row.save(update_fields=["name", "updated_at"])
        accounts.record(actor.workspace_id, actor, "inbox.view_rename", "inbox_view", row.pk, name)
    return _view_ref(row, actor.user_id)


def delete_view(actor: accounts.Actor, view_id: int) -> None:
    row = _own_view(actor, view_id)
    accounts.record(actor.workspace_id, actor, "inbox.view_delete", "inbox_view", row.pk, row.name)
    row.delete()
