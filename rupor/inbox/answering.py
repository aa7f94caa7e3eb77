"""Answering the audience as a team: saved replies with variables, replies that wait for an
approver, and internal notes on an item.

The one way a reply reaches a network stays :func:`rupor.inbox.service.reply` (stored first, sent
once under its idempotency key). This module decides *whether* a person's reply goes there now
(:func:`answer`) or waits as a :class:`ReplyDraft` for an approver (decision 0012); an approved
draft is sent through that same path with the draft's own key, so approving twice — even at the
same moment — sends it once.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from rupor.accounts import service as accounts
from rupor.accounts.roles import Perm
from rupor.channels import service as channels
from rupor.core import clock
from rupor.core.errors import DomainError
from rupor.inbox import service as inbox
from rupor.inbox.models import DraftState, InboxItem, InternalNote, ItemKind, ReplyDraft, SavedReply
from rupor.networks import registry
from rupor.notifications import service as notifications

InboxError = inbox.InboxError

#: The variables a saved reply may use, with what each becomes (for people and the API docs).
VARIABLES: dict[str, str] = {
    "first_name": "the author's first name (empty when the network gave no name)",
    "author_name": "the author's name as the network gave it",
    "brand": "the workspace's name",
    "channel": "the channel's name",
}
_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: Stands for an empty value while the text around it is tidied (a private-use character).
_EMPTY = "\ue000"
TITLE_MAX = 100
BODY_MAX = 4000
NOTE_MAX = 5000
REASON_MAX = 500
#: An approval whose sending was cut off (the process died) may be taken again after this long.
STUCK_AFTER = dt.timedelta(minutes=2)


def _require(actor: accounts.Actor, perm: Perm) -> None:
    if not actor.can(perm):
        raise InboxError(_("Your role does not allow this."), status=403)


# -- saved replies -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SavedReplyView:
    id: int
    title: str
    body: str
    updated_at: dt.datetime


def _saved_view(row: SavedReply) -> SavedReplyView:
    return SavedReplyView(row.pk, row.title, row.body, row.updated_at)


def unknown_variables(body: str) -> list[str]:
    """The ``{names}`` in ``body`` that are not :data:`VARIABLES`, in order, once each."""
    seen: list[str] = []
    for name in _VARIABLE.findall(body):
        if name not in VARIABLES and name not in seen:
            seen.append(name)
    return seen


def _clean_saved(title: str, body: str) -> tuple[str, str]:
    title, body = (title or "").strip(), (body or "").strip()
    if not title:
        raise InboxError(_("Give the saved reply a title."), "title", 422)
    if len(title) > TITLE_MAX:
        raise InboxError(_("The title is at most %(n)s characters.") % {"n": TITLE_MAX}, "title", 422)
    if not body:
        raise InboxError(_("Write the reply's text."), "body", 422)
    if len(body) > BODY_MAX:
        raise InboxError(_("The text is at most %(n)s characters.") % {"n": BODY_MAX}, "body", 422)
    unknown = unknown_variables(body)
    if unknown:
        raise InboxError(
            _("Unknown variable %(names)s; use %(known)s.")
            % {
                "names": ", ".join("{" + n + "}" for n in unknown),
                "known": ", ".join("{" + n + "}" for n in VARIABLES),
            },
            "body",
            422,
        )
    return title, body


def saved_replies(workspace_id: int) -> list[SavedReplyView]:
    """The workspace's saved replies, by title."""
    return [_saved_view(r) for r in SavedReply.objects.filter(workspace_id=workspace_id)]


def _saved(workspace_id: int, saved_reply_id: int) -> SavedReply:
    row = SavedReply.objects.filter(workspace_id=workspace_id, pk=saved_reply_id).first()
    if row is None:
        raise InboxError(_("No such saved reply."), status=404)
    return row


def get_saved_reply(workspace_id: int, saved_reply_id: int) -> SavedReplyView:
    return _saved_view(_saved(workspace_id, saved_reply_id))


def _title_taken() -> InboxError:
    return InboxError(_("A saved reply with this title already exists."), "title", 409)


