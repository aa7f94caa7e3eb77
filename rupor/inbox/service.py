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
import enum
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.utils.translation import gettext as _

from rupor.accounts import service as accounts
from rupor.accounts.roles import Perm
from rupor.analytics import service as analytics
from rupor.channels import service as channels
from rupor.core import backoff, clock, prepared
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
#: A post's comment listing shorter than this is complete (adapters read at most 50 pages of 100).
COMPLETE_LISTING = 5000


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


class _Op(enum.Enum):
    """What an event says about one item, applied in the order the events came."""

    CREATE = "create"
    EDIT = "edit"
    DELETE = "delete"
    RESTORE = "restore"


#: Fields a create fills in on an item an earlier, out-of-order delete or edit stored first.
_FILL_IN = ("author_remote_id", "author_name", "author_url", "parent_remote_id", "conversation_remote_id")


def _apply(item: InboxItem, op: _Op, values: dict[str, object], fresh: bool) -> set[str]:
    """Change ``item`` as ``op`` says (``fresh``: not stored yet); returns the fields changed.

    Order-proof: an edit or a delete may arrive before the create (the item is stored from it and
    the create fills in what was missing without undoing it); a repeated event changes nothing.
    """
    changed: set[str] = set()
    text = values.get("text")
    if fresh:
        for name, value in values.items():
            setattr(item, name, value)
        return changed
    if op is _Op.CREATE:
        for name in _FILL_IN:
            if not getattr(item, name) and values.get(name):
                setattr(item, name, values[name])
                changed.add(name)
        if item.status == ItemStatus.DELETED and not item.text and isinstance(text, str) and text:
            item.text = text  # deleted before we saw it: keep what it said, for the record
            changed.add("text")
        when = values.get("occurred_at")
        if isinstance(when, dt.datetime) and when < item.occurred_at:  # an edit came first
            item.occurred_at = when
            changed.add("occurred_at")
        if values.get("outgoing") is True and not item.outgoing:  # written by the channel itself
            item.outgoing = True
            changed.add("outgoing")
    elif op is _Op.DELETE:
        if item.status != ItemStatus.DELETED:
            item.status = ItemStatus.DELETED
            changed.add("status")
    elif op is _Op.RESTORE and item.status == ItemStatus.DELETED:
        item.status = ItemStatus.ANSWERED if item.outgoing else ItemStatus.NEW
        changed.add("status")
    if (
        op in (_Op.EDIT, _Op.RESTORE)
        and isinstance(text, str)
        and text != item.text
        and item.status != ItemStatus.DELETED
    ):
        item.text = text
        item.label, item.negativity, item.language = "", None, ""
        changed |= {"text", "label", "negativity", "language"}
    return changed


#: Which Rupor post a network's post id is, remembered by this process (webhooks bring one comment
#: a request): found ones for good (a published post keeps its id), unknown ones for
#: ``_UNKNOWN_POST_S`` seconds (Rupor may record the post's id just after its first comments).
#: The batch path's insert of new items (``_Batch._store_once``), its SQL written once.
_INSERT_ITEMS = prepared.PreparedObjectInsert(InboxItem)

_KNOWN_POSTS: dict[tuple[int, str], tuple[float, publishing.PublishedPost | None]] = {}
_KNOWN_POSTS_MAX = 50_000
_UNKNOWN_POST_S = 30.0


def _published_post(channel_id: int, remote_post_id: str) -> publishing.PublishedPost | None:
    key, now = (channel_id, remote_post_id), time.monotonic()
    known = _KNOWN_POSTS.get(key)
    if known is not None and (known[1] is not None or now - known[0] < _UNKNOWN_POST_S):
        return known[1]
    found = publishing.find_published(channel_id, remote_post_id)
    if len(_KNOWN_POSTS) >= _KNOWN_POSTS_MAX:
        _KNOWN_POSTS.clear()
    _KNOWN_POSTS[key] = (now, found)
    return found


