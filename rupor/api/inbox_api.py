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
from rupor.inbox import hooks
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


@router.post(
    "/inbox/{item_id}/reply",
    response={201: ItemOut, **ERRORS},
    summary="Answer a comment or message as the channel",
)
def reply(request: HttpRequest, item_id: int, payload: ReplyIn) -> Any:
    who = _need(request, Perm.INBOX_REPLY)
    return Status(201, _out(inbox.reply(who, item_id, payload.text, idempotency_key=payload.idempotency_key)))


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
    "/inbox/{item_id}/restore",
    response={200: ItemOut, **ERRORS},
    summary="Undo deleting a comment (where the network allows: VK)",
)
def restore(request: HttpRequest, item_id: int) -> Any:
    who = _need(request, Perm.INBOX_REPLY)
    return _out(inbox.restore(who, item_id))


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