def create_saved_reply(actor: accounts.Actor, title: str, body: str) -> SavedReplyView:
    """Add a saved reply; an unknown ``{variable}`` is refused here, not when it is used."""
    _require(actor, Perm.INBOX_MANAGE)
    title, body = _clean_saved(title, body)
    try:
        with transaction.atomic():
            row = SavedReply.objects.create(
                workspace_id=actor.workspace_id, title=title, body=body, created_by_id=actor.user_id
            )
    except IntegrityError as exc:
        raise _title_taken() from exc
    accounts.record(actor.workspace_id, actor, "inbox.saved_reply.create", "saved_reply", row.pk, title)
    return _saved_view(row)


def update_saved_reply(actor: accounts.Actor, saved_reply_id: int, title: str, body: str) -> SavedReplyView:
    _require(actor, Perm.INBOX_MANAGE)
    row = _saved(actor.workspace_id, saved_reply_id)
    title, body = _clean_saved(title, body)
    if (row.title, row.body) == (title, body):
        return _saved_view(row)
    row.title, row.body, row.updated_at = title, body, clock.now()
    try:
        with transaction.atomic():
            row.save(update_fields=["title", "body", "updated_at"])
    except IntegrityError as exc:
        raise _title_taken() from exc
    accounts.record(actor.workspace_id, actor, "inbox.saved_reply.edit", "saved_reply", row.pk, title)
    return _saved_view(row)


def delete_saved_reply(actor: accounts.Actor, saved_reply_id: int) -> None:
    _require(actor, Perm.INBOX_MANAGE)
    row = _saved(actor.workspace_id, saved_reply_id)
    title = row.title
    row.delete()
    accounts.record(
        actor.workspace_id, actor, "inbox.saved_reply.delete", "saved_reply", saved_reply_id, title
    )


def first_name(author_name: str) -> str:
    """The first word of a name as a network gives it (``"@anna"`` → ``"anna"``); empty if none."""
    words = (author_name or "").strip().lstrip("@").split()
    return words[0] if words else ""


def fill(body: str, values: Mapping[str, str]) -> str:
    """``body`` with each ``{variable}`` replaced in one pass (a value is never read again as a
    template). An empty value takes the space before it with it, so ``"Hi {first_name}, …"``
    reads ``"Hi, …"`` when the author gave no name."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            return match.group(0)
        return values[name] or _EMPTY

    text = _VARIABLE.sub(one, body)
    text = re.sub(f"(?m)^[ \t]*{_EMPTY}[ \t]*[,;:]?[ \t]*", "", text)  # "{first_name}, hi" → "hi"
    text = re.sub(f"[ \t]*{_EMPTY}[ \t]*(?=[,.!?;:])", "", text)
    text = re.sub(f"(?<=\\S)[ \t]+{_EMPTY}", "", text)
    text = re.sub(f"{_EMPTY}[ \t]*", "", text)
    return text.strip()


def variables_for(workspace_id: int, item_id: int) -> dict[str, str]:
    """What each variable is for this item."""
    item = inbox.get_item(workspace_id, item_id)
    channel = channels.find_channel(item.channel_id, removed_too=True)
    return {
        "first_name": first_name(item.author_name),
        "author_name": item.author_name.strip(),
        "brand": accounts.workspace_info(workspace_id).name,
        "channel": channel.name if channel else "",
    }


def render_saved_reply(actor: accounts.Actor, saved_reply_id: int, item_id: int) -> str:
    """The saved reply's text with its variables filled for this item (to edit before sending)."""
    _require(actor, Perm.INBOX_REPLY)
    row = _saved(actor.workspace_id, saved_reply_id)
    return fill(row.body, variables_for(actor.workspace_id, item_id))


# -- internal notes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteView:
    id: int
    item_id: int
    author_id: int | None
    author_label: str
    text: str
    created_at: dt.datetime


def _note_view(n: InternalNote) -> NoteView:
    return NoteView(n.pk, n.item_id, n.author_id, n.author_label, n.text, n.created_at)


