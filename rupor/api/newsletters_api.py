"""Newsletters: subscriber lists, imports with proof of consent, newsletters, their schedule and
delivery figures. Reading needs newsletters.view (analysts and clients too); drafts need
newsletters.draft (editors and up); lists, imports and sending need newsletters.send (managers)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.responses import Status
from pydantic import Field

from rupor.accounts.roles import Perm
from rupor.api.auth import need as _need
from rupor.api.errors import ERRORS
from rupor.core import clock
from rupor.newsletters import service

router = Router(tags=["newsletters"])


class SubscriberListOut(Schema):
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


class SubscriberListIn(Schema):
    channel_id: int
    name: str = Field(max_length=120)
    key: str = Field(max_length=60, description="For VK's subscription widget and Telegram's /start KEY")
    keyword: str = Field(
        "", max_length=60, description="A message that is exactly this word subscribes its author"
    )
    is_default: bool = False
    quiet_start: int = Field(22, ge=0, le=23, description="Quiet hours start (workspace time)")
    quiet_end: int = Field(9, ge=0, le=23, description="Quiet hours end (workspace time)")


class SubscriberImportIn(Schema):
    csv: str = Field(
        max_length=1_000_000,
        description="Rows of address,consented_at (ISO 8601 with a zone),proof[,tags separated by ;]",
    )


class SubscriberRefusedRow(Schema):
    line: int
    reason: str


class SubscriberImportOut(Schema):
    added: int
    refused: list[SubscriberRefusedRow]


class NewsletterIn(Schema):
    list_id: int
    title: str = Field(max_length=200)
    text: str = Field(max_length=4000, description="The unsubscribe line is added to every message")
    purpose: Literal["useful", "selling"] = "useful"
    segment_id: int | None = None


class NewsletterOut(Schema):
    id: int
    list_id: int
    segment_id: int | None
    title: str
    text: str
    purpose: str
    status: str = Field(description="draft, scheduled, sending, sent or cancelled")
    scheduled_at: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class NewsletterScheduleIn(Schema):
    at: dt.datetime | None = Field(None, description="With a zone; default: now")


class NewsletterStatsOut(Schema):
    recipients: int
    pending: int
    sent: int
    failed: int
    unreachable: int
    unconfirmed: int
    skipped: int
    clicks: int | None = Field(
        description="Clicks by people through the message's tracked links (bots left out); null when "
        "its links are not tracked"
    )
    unique_clicks: int | None = Field(description="Of those, each visitor's first click on a link a day")
    read: int | None = Field(
        description="Messages read, where the network tells a community (VK); null where it does not "
        "(Telegram tells a bot nothing of reads)"
    )
    next_at: dt.datetime | None = Field(description="When the first waiting message is due")
    tracked_links: int = Field(description="How many of the message's links are tracked short links")


def _newsletter(workspace_id: int, newsletter_id: int) -> dict[str, Any]:
    n = service.get_newsletter(workspace_id, newsletter_id)
    return {
        "id": n.pk,
        "list_id": n.list_id,
        "segment_id": n.segment_id,
        "title": n.title,
        "text": n.text,
        "purpose": n.purpose,
        "status": n.status,
        "scheduled_at": n.scheduled_at,
        "started_at": n.started_at,
        "finished_at": n.finished_at,
    }


@router.get(
    "/newsletters/lists", response={200: list[SubscriberListOut], **ERRORS}, summary="Subscriber lists"
)
def list_lists(request: HttpRequest) -> Any:
    who = _need(request, Perm.NEWSLETTERS_VIEW)
    return [dataclasses.asdict(r) for r in service.list_rows(who.workspace_id)]


@router.post(
    "/newsletters/lists", response={201: SubscriberListOut, **ERRORS}, summary="Create a subscriber list"
)
def create_list(request: HttpRequest, payload: SubscriberListIn) -> Any:
    who = _need(request, Perm.NEWSLETTERS_SEND)
    list_id = service.create_list(who, service.ListInput(**payload.dict()))
    return Status(
        201, next(dataclasses.asdict(r) for r in service.list_rows(who.workspace_id) if r.id == list_id)
    )


@router.post(
    "/newsletters/lists/{list_id}/import",
    response={200: SubscriberImportOut, **ERRORS},
    summary="Import subscribers, each with when and how they agreed",
)
def import_subscribers(request: HttpRequest, list_id: int, payload: SubscriberImportIn) -> Any:
    result = service.import_subscribers(_need(request, Perm.NEWSLETTERS_SEND), list_id, payload.csv)
    return {"added": result.added, "refused": [{"line": line, "reason": why} for line, why in result.refused]}


@router.get(
    "/newsletters", response={200: list[NewsletterOut], **ERRORS}, summary="Newsletters, newest first"
)
def list_newsletters(request: HttpRequest) -> Any:
    who = _need(request, Perm.NEWSLETTERS_VIEW)
    return [_newsletter(who.workspace_id, n.pk) for n in service.newsletters(who.workspace_id)[:200]]


@router.post("/newsletters", response={201: NewsletterOut, **ERRORS}, summary="Save a newsletter draft")
def create_newsletter(request: HttpRequest, payload: NewsletterIn) -> Any:
    who = _need(request, Perm.NEWSLETTERS_DRAFT)
    nid = service.create_newsletter(who, service.NewsletterInput(**payload.dict()))
    return Status(201, _newsletter(who.workspace_id, nid))


@router.post(
    "/newsletters/{newsletter_id}/schedule",
    response={200: NewsletterOut, **ERRORS},
    summary="Send it at a time (quiet hours hold each message until they end)",
)
def schedule(request: HttpRequest, newsletter_id: int, payload: NewsletterScheduleIn) -> Any:
    who = _need(request, Perm.NEWSLETTERS_SEND)
    service.schedule(who, newsletter_id, payload.at or clock.now())
    return _newsletter(who.workspace_id, newsletter_id)


@router.post(
    "/newsletters/{newsletter_id}/cancel",
    response={200: NewsletterOut, **ERRORS},
    summary="Stop it: what has not gone out is skipped",
)
def cancel(request: HttpRequest, newsletter_id: int) -> Any:
    who = _need(request, Perm.NEWSLETTERS_SEND)
    service.cancel(who, newsletter_id)
    return _newsletter(who.workspace_id, newsletter_id)


@router.get(
    "/newsletters/{newsletter_id}/stats",
    response={200: NewsletterStatsOut, **ERRORS},
    summary="What became of each message",
)
def stats(request: HttpRequest, newsletter_id: int) -> Any:
    who = _need(request, Perm.NEWSLETTERS_VIEW)
    return dataclasses.asdict(service.stats(who.workspace_id, newsletter_id))