@dataclass
class _Batch:
    """The items one call of :func:`ingest_events` touches, keyed by (kind, remote id)."""

    channel: channels.ChannelRef
    posts: dict[str, publishing.PublishedPost | None]
    ops: list[tuple[tuple[str, str], _Op, dict[str, object]]] = dataclasses.field(default_factory=list)
    #: The items the last :meth:`store` inserted.
    created: list[InboxItem] = dataclasses.field(default_factory=list)

    def add(self, kind: str, remote_id: str, op: _Op, values: dict[str, object]) -> None:
        self.ops.append(((kind, remote_id[:200]), op, values))

    def _post(self, kind: str, values: dict[str, object]) -> publishing.PublishedPost | None:
        if kind != ItemKind.COMMENT:
            return None
        conv = str(values.get("conversation_remote_id") or "")
        if conv not in self.posts:
            self.posts[conv] = _published_post(self.channel.id, conv)
        return self.posts[conv]

    def store(self) -> int:
        """Write the batch in one transaction: one query reads what is stored already, one bulk
        insert adds the new items, changed ones are updated. Returns how many were new.

        The unique constraint is the guard: when the other path stored one of these items in the
        meantime, the transaction rolls back and the batch is applied again over what is stored.
        """
        if not self.ops:
            return 0
        for (kind, _rid), _op, values in self.ops:
            self._post(kind, values)  # looked up before the transaction, which holds the write lock
        for attempt in range(3):
            try:
                with transaction.atomic():
                    new = self._store_once()
                    for item in self.created:
                        if item.outgoing:
                            _answered_on_network(item)
                    return new
            except IntegrityError:
                if attempt == 2:
                    raise
        return 0  # pragma: no cover - the loop returns or raises

    def _store_once(self) -> int:
        channel, now = self.channel, clock.now()
        wanted = {key for key, _op, _v in self.ops}
        stored: dict[tuple[str, str], InboxItem] = {}
        remote_ids = sorted({rid for _kind, rid in wanted})
        for chunk in range(0, len(remote_ids), 500):
            for item in InboxItem.objects.filter(
                channel_id=channel.id, remote_id__in=remote_ids[chunk : chunk + 500]
            ):
                if (item.kind, item.remote_id) in wanted:
                    stored[(item.kind, item.remote_id)] = item
        fresh: dict[tuple[str, str], InboxItem] = {}
        changed: dict[tuple[str, str], set[str]] = {}
        for key, op, values in self.ops:
            post = self._post(key[0], values)
            found = stored.get(key) or fresh.get(key)
            if found is None:
                item = InboxItem(
                    workspace_id=channel.workspace_id,
                    channel_id=channel.id,
                    kind=key[0],
                    remote_id=key[1],
                    post_id=post.post_id if post else None,
                    target_id=post.target_id if post else None,
                    received_at=now,
                    updated_at=now,
                )
                _apply(item, op, values, fresh=True)
                fresh[key] = item
                continue
            fields = _apply(found, op, values, fresh=False)
            if post is not None and found.post_id is None:
                found.post_id, found.target_id = post.post_id, post.target_id
                fields |= {"post_id", "target_id"}
            if fields and key in stored:
                changed.setdefault(key, set()).update(fields)
        self.created = list(fresh.values())
        if fresh:
            _INSERT_ITEMS.insert(self.created)  # one executemany, no per-call SQL compile
        for key, fields in changed.items():
            item = stored[key]
            item.updated_at = now
            item.save(update_fields=[*sorted(fields), "updated_at"])
        return len(fresh)


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
    op = _Op.EDIT if edit else _Op.CREATE
    if values.get("status") == ItemStatus.DELETED:
        op = _Op.DELETE
    batch = _Batch(channel, posts)
    batch.add(kind, remote_id, op, values)
    return batch.store() > 0


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


#: What each comment event does to its item.
_COMMENT_OPS = {
    EventKind.COMMENT_NEW: _Op.CREATE,
    EventKind.COMMENT_EDIT: _Op.EDIT,
    EventKind.COMMENT_DELETE: _Op.DELETE,
    EventKind.COMMENT_RESTORE: _Op.RESTORE,
}


@dataclasses.dataclass(frozen=True)
class Signal:
    """What a person said to a channel that a layer above may act on (newsletter opt-ins and
    unsubscribes): a new direct message (``kind`` "message"), or the network telling that they
    allowed ("allow", with the widget's ``key``) or withdrew ("deny") the channel's messages.
    ``address`` is where a direct message to them goes (their conversation id)."""

    channel_id: int
    workspace_id: int
    network: str
    kind: str
    address: str
    name: str
    text: str
    key: str
    occurred_at: dt.datetime


SignalListener = Callable[[Sequence[Signal]], None]
_signal_listeners: list[SignalListener] = []