def add_note(actor: accounts.Actor, item_id: int, text: str) -> NoteView:
    """Add a note for the team to an item; it never leaves Rupor."""
    _require(actor, Perm.INBOX_VIEW)
    item = inbox.get_item(actor.workspace_id, item_id)
    text = (text or "").strip()
    if not text:
        raise InboxError(_("Write the note."), "text", 422)
    if len(text) > NOTE_MAX:
        raise InboxError(_("A note is at most %(n)s characters.") % {"n": NOTE_MAX}, "text", 422)
    note = InternalNote.objects.create(
        workspace_id=actor.workspace_id,
        item=item,
        author_id=actor.user_id,
        author_label=actor.label[:200],
        text=text,
    )
    accounts.record(actor.workspace_id, actor, "inbox.note", "inbox_item", item.pk, text[:100])
    return _note_view(note)


def notes(workspace_id: int, item_id: int) -> list[NoteView]:
    """The item's notes, oldest first."""
    item = inbox.get_item(workspace_id, item_id)
    return [_note_view(n) for n in InternalNote.objects.filter(workspace_id=workspace_id, item=item)]


# -- replies that wait for approval -------------------------------------------------------------


@dataclass(frozen=True)
class DraftView:
    id: int
    item_id: int
    author_id: int | None
    author_label: str
    text: str
    state: str
    reason: str
    decided_by: str
    decided_at: dt.datetime | None
    reply_item_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


def draft_view(d: ReplyDraft) -> DraftView:
    return DraftView(
        d.pk,
        d.item_id,
        d.author_id,
        d.author_label,
        d.text,
        d.state,
        d.reason,
        d.decided_by,
        d.decided_at,
        d.reply_item_id,
        d.created_at,
        d.updated_at,
    )


@dataclass(frozen=True)
class Answer:
    """What became of a reply: sent (``sent``), or waiting for an approver (``draft``)."""

    sent: inbox.ItemView | None = None
    draft: DraftView | None = None


OPEN = (DraftState.PENDING, DraftState.APPROVING, DraftState.REJECTED)


def _item_link(item_id: int) -> str:
    return reverse("web:inbox_item", args=[item_id])


def answer(actor: accounts.Actor, item_id: int, text: str, *, idempotency_key: str | None = None) -> Answer:
    """A person's reply: sent at once (:func:`inbox.reply`), or, when their replies need approval
    (``accounts.replies_need_approval``), kept as a draft for an approver and nothing is sent."""
    if not accounts.replies_need_approval(actor):
        return Answer(sent=inbox.reply(actor, item_id, text, idempotency_key=idempotency_key))
    return Answer(draft=submit(actor, item_id, text, idempotency_key=idempotency_key))


def submit(
    actor: accounts.Actor, item_id: int, text: str, *, idempotency_key: str | None = None
) -> DraftView:
    """Keep a reply for an approver and tell the approvers. The author's open draft on this item
    (pending or sent back) takes the new text; the same key twice is the same draft."""
    _require(actor, Perm.INBOX_REPLY)
    item = inbox.get_item(actor.workspace_id, item_id)
    text = (text or "").strip()
    if not text:
        raise InboxError(_("Write something to send."), "text", 422)
    if item.outgoing:
        raise InboxError(_("This is the channel's own reply."), status=422)
    key = (idempotency_key or "").strip() or uuid.uuid4().hex
    if len(key) > 64:
        raise InboxError(_("The idempotency key is at most 64 characters."), "idempotency_key", 422)
    _check_length(item, text)
    same = ReplyDraft.objects.filter(idempotency_key=key).first()
    if same is not None:
        if same.workspace_id != actor.workspace_id or same.item_id != item.pk:
            raise InboxError(
                _("This idempotency key was already used for another reply."), "idempotency_key", 409
            )
        if same.state == DraftState.SENT or (same.state == DraftState.PENDING and same.text == text):
            return draft_view(same)  # the same press twice (or once more after it went out)
    with transaction.atomic():
        draft = (
            ReplyDraft.objects.select_for_update()
            .filter(workspace_id=actor.workspace_id, item=item, author_id=actor.user_id, state__in=OPEN)
            .first()
        )
        if draft is not None and draft.state == DraftState.APPROVING:
            raise InboxError(_("An approver is sending your reply right now."), status=409)
        now = clock.now()
        if draft is None:
            draft = ReplyDraft.objects.create(
                workspace_id=actor.workspace_id,
                item=item,
                author_id=actor.user_id,
                author_label=actor.label[:200],
                text=text,
                idempotency_key=key,
            )
        else:
            draft.text, draft.state, draft.reason, draft.updated_at = text, DraftState.PENDING, "", now
            draft.decided_by, draft.decided_at = "", None
            draft.save(update_fields=["text", "state", "reason", "decided_by", "decided_at", "updated_at"])
        accounts.record(actor.workspace_id, actor, "inbox.reply_submitted", "inbox_item", item.pk, text[:100])
        notifications.notify_event(
            actor.workspace_id,
            "inbox_reply_pending",
            _("%(author)s answered %(who)s: “%(text)s”")
            % {
                "author": actor.label,
                "who": item.author_name or item.author_remote_id or _("someone"),
                "text": text[:200],
            },
            channel_id=item.channel_id,
            link=_item_link(item.pk),
            user_ids=accounts.approvers(actor.workspace_id),
        )
    return draft_view(draft)


