"""Inbox endpoints: list what the audience said, answer it, moderate it, poll a channel now,
and the webhook URL to configure on a network."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from ninja.responses import Status
from pydantic import Field

from rupor.accounts.roles import Perm
from rupor.api.auth import actor as _actor
from rupor.api.auth import need as _need
from rupor.api.errors import ERRORS
from rupor.api.schemas import NETWORK_KEYS
from rupor.channels import service as channels
from rupor.inbox import answering, hooks, monitoring
from rupor.inbox import service as inbox
from rupor.networks import registry

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
    author_avatar_url: str = Field(
        description="The author's picture where the network gives one (VK, OK; Telegram: none); empty until looked up"
    )
    author_followers: int | None = Field(
        description="The author's followers (reach): VK people and communities; null where the network does not say (Telegram, OK)"
    )
    priority: float = Field(
        description="How much the item needs a person now: label, the author's reach, time waited (0 to about 85)"
    )

    mention: MentionOut | None = Field(None, description="Mentions only: where it came from")


class MentionOut(Schema):
    source: str = Field(description="mention (addressed to the channel), keyword (a group chat) or search")
    phrase: str = Field(description="The monitored keyword it matched, if any")
    url: str = Field(description="The post or message on the network, when it has an address")


class LatestItemOut(Schema):
    id: int
    kind: str
    text: str
    occurred_at: dt.datetime


class PersonOut(Schema):
    network: str
    remote_id: str = Field(description="The person's id on the network")
    name: str
    url: str = Field(description="Their profile on the network")
    avatar_url: str
    followers: int | None = Field(description="Their followers where the network says (VK); null otherwise")
    items: int = Field(description="What they wrote in the period")
    posts: int = Field(description="Distinct posts they commented on")
    replies_received: int = Field(description="Comments of others that answer theirs")
    repliers: int = Field(description="Distinct people who answered them")
    influence: float = Field(description="PageRank over the reply graph, relative to the top person (0-1)")
    score: float = Field(description="0-100: 40% influence, 30% activity, 20% replies received, 10% reach")
    last_at: dt.datetime
    latest: list[LatestItemOut]


class PeopleFilters(Schema):
    days: int = Field(30, ge=1, le=3650, description="The period: the last this many days")
    channel_id: int | None = None
    network: NETWORK_KEYS | None = None
    limit: int = Field(50, ge=1, le=500)


class InboxFilters(Schema):
    status: Literal["new", "in_progress", "done", "answered", "hidden", "deleted"] | None = None
    channel_id: int | None = None
    kind: Literal["comment", "message", "mention"] | None = None
    post_id: int | None = None
    label: Literal["complaint", "negative", "question", "praise", "spam", "neutral"] | None = None
    unanswered: bool = Field(
        False,
        description="Only what still waits for an answer and no reply of ours answers; with label=question: the unanswered questions",
    )
    sort: Literal["urgent", "newest"] = Field(
        "newest",
        description="urgent: highest priority first (label, the author's reach, time waited), then newest",
    )
    limit: int = Field(200, ge=1, le=1000)
    network: str | None = Field(
        None, max_length=40, description="Only this network's channels (vk, telegram, ok)"
    )
    assigned_to_id: int | None = Field(None, description="Only items given to this member (user id)")
    unassigned: bool = Field(False, description="Only items given to nobody")
    date_from: dt.date | None = Field(
        None,
        alias="from",
        description="Only items from this day on, in the workspace's time zone (YYYY-MM-DD)",
    )
    date_to: dt.date | None = Field(
        None, alias="to", description="Only items up to this day, included, in the workspace's time zone"
    )
    after: str = Field(
        "",
        max_length=200,
        description="The cursor of the next page (the Link header's rel=next gives the whole address)",
    )


class SavedViewOut(Schema):
    id: int
    name: str
    shared: bool = Field(description="Seen by the whole workspace")
    owner_id: int | None
    filters: dict[str, str] = Field(
        description="The list's filters: channel, network, status, assignee, label, mine, unanswered, sort, from, to"
    )
    mine: bool = Field(description="Saved by the caller")


class SavedViewIn(Schema):
    name: str = Field(..., min_length=1, max_length=80)
    shared: bool = False
    filters: dict[str, str] = Field(default_factory=dict)


class RenameIn(Schema):
    name: str = Field(..., min_length=1, max_length=80)


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


def _out(item: inbox.ItemView, mentions: dict[int, monitoring.MentionView] | None = None) -> dict[str, Any]:
    out = dataclasses.asdict(item)
    if item.kind == "mention":
        found = (mentions if mentions is not None else monitoring.mention_details([item.id])).get(item.id)
        out["mention"] = dataclasses.asdict(found) if found else None
    return out


@router.get(
    "/inbox",
    response={200: list[ItemOut], **ERRORS},
    summary="Comments and messages, newest first",
    description="Pages by cursor: when more items follow, the `Link` header holds the next page's "
    'address (`<…>; rel="next"`) and `X-Next-Cursor` its cursor. Pages are keyed on the order, so items '
    "arriving meanwhile neither repeat nor skip one.",
)
def list_inbox(request: HttpRequest, response: HttpResponse, filters: Query[InboxFilters]) -> Any:
    who = _need(request, Perm.INBOX_VIEW)
    start, end = inbox.day_bounds(who.workspace_id, filters.date_from, filters.date_to)
    if filters.network is not None and filters.network not in registry.DISPLAY_NAMES:
        raise inbox.InboxError(
            f"{filters.network!r} is not a network; use one of {', '.join(registry.DISPLAY_NAMES)}.",
            "network",
            422,
        )
    f = inbox.Filters(
        status=filters.status,
        channel_id=filters.channel_id,
        kind=filters.kind,
        post_id=filters.post_id,
        label=filters.label,
        unanswered=filters.unanswered,
        urgent_first=filters.sort == "urgent",
        network=filters.network,
        assigned_to_id=filters.assigned_to_id,
        unassigned=filters.unassigned,
        occurred_from=start,
        occurred_before=end,
    )
    page = inbox.page_items(who.workspace_id, f, after=filters.after, limit=filters.limit)
    if page.next_cursor:
        query = request.GET.copy()
        query["after"] = page.next_cursor
        response["Link"] = f'<{request.path}?{query.urlencode()}>; rel="next"'
        response["X-Next-Cursor"] = page.next_cursor
    mentions = monitoring.mention_details([i.pk for i in page.items if i.kind == "mention"])
    return [_out(inbox.view(i), mentions) for i in page.items]


class BulkIn(Schema):
    ids: list[int] = Field(..., max_length=500, description="The items to change (at least one)")
    action: Literal["status", "assign", "done"]
    status: Literal["new", "in_progress", "done"] | None = Field(None, description="With action=status")
    assigned_to_id: int | None = Field(
        None, description="With action=assign: a member's user id, or null for nobody"
    )


class BulkFailureOut(Schema):
    id: int
    message: str
    status: int = Field(description="The HTTP status the item alone would have been refused with")


class BulkOut(Schema):
    done: list[int]
    failed: list[BulkFailureOut]


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
    "/inbox/bulk",
    response={200: BulkOut, **ERRORS},
    summary="Set the status of, assign, or mark done many items at once",
    description="Each item is checked and recorded as if changed alone; those that cannot be changed "
    "are listed in `failed` with the reason, and the others are changed all the same.",
)
def bulk(request: HttpRequest, payload: BulkIn) -> Any:
    who = _need(request, Perm.INBOX_REPLY)
    result = inbox.bulk_apply(
        who, payload.ids, payload.action, status=payload.status or "", user_id=payload.assigned_to_id
    )
    return {
        "done": result.done,
        "failed": [{"id": f.item_id, "message": f.message, "status": f.status} for f in result.failed],
    }


class StatusIn(Schema):
    status: Literal["new", "in_progress", "done"]


class AssignIn(Schema):
    assigned_to_id: int | None = Field(..., description="A member's user id, or null for nobody")


@router.get("/inbox/views", response={200: list[SavedViewOut], **ERRORS}, summary="Saved inbox views")
def list_views(request: HttpRequest) -> Any:
    who = _need(request, Perm.INBOX_VIEW)
    return [dataclasses.asdict(v) for v in inbox.saved_views(who)]


@router.post(
    "/inbox/views",
    response={201: SavedViewOut, **ERRORS},
    summary="Save filters under a name (shared with the workspace: managers and above)",
)
def create_view(request: HttpRequest, payload: SavedViewIn) -> Any:
    who = _need(request, Perm.INBOX_VIEW)
    return Status(
        201, dataclasses.asdict(inbox.save_view(who, payload.name, payload.filters, shared=payload.shared))
    )


@router.get("/inbox/views/{int:view_id}", response={200: SavedViewOut, **ERRORS}, summary="One saved view")
def get_view(request: HttpRequest, view_id: int) -> Any:
    who = _need(request, Perm.INBOX_VIEW)
    return dataclasses.asdict(inbox.get_view(who, view_id))


@router.patch(
    "/inbox/views/{int:view_id}", response={200: SavedViewOut, **ERRORS}, summary="Rename a saved view"
)
def rename_view(request: HttpRequest, view_id: int, payload: RenameIn) -> Any:
    who = _actor(request)  # the service checks: one's own view, or a shared one for managers and above
    return dataclasses.asdict(inbox.rename_view(who, view_id, payload.name))


@router.delete("/inbox/views/{int:view_id}", response={204: None, **ERRORS}, summary="Delete a saved view")
def delete_view(request: HttpRequest, view_id: int) -> Any:
    who = _actor(request)  # the service checks: one's own view, or a shared one for managers and above
    inbox.delete_view(who, view_id)
    return Status(204, None)


@router.get("/inbox/{int:item_id}", response={200: ItemOut, **ERRORS}, summary="One item")
def get_item(request: HttpRequest, item_id: int) -> Any:
    who = _need(request, Perm.INBOX_VIEW)
    return _out(inbox.view(inbox.get_item(who.workspace_id, item_id)))


@router.post(
    "/inbox/{int:item_id}/status", response={200: ItemOut, **ERRORS}, summary="Set where the team stands"
)
def set_status(request: HttpRequest, item_id: int, payload: StatusIn) -> Any:
    who = _need(request, Perm.INBOX_REPLY)
    return _out(inbox.set_status(who, item_id, payload.status))


@router.post(
    "/inbox/{int:item_id}/assign",
    response={200: ItemOut, **ERRORS},
    summary="Give the item to a member (null: to nobody); they are notified",
)
def assign(request: HttpRequest, item_id: int, payload: AssignIn) -> Any:
    who = _need(request, Perm.INBOX_REPLY)
    return _out(inbox.assign(who, item_id, payload.assigned_to_id))


@router.get(
    "/inbox/people",
    response={200: list[PersonOut], **ERRORS},
    summary="Opinion leaders: the audience ranked by engagement and the replies they draw",
)
def people(request: HttpRequest, filters: Query[PeopleFilters]) -> Any:
    who = _need(request, Perm.INBOX_VIEW)
    found = inbox.opinion_leaders(
        who, days=filters.days, channel_id=filters.channel_id, network=filters.network, limit=filters.limit
    )
    return [dataclasses.asdict(p) for p in found]


@router.post(
    "/inbox/{int:item_id}/reply",
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
    "/inbox/{int:item_id}/saved-replies/{saved_reply_id}",
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
    "/inbox/{int:item_id}/notes",
    response={200: list[NoteOut], **ERRORS},
    summary="The team's internal notes on an item, oldest first",
)
def list_notes(request: HttpRequest, item_id: int) -> Any:
    who = _need(request, Perm.INBOX_VIEW)
    return [dataclasses.asdict(n) for n in answering.notes(who.workspace_id, item_id)]


@router.post(
    "/inbox/{int:item_id}/notes",
    response={201: NoteOut, **ERRORS},
    summary="Add an internal note (seen by the team only, never sent to a network)",
)
def add_note(request: HttpRequest, item_id: int, payload: NoteIn) -> Any:
    who = _need(request, Perm.INBOX_VIEW)
    return Status(201, dataclasses.asdict(answering.add_note(who, item_id, payload.text)))


@router.post(
    "/inbox/{int:item_id}/hide",
    response={200: ItemOut, **ERRORS},
    summary="Hide a comment (where the network allows)",
)
def hide(request: HttpRequest, item_id: int) -> Any:
    who = _need(request, Perm.INBOX_REPLY)
    return _out(inbox.hide(who, item_id))


@router.post(
    "/inbox/{int:item_id}/delete",
    response={200: ItemOut, **ERRORS},
    summary="Delete a comment on the network",
)
def delete(request: HttpRequest, item_id: int) -> Any:
    who = _need(request, Perm.INBOX_REPLY)
    return _out(inbox.delete(who, item_id))


@router.post(
    "/inbox/{int:item_id}/restore",
    response={200: ItemOut, **ERRORS},
    summary="Undo deleting a comment (where the network allows: VK)",
)
def restore(request: HttpRequest, item_id: int) -> Any:
    who = _need(request, Perm.INBOX_REPLY)
    return _out(inbox.restore(who, item_id))


@router.post(
    "/inbox/{int:item_id}/ban", response={200: ItemOut, **ERRORS}, summary="Ban the author from the channel"
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