def listen_to_signals(listener: SignalListener) -> None:
    """Register a listener (the newsletters app, at start-up); it is called with each batch's
    signals inside the intake's transaction, once per new message (a repeated delivery of the
    same message is not a new one) and for every allow/deny event (which carry their time, so a
    listener can ignore one older than what it knows)."""
    if listener not in _signal_listeners:
        _signal_listeners.append(listener)


def _signals(
    channel: channels.ChannelRef, events: Sequence[Event], created: Sequence[InboxItem]
) -> list[Signal]:
    out = [
        Signal(
            channel.id,
            channel.workspace_id,
            channel.network,
            "allow" if e.kind == EventKind.MESSAGES_ALLOW else "deny",
            e.person.remote_id,
            e.person.name,
            "",
            e.key,
            e.occurred_at,
        )
        for e in events
        if e.kind in (EventKind.MESSAGES_ALLOW, EventKind.MESSAGES_DENY) and e.person is not None
    ]
    out.extend(
        Signal(
            channel.id,
            channel.workspace_id,
            channel.network,
            "message",
            item.conversation_remote_id or item.author_remote_id,
            item.author_name,
            item.text,
            "",
            item.occurred_at,
        )
        for item in created
        if item.kind == ItemKind.MESSAGE and not item.outgoing
    )
    return out


def ingest_events(channel_id: int, events: Iterable[Event]) -> int:
    """Store what the events say; safe to call again with the same events (idempotent).

    Comments and messages become inbox items (once per remote id; an edit updates the text,
    a delete marks the item deleted, a restore brings it back); joins/leaves and reaction totals
    go to analytics. The items are written together, in one transaction (see ``_Batch.store``),
    whatever order the events came in. Returns how many new inbox items were stored.
    """
    channel = channels.find_channel(channel_id, removed_too=True)
    if channel is None:
        return 0
    return ingest_for(channel, events)


def ingest_for(channel: channels.ChannelRef, events: Iterable[Event]) -> int:
    """:func:`ingest_events` for a channel already looked up (the webhook intake has it)."""
    channel_id = channel.id
    batch = _Batch(channel, {})
    members: list[analytics.MemberChange] = []
    keywords: list[MonitoredKeyword] | None = None
    mentions = 0
    events = list(events)
    for event in events:
        if event.kind in (EventKind.MENTION, EventKind.CHATTER) and event.message:
            if keywords is None:
                keywords = list(monitoring.list_keywords(channel.workspace_id))
            mentions += _mention(channel, event, keywords, batch.posts)
            continue
        if event.kind in _COMMENT_OPS and event.comment:
            c = event.comment
            if not c.post_remote_id and event.post_remote_id:
                c = dataclasses.replace(c, post_remote_id=event.post_remote_id)
            op = _COMMENT_OPS[event.kind]
            batch.add(
                ItemKind.COMMENT, c.remote_id, op, _comment_values(channel, c, deleted=op is _Op.DELETE)
            )
        elif event.kind in (EventKind.MESSAGE_NEW, EventKind.MESSAGE_EDIT) and event.message:
            op = _Op.EDIT if event.kind == EventKind.MESSAGE_EDIT else _Op.CREATE
            batch.add(ItemKind.MESSAGE, event.message.remote_id, op, _message_values(event.message))
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
    new = batch.store()
    if members:
        analytics.record_member_events(channel_id, members)
    if _signal_listeners:
        signals = _signals(channel, events, batch.created)
        if signals:
            for listener in _signal_listeners:
                listener(signals)
    return new + mentions


def _answered_on_network(reply: InboxItem) -> None:
    """The channel wrote ``reply`` on the network itself (in its own app, or the intake saw a
    reply Rupor sent): what it answers no longer waits, and its first response is recorded. A
    comment's reply answers its parent; an outgoing message answers the person's earlier
    messages in that conversation."""
    waiting = InboxItem.objects.filter(
        channel_id=reply.channel_id, kind=reply.kind, outgoing=False, status__in=WAITING
    )
    if reply.kind == ItemKind.MESSAGE:
        waiting = waiting.filter(
            conversation_remote_id=reply.conversation_remote_id, occurred_at__lte=reply.occurred_at
        )
    elif reply.parent_remote_id:
        waiting = waiting.filter(remote_id=reply.parent_remote_id)
    else:
        return
    response.record_network_reply(
        reply.channel_id,
        reply.kind,
        reply.parent_remote_id,
        reply.conversation_remote_id,
        reply.occurred_at,
    )
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
    # One transaction for all of them: a commit each (up to three per person) cost a disk flush
    # each on PostgreSQL, which made the updates most of a poll's time.
    with transaction.atomic():
        for rid in ids:
            person = people.get(rid)
            mine = InboxItem.objects.filter(channel_id=channel.id, author_remote_id=rid)
            if person is None:  # the network does not know them (any more): do not ask again
                mine.update(author_looked_up_at=now)
                continue
            fill: dict[str, object] = {}  # the name and link only where the item has none
            if person.name:
                fill["author_name"] = Case(
                    When(author_name="", then=Value(person.name[:200])), default=F("author_name")
                )
            url = http_url_or_empty(person.url, max_length=500) if person.url else ""
            if url:
                fill["author_url"] = Case(When(author_url="", then=Value(url)), default=F("author_url"))
            mine.update(
                author_avatar_url=http_url_or_empty(person.avatar_url, max_length=500),
                author_followers=person.followers,
                author_looked_up_at=now,
                **fill,
            )
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