def _check_length(item: InboxItem, text: str) -> None:
    """Refuse at once a held reply the network would refuse for its length, so the author fixes it
    now rather than after an approver pressed *approve* (``inbox.service.reply`` checks it again,
    with everything else, when it is sent)."""
    channel = channels.find_channel(item.channel_id)
    if channel is None or channel.network not in registry.available():
        return  # reply() explains these when it is sent
    adapter = registry.adapter(channel.network)
    limit = adapter.limits.message_max if item.kind == ItemKind.MESSAGE else adapter.limits.comment_max
    if limit and adapter.text_length(text) > limit:
        raise InboxError(
            _("The reply is too long for %(network)s (%(limit)s at most).")
            % {"network": adapter.display_name, "limit": limit},
            "text",
            422,
        )


def drafts(
    workspace_id: int, *, item_id: int | None = None, state: str | None = None
) -> QuerySet[ReplyDraft]:
    """Reply drafts of a workspace (or of one item), oldest first."""
    if state is not None and state not in DraftState.values:
        raise InboxError(
            _("%(value)s is not a draft state; use one of %(allowed)s.")
            % {"value": repr(state), "allowed": ", ".join(DraftState.values)},
            "state",
            422,
        )
    qs = ReplyDraft.objects.filter(workspace_id=workspace_id)
    if item_id is not None:
        qs = qs.filter(item_id=inbox.get_item(workspace_id, item_id).pk)
    if state:
        qs = qs.filter(state=state)
    return qs


def pending_count(workspace_id: int, item_id: int) -> int:
    """How many replies to this item wait for an approver."""
    return ReplyDraft.objects.filter(
        workspace_id=workspace_id, item_id=item_id, state__in=(DraftState.PENDING, DraftState.APPROVING)
    ).count()


def awaiting_approval(workspace_id: int, item_ids: Iterable[int]) -> set[int]:
    """Which of these items have a reply waiting for an approver (for a list to mark them)."""
    return set(
        ReplyDraft.objects.filter(
            workspace_id=workspace_id,
            item_id__in=list(item_ids),
            state__in=(DraftState.PENDING, DraftState.APPROVING),
        ).values_list("item_id", flat=True)
    )


def _draft(workspace_id: int, draft_id: int) -> ReplyDraft:
    draft = ReplyDraft.objects.filter(workspace_id=workspace_id, pk=draft_id).first()
    if draft is None:
        raise InboxError(_("No such reply awaiting approval."), status=404)
    return draft


def get_draft(workspace_id: int, draft_id: int) -> DraftView:
    return draft_view(_draft(workspace_id, draft_id))


def _not_open(draft: ReplyDraft) -> InboxError:
    if draft.state == DraftState.APPROVING:
        return InboxError(_("Another approver is sending this reply right now."), status=409)
    return InboxError(
        _("This reply was sent back to its author; it waits for their new version."), status=409
    )


