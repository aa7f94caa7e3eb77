"""Public actions of the inbox domain: take in what the audience says, answer and moderate it.

Items arrive by webhook (:mod:`rupor.inbox.hooks`) and by polling (:func:`poll_channel`); both
go through :func:`ingest_events`, which stores each (channel, kind, remote id) once. Our own
replies are stored as ``outgoing`` items *before* the network call, with an idempotency key
the network honours where it can (VK ``guid``/``random_id``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
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
from rupor.core import clock
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
    for event in events:
        if (
            event.kind in (EventKind.COMMENT_NEW, EventKind.COMMENT_EDIT, EventKind.COMMENT_DELETE)
            and event.comment
        ):
            c = event.comment
            if not c.post_remote_id and event.post_remote_id:
                c = dataclasses.replace(c, post_remote_id=event.post_remote_id)
            deleted = event.kind == EventKind.COMMENT_DELETE
            new += _upsert(
                channel,
                ItemKind.COMMENT,
                c.remote_id[:200],
                _comment_values(channel, c, deleted=deleted),
                edit=event.kind == EventKind.COMMENT_EDIT,
                posts=posts,
            )
        elif event.kind == EventKind.MESSAGE_NEW and event.message:
            new += _upsert(
                channel,
                ItemKind.MESSAGE,
                event.message.remote_id[:200],
                _message_values(event.message),
                edit=False,
                posts=posts,
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
    if accounts.replies_need_approval(actor):  # they answer through answering.answer (decision 0011)
        raise InboxError(_("Your replies wait for an approver; nothing was sent."), status=403)
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
    last = dict(IntakeCursor.objects.values_list("channel_id", "last_polled_at"))
    for channel in channels.active_channels(pollable):
        at = last.get(channel.id)
        if at is None or at < cutoff:
            ids.append(channel.id)
    return ids