def _read_recent_comments(
    channel: channels.ChannelRef,
    adapter: Adapter,
    access: ChannelAccess,
    events: list[Event],
    listed: dict[str, set[str]],
) -> None:
    """The comments of posts Rupor published in the last ``READ_COMMENTS_DAYS`` days, as events
    (appended to ``events`` as they are read, so a failure keeps what came before it); a post's
    listing short of ``COMPLETE_LISTING`` is complete, and goes into ``listed``."""
    since = clock.now() - dt.timedelta(days=READ_COMMENTS_DAYS)
    for post in publishing.published_posts(channel.id, since=since)[:100]:
        comments = adapter.read_comments(access, post.remote_id)
        if len(comments) < COMPLETE_LISTING:
            listed[post.remote_id] = {c.remote_id[:200] for c in comments}
        for c in comments:
            events.append(
                Event(
                    kind=EventKind.COMMENT_DELETE if c.deleted else EventKind.COMMENT_NEW,
                    remote_id=c.remote_id,
                    channel_remote_id=channel.remote_id,
                    occurred_at=c.created_at,
                    comment=c,
                    person=c.author,
                    post_remote_id=c.post_remote_id,
                )
            )


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
    started = clock.now()
    listed: dict[str, set[str]] = {}  # post -> every comment it has now, where read in full
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
            _read_recent_comments(channel, adapter, access, events, listed)
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
        # What was read before the failure is stored first, then the cursor moves past it: a
        # crash in between reads it again (stored once), never skips it.
        ingest_events(channel_id, events)
        state.last_error = exc.message[:300]
        state.last_polled_at = clock.now()
        state.save(update_fields=["cursor", "last_error", "last_polled_at"])
        if isinstance(exc, errors.AuthExpired):
            channels.needs_reconnect(channel_id, exc.message)
        raise _failure(exc) from exc
    new = ingest_events(channel_id, events)
    if Capability.LOOKUP_PEOPLE in caps:
        _look_up_authors(channel, adapter, access)
    if Capability.POLL_UPDATES not in caps and Capability.READ_COMMENTS in caps:
        _mark_vanished(channel, listed, since=started)
    state.last_polled_at = clock.now()
    state.last_error, state.failures, state.retry_at = "", 0, None
    state.save()
    return PollResult(channel_id=channel_id, new_items=new, events=len(events))


#: Polling retries a failing channel after ``core/backoff.delay`` of these (seconds).
RETRY_BASE_S, RETRY_CAP_S = 30.0, 3600.0


def poll_failed(channel_id: int, message: str) -> dt.datetime:
    """The worker's poll of a channel failed: count it and say when to try again (exponential
    backoff with full jitter, so channels a shared outage stopped do not all return together)."""
    state, _created = IntakeCursor.objects.get_or_create(channel_id=channel_id)
    state.failures += 1
    state.retry_at = clock.now() + dt.timedelta(
        seconds=backoff.delay(state.failures, base=RETRY_BASE_S, cap=RETRY_CAP_S)
    )
    state.last_error = message[:300]
    state.save(update_fields=["failures", "retry_at", "last_error"])
    return state.retry_at


