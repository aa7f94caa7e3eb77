"""Public actions of the inbox domain: take in what the audience says, answer and moderate it.

Items arrive by webhook (:mod:`rupor.inbox.hooks`) and by polling (:func:`poll_channel`); both
go through :func:`ingest_events`, which stores each (channel, kind, remote id) once. Our own
replies are stored as ``outgoing`` items *before* the network call, with an idempotency key
the network honours where it can (VK ``guid``/``random_id``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils.translation import gettext as _

from rupor.accounts import service as accounts
from rupor.accounts.roles import Perm
from rupor.analytics import service as analytics
from rupor.channels import service as channels
from rupor.core import backoff, clock
from rupor.core.errors import DomainError
from rupor.core.urls import http_url_or_empty
from rupor.inbox.models import InboxItem, IntakeCursor, ItemKind, ItemStatus, Label, SendState
from rupor.networks import errors, registry
from rupor.networks.base import Adapter, Capability, Comment, Event, EventKind, Message, Person
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
                    return self._store_once()
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
        if fresh:
            InboxItem.objects.bulk_create(list(fresh.values()), batch_size=500)
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


#: What each comment event does to its item.
_COMMENT_OPS = {
    EventKind.COMMENT_NEW: _Op.CREATE,
    EventKind.COMMENT_EDIT: _Op.EDIT,
    EventKind.COMMENT_DELETE: _Op.DELETE,
    EventKind.COMMENT_RESTORE: _Op.RESTORE,
}


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
    for event in events:
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
    return new


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
            since = clock.now() - dt.timedelta(days=READ_COMMENTS_DAYS)
            for post in publishing.published_posts(channel_id, since=since)[:100]:
                comments = adapter.read_comments(access, post.remote_id)
                if len(comments) < COMPLETE_LISTING:
                    listed[post.remote_id] = {c.remote_id[:200] for c in comments}
                for c in comments:
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
    #: Only what the audience wrote that still waits for an answer (see WAITING).
    unanswered: bool = False
    label: str | None = None
    #: Complaints and negativity first, then questions, then the rest; newest first within each.
    urgent_first: bool = False


def list_items(workspace_id: int, filters: Filters | None = None) -> QuerySet[InboxItem]:
    """Items of a workspace, newest first."""
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
        qs = qs.filter(outgoing=False, status__in=WAITING)
    if f.label is not None:
        if f.label not in Label.values:
            raise InboxError(
                _("%(value)s is not an inbox label; use one of %(allowed)s.")
                % {"value": repr(f.label), "allowed": ", ".join(Label.values)},
                "label",
                422,
            )
        qs = qs.filter(label=f.label)
    if f.urgent_first:
        qs = qs.annotate(
            urgency=Case(
                *(When(label=label, then=Value(rank)) for label, rank in URGENCY.items()),
                default=Value(len(URGENCY)),
                output_field=IntegerField(),
            )
        ).order_by("urgency", "-occurred_at", "-id")
    return qs


#: The order of attention in the inbox (lower first); every other label, and items triage has not
#: read yet, come after these.
URGENCY: dict[str, int] = {Label.COMPLAINT: 0, Label.NEGATIVE: 1, Label.QUESTION: 2}

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
    is_message = item.kind == ItemKind.MESSAGE
    need = Capability.SEND_MESSAGE if is_message else Capability.REPLY_COMMENT
    if need not in adapter.capabilities:
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
            kind=ItemKind.MESSAGE if is_message else ItemKind.COMMENT,
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
        if is_message:
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
    if item.status in WAITING:
        InboxItem.objects.filter(pk=item.pk, status__in=WAITING).update(
            status=ItemStatus.ANSWERED, updated_at=clock.now()
        )
    accounts.record(actor.workspace_id, actor, "inbox.reply", "inbox_item", item.pk, text[:100])
    return view(InboxItem.objects.select_related("channel").get(pk=done.pk))


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
        item.save(update_fields=["status", "updated_at"])
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
    return view(item)


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