def approve(actor: accounts.Actor, draft_id: int, *, text: str | None = None) -> DraftView:
    """Approve a reply (with the approver's edits, if ``text`` is given) and send it, once.

    The draft is taken by one conditional update, so of two approvers pressing at the same moment
    one sends and the other is told; approving a sent draft again returns it. If the network
    refuses, the draft waits again and the next approval sends under the same key."""
    _require(actor, Perm.INBOX_APPROVE)
    draft = _draft(actor.workspace_id, draft_id)
    if draft.state == DraftState.SENT:
        return draft_view(draft)
    new_text = draft.text if text is None else text.strip()
    if not new_text:
        raise InboxError(_("Write something to send."), "text", 422)
    now = clock.now()
    takeable = Q(state=DraftState.PENDING) | Q(state=DraftState.APPROVING, updated_at__lt=now - STUCK_AFTER)
    taken = (
        ReplyDraft.objects.filter(takeable, pk=draft.pk)
        .filter(state=draft.state)
        .update(state=DraftState.APPROVING, text=new_text, updated_at=now)
    )
    if not taken:
        draft.refresh_from_db()
        if draft.state == DraftState.SENT:
            return draft_view(draft)
        raise _not_open(draft)
    edited = new_text != draft.text
    try:
        sent = inbox.reply(actor, draft.item_id, new_text, idempotency_key=draft.idempotency_key)
    except DomainError:  # refused (the network, the channel): it waits again, under the same key
        ReplyDraft.objects.filter(pk=draft.pk, state=DraftState.APPROVING).update(
            state=DraftState.PENDING, updated_at=clock.now()
        )
        raise
    InboxItem.objects.filter(pk=sent.id).update(replied_by=draft.author_label)
    ReplyDraft.objects.filter(pk=draft.pk).update(
        state=DraftState.SENT,
        reply_item_id=sent.id,
        decided_by=actor.label[:200],
        decided_at=clock.now(),
        updated_at=clock.now(),
    )
    summary = f"by {draft.author_label}{' (edited)' if edited else ''}: {new_text}"
    accounts.record(
        actor.workspace_id, actor, "inbox.reply_approved", "inbox_item", draft.item_id, summary[:100]
    )
    draft.refresh_from_db()
    return draft_view(draft)


def reject(actor: accounts.Actor, draft_id: int, reason: str) -> DraftView:
    """Send a reply back to its author with a reason; the text stays for them to edit."""
    _require(actor, Perm.INBOX_APPROVE)
    reason = (reason or "").strip()
    if not reason:
        raise InboxError(_("Say why, so the author knows what to change."), "reason", 422)
    if len(reason) > REASON_MAX:
        raise InboxError(_("The reason is at most %(n)s characters.") % {"n": REASON_MAX}, "reason", 422)
    draft = _draft(actor.workspace_id, draft_id)
    if draft.state == DraftState.SENT:
        raise InboxError(_("This reply was already approved and sent."), status=409)
    with transaction.atomic():
        rejected = ReplyDraft.objects.filter(pk=draft.pk, state=DraftState.PENDING).update(
            state=DraftState.REJECTED,
            reason=reason,
            decided_by=actor.label[:200],
            decided_at=clock.now(),
            updated_at=clock.now(),
        )
        if not rejected:
            draft.refresh_from_db()
            if draft.state == DraftState.SENT:
                raise InboxError(_("This reply was already approved and sent."), status=409)
            raise _not_open(draft)
        accounts.record(
            actor.workspace_id, actor, "inbox.reply_rejected", "inbox_item", draft.item_id, reason[:100]
        )
        notifications.notify_event(
            actor.workspace_id,
            "inbox_reply_rejected",
            _("%(approver)s sent your reply back: %(reason)s") % {"approver": actor.label, "reason": reason},
            channel_id=draft.item.channel_id,
            link=_item_link(draft.item_id),
            user_ids=[draft.author_id] if draft.author_id else [],
        )
    draft.refresh_from_db()
    return draft_view(draft)