def _mark_vanished(channel: channels.ChannelRef, listed: dict[str, set[str]], *, since: dt.datetime) -> None:
    """A network without an update feed (OK) says nothing when a comment is deleted: a comment
    stored before this poll began that is missing from its post's complete listing was deleted."""
    for post_remote_id, seen in listed.items():
        (
            InboxItem.objects.filter(
                channel_id=channel.id,
                kind=ItemKind.COMMENT,
                conversation_remote_id=post_remote_id,
                received_at__lt=since,
            )
            .exclude(status=ItemStatus.DELETED)
            .exclude(remote_id__in=seen)
            .exclude(remote_id__startswith="pending:")
            .update(status=ItemStatus.DELETED, updated_at=clock.now())
        )


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
            "restored": _("Only comments can be deleted; %(network)s keeps direct messages as they are."),
        }[verb]
        raise InboxError(only_comments % network, status=422)
    if capability not in adapter.capabilities:
        if capability == Capability.HIDE_COMMENT and adapter.no_hide_reason:
            raise InboxError(str(adapter.no_hide_reason), status=422)
        alternative = ""
        if capability == Capability.HIDE_COMMENT and Capability.DELETE_COMMENT in adapter.capabilities:
            alternative = " " + _("You can delete the comment instead.")
        refusal = {
            Capability.HIDE_COMMENT: _("%(network)s does not let Rupor hide comments."),
            Capability.DELETE_COMMENT: _("%(network)s does not let Rupor delete comments."),
            Capability.RESTORE_COMMENT: _("%(network)s cannot bring a deleted comment back."),
            Capability.BAN_USER: _("%(network)s does not let Rupor ban people."),
        }[capability]
        raise InboxError(refusal % network + alternative, status=422)
    return item, adapter, channel


@dataclass(frozen=True)
class Moderation:
    """What the network lets Rupor do with a comment, for the thread page to offer."""

    can_hide: bool
    #: Why hiding is not offered (the network's API has no such method), for people.
    no_hide_reason: str
    can_delete: bool
    #: A deleted comment can be brought back (VK wall.restoreComment).
    can_restore: bool


def moderation(network: str) -> Moderation:
    """What moderation a channel's network allows (nothing, for a network Rupor cannot reach)."""
    if network not in registry.available():
        return Moderation(False, "", False, False)
    adapter = registry.adapter(network)
    caps = adapter.capabilities
    can_hide = Capability.HIDE_COMMENT in caps
    return Moderation(
        can_hide=can_hide,
        no_hide_reason="" if can_hide else str(adapter.no_hide_reason),
        can_delete=Capability.DELETE_COMMENT in caps,
        can_restore=Capability.RESTORE_COMMENT in caps,
    )


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


def restore(actor: accounts.Actor, item_id: int) -> ItemView:
    """Undo a deletion: bring the comment back on the network (where it can, VK) and in the inbox."""
    item, adapter, channel = _moderate(actor, item_id, Capability.RESTORE_COMMENT, "restored")
    if item.status != ItemStatus.DELETED:
        return view(item)
    try:
        adapter.restore_comment(channels.access_for(channel.id), item.conversation_remote_id, item.remote_id)
    except errors.NetworkError as exc:
        raise _failure(exc) from exc
    item.status = ItemStatus.ANSWERED if item.outgoing else ItemStatus.NEW
    item.updated_at = clock.now()
    item.save(update_fields=["status", "updated_at"])
    accounts.record(actor.workspace_id, actor, "inbox.restore", "inbox_item", item.pk, item.text[:100])
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
    last = {
        cid: (at, retry_at)
        for cid, at, retry_at in IntakeCursor.objects.values_list("channel_id", "last_polled_at", "retry_at")
    }
    for channel in channels.active_channels(pollable):
        at, retry_at = last.get(channel.id, (None, None))
        if retry_at is not None:  # failing: tried again when its backoff says, not every interval
            if retry_at <= now:
                ids.append(channel.id)
        elif at is None or at < cutoff:
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


@dataclass(frozen=True)
class PostComment:
    """A comment under a post, as a keyword poll counts it (``analytics.polls``)."""

    author: str
    text: str
    at: dt.datetime
    remote_id: str


def post_comments(channel_id: int, target_id: int) -> list[PostComment]:
    """The audience's comments on one published post (not our own replies, not deleted ones),
    oldest first: what a keyword poll is counted from."""
    rows = (
        InboxItem.objects.filter(
            channel_id=channel_id, target_id=target_id, kind=ItemKind.COMMENT, outgoing=False
        )
        .exclude(status=ItemStatus.DELETED)
        .order_by("occurred_at", "id")
        .values_list("author_remote_id", "text", "occurred_at", "remote_id")
    )
    return [PostComment(a, t, at, r) for a, t, at, r in rows]
