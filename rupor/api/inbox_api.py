"""Inbox endpoints: list what the audience said, answer it, moderate it, poll a channel now,
and the webhook URL to configure on a network."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.responses import Status
from pydantic import Field

from rupor.accounts.roles import Perm
from rupor.api.auth import need as _need
from rupor.api.errors import ERRORS
from rupor.channels import service as channels
from rupor.inbox import answering, hooks
from rupor.inbox import service as inbox

router = Router(tags=["inbox"])


class ItemOut(Schema):
    id: int
    channel_id: int
    network: str
    kind: str
    remote_id: str
    conversation_remote_id: str = Field(
        description="The post a comment belongs to, or the conversation of a message"
    )
    post_id: int | None = Field(description="The Rupor post, when the commented post was published by Rupor")
    parent_remote_id: str
    author_remote_id: str
    author_name: str
    author_url: str
    text: str
    occurred_at: dt.datetime
    status: str
    outgoing: bool = Field(description="True for the channel's own replies")
    send_state: str = Field(description="Own replies: sending, sent, or unknown (the network did not answer)")
    assigned_to_id: int | None
    label: str = Field(
        description="Triage: complaint, negative, question, praise, spam or neutral; empty until read"
    )
    negativity: float | None = Field(description="0.0-1.0 as triage read it; null until read")
    language: str = Field(
        description="The language triage detected (ISO 639-1, 'und' unknown); empty until read"
    )


class InboxFilters(Schema):
    status: Literal["new", "in_progress", "done", "answered", "hidden", "deleted"] | None = None
    channel_id: int | None = None
    kind: Literal["comment", "message", "mention"] | None = None
    post_id: int | None = None
    label: Literal["complaint", "negative", "question", "praise", "spam", "neutral"] | None = None
    sort: Literal["urgent", "newest"] = Field(
        "newest",
        description="urgent: complaints and negativity first, then questions, newest first within each",
    )
    limit: int = Field(200, ge=1, le=1000)


class ReplyIn(Schema):
    text: str = Field(..., min_length=1, max_length=20000)
    idempotency_key: str | None = Field(
        None,
        max_length=64,
        description="Send the same key when retrying a request whose answer you did not get: the reply is sent once.",
    )


class BanIn(Schema):
    reason: str = Field("", max_length=200)


class PollOut(Schema):
    channel_id: int
    new_items: int
    events: int


class HookOut(Schema):
    channel_id: int
    network: str
    url: str
    note: str


def _out(item: inbox.ItemView) -> dict[str, Any]:
    return dataclasses.asdict(item)


@router.get("/inbox", response={200: list[ItemOut], **ERRORS}, summary="Comments and messages, newest first")
def list_inbox(request: HttpRequest, filters: Query[InboxFilters]) -> Any:
    who = _need(request, Perm.INBOX_VIEW)
    f = inbox.Filters(
        status=filters.status,
        channel_id=filters.channel_id,
        kind=filters.kind,
        post_id=filters.post_id,
        label=filters.label,
        urgent_first=filters.sort == "urgent",
    )
    items = inbox.list_items(who.workspace_id, f)
    return [_out(inbox.view(i)) for i in items[: filters.limit]]


class DraftOut(Schema):
    id: int
    item_id: int
    author_id: int | None
    author_label: str
    text: str
    state: str = Field(
        description="pending, approving (being sent), sent, or rejected (sent back to the author)"
    )
    reason: str = Field(description="Why an approver sent it back")
    decided_by: str
    decided_at: dt.datetime | None
    reply_item_id: int | None = Field(description="The channel's reply (an inbox item) once sent")
    created_at: dt.datetime
    updated_at: dt.datetime


@router.post(
    "/inbox/{item_id}/reply",
    response={201: ItemOut, 202: DraftOut, **ERRORS},
    summary="Answer a comment or message as the channel",
    description="201: sent. 202: the caller's replies need approval, so nothing was sent: the reply "
    "waits for an approver (see /inbox/drafts).",
)
def reply(request: HttpRequest, item_id: int, payload: ReplyIn) -> Any:
    who = _need(request, Perm.INBOX_REPLY)
    done = answering.answer(who, item_id, payload.text, idempotency_key=payload.idempotency_key)
    if done.draft is not None:
        return Status(202, dataclasses.asdict(done.draft))
    assert done.sent is not None  # answer() returns one or the other
    return Status(201, _out(done.sent))


class DraftFilters(Schema):
    state: Literal["pending", "approving", "sent", "rejected"] | None = None
    item_id: int | None = None


@router.get(
    "/inbox/drafts",
    response={200: list[DraftOut], **ERRORS},
    summary="Replies awaiting approval (and decided)",
)
def list_drafts(request: HttpRequest, filters: Query[DraftFilters]) -> Any:
    who = _need(request, Perm.INBOX_VIEW)
    rows = answering.drafts(who.workspace_id, item_id=filters.item_id, state=filters.state)
    return [dataclasses.asdict(answering.draft_view(d)) for d in rows[:500]]


class ApproveIn(Schema):
    text: str | None = Field(None, max_length=20000, description="The approver's edit; omitted: as written")


class RejectIn(Schema):
    reason: str = Field(..., min_length=1, max_length=500)


@router.post(
    "/inbox/drafts/{draft_id}/approve",
    response={200: DraftOut, **ERRORS},
    summary="Approve a reply and send it (once, however often this is called)",
)
def approve_draft(request: HttpRequest, draft_id: int, payload: ApproveIn | None = None) -> Any:
    who = _need(request, Perm.INBOX_APPROVE)
    return dataclasses.asdict(answering.approve(who, draft_id, text=payload.text if payload else None))


@router.post(
    "/inbox/drafts/{draft_id}/reject",
    response={200: DraftOut, **ERRORS},
    summary="Send a reply back to its author with a reason",
)
def reject_draft(request: HttpRequest, draft_id: int, payload: RejectIn) -> Any:
    who = _need(request, Perm.INBOX_APPROVE)
    return dataclasses.asdict(answering.reject(who, draft_id, payload.reason))


class SavedReplyIn(Schema):
    title: str = Field(..., max_length=100)
    body: str = Field(
        ...,
        max_length=4000,
        description="May use {first_name}, {author_name}, {brand} (the workspace) and {channel}; any other "
        "{variable} is refused",
    )


class SavedReplyOut(Schema):
    id: int
    title: str
    body: str
    updated_at: dt.datetime


class RenderedOut(Schema):
    saved_reply_id: int
    item_id: int
    text: str = Field(description="The saved reply with its variables filled for the item")


@router.get("/inbox/saved-replies", response={200: list[SavedReplyOut], **ERRORS}, summary="Saved replies")
def list_saved_replies(request: HttpRequest) -> Any:
    who = _need(request, Perm.INBOX_VIEW)
    return [dataclasses.asdict(r) for r in answering.saved_replies(who.workspace_id)]


@router.post("/inbox/saved-replies", response={201: SavedReplyOut, **ERRORS}, summary="Add a saved reply")
def create_saved_reply(request: HttpRequest, payload: SavedReplyIn) -> Any:
    who = _need(request, Perm.INBOX_MANAGE)
    return Status(201, dataclasses.asdict(answering.create_saved_reply(who, payload.title, payload.body)))


@router.put(
    "/inbox/saved-replies/{saved_reply_id}",
    response={200: SavedReplyOut, **ERRORS},
    summary="Edit a saved reply",
)
def update_saved_reply(request: HttpRequest, saved_reply_id: int, payload: SavedReplyIn) -> Any:
    who = _need(request, Perm.INBOX_MANAGE)
    return dataclasses.asdict(answering.update_saved_reply(who, saved_reply_id, payload.title, payload.body))


@router.delete(
    "/inbox/saved-replies/{saved_reply_id}", response={204: None, **ERRORS}, summary="Delete a saved reply"
)
def delete_saved_reply(request: HttpRequest, saved_reply_id: int) -> Any:
    who = _need(request, Perm.INBOX_MANAGE)
    answering.delete_saved_reply(who, saved_reply_id)
    return Status(204, None)


@router.get(
    "/inbox/{item_id}/saved-replies/{saved_reply_id}",
    response={200: RenderedOut, **ERRORS},
    summary="A saved reply with its variables filled for an item (to edit, then send with /reply)",
)
def render_saved_reply(request: HttpRequest, item_id: int, saved_reply_id: int) -> Any:
    who = _need(request, Perm.INBOX_REPLY)
    text = answering.render_saved_reply(who, saved_reply_id, item_id)
    return {"saved_reply_id": saved_reply_id, "item_id": item_id, "text": text}


class NoteIn(Schema):
    text: str = Field(..., min_length=1, max_length=5000)


class NoteOut(Schema):
    id: int
    item_id: int
    author_id: int | None
    author_label: str
    text: str
    created_at: dt.datetime


@router.get(
    "/inbox/{item_id}/notes",
    response={200: list[NoteOut], **ERRORS},
    summary="The team's internal notes on an item, oldest first",
)
def list_notes(request: HttpRequest, item_id: int) -> Any:
    who = _need(request, Perm.INBOX_VIEW)
    return [dataclasses.asdict(n) for n in answering.notes(who.workspace_id, item_id)]


@router.post(
    "/inbox/{item_id}/notes",
    response={201: NoteOut, **ERRORS},
    summary="Add an internal note (seen by the team only, never sent to a network)",
)
def add_note(request: HttpRequest, item_id: int, payload: NoteIn) -> Any:
    who = _need(request, Perm.INBOX_VIEW)
    return Status(201, dataclasses.asdict(answering.add_note(who, item_id, payload.text)))


@router.post(
    "/inbox/{item_id}/hide",
    response={200: ItemOut, **ERRORS},
    summary="Hide a comment (where the network allows)",
)
def hide(request: HttpRequest, item_id: int) -> Any:
    who = _need(request, Perm.INBOX_REPLY)
    return _out(inbox.hide(who, item_id))


@router.post(
    "/inbox/{item_id}/delete", response={200: ItemOut, **ERRORS}, summary="Delete a comment on the network"
)
def delete(request: HttpRequest, item_id: int) -> Any:
    who = _need(request, Perm.INBOX_REPLY)
    return _out(inbox.delete(who, item_id))


@router.post(
    "/inbox/{item_id}/ban", response={200: ItemOut, **ERRORS}, summary="Ban the author from the channel"
)
def ban(request: HttpRequest, item_id: int, payload: BanIn | None = None) -> Any:
    who = _need(request, Perm.INBOX_REPLY)
    return _out(inbox.ban(who, item_id, reason=payload.reason if payload else ""))


@router.post(
    "/channels/{channel_id}/poll",
    response={200: PollOut, **ERRORS},
    summary="Check the channel for new comments and messages now",
)
def poll(request: HttpRequest, channel_id: int) -> Any:
    who = _need(request, Perm.INBOX_VIEW)
    return dataclasses.asdict(inbox.poll_now(who, channel_id))


@router.get(
    "/channels/{channel_id}/hook",
    response={200: HookOut, **ERRORS},
    summary="The webhook URL to configure on the network (admins)",
)
def hook(request: HttpRequest, channel_id: int) -> Any:
    who = _need(request, Perm.CHANNELS_MANAGE)
    channel = channels.get_channel(who.workspace_id, channel_id)
    notes = {
        "vk": "In the community: Manage → Working with API → Callback API. Paste this URL, put the confirmation "
        "string and the secret key into the channel's credentials, and tick the events to receive.",
        "telegram": "Rupor sets it with setWebhook (with the channel's webhook secret); a webhook replaces getUpdates polling.",
    }
    return {
        "channel_id": channel.pk,
        "network": channel.network,
        "url": hooks.hook_url(channel),
        "note": notes.get(channel.network, "Give this URL to the network as the address for its events."),
    }
