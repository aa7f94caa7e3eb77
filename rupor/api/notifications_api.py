"""In-app notifications (list, mark read) and outgoing notification webhooks: list, register (the
secret is returned once), delete, test."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.responses import Status
from pydantic import Field

from rupor.accounts.roles import Perm
from rupor.accounts.service import Actor
from rupor.api.auth import need as _need
from rupor.api.errors import ERRORS, ApiError
from rupor.notifications import service as notifications

router = Router(tags=["webhooks"])


class WebhookIn(Schema):
    url: str = Field(..., max_length=500, description="An absolute http(s) address Rupor may call.")
    description: str = Field("", max_length=200)
    events: list[str] = Field(
        default_factory=list,
        max_length=len(notifications.EVENTS),
        description="Events to send: " + ", ".join(notifications.EVENTS) + ". Empty: every event.",
    )


class NotificationFilters(Schema):
    unread_only: bool = Field(False, description="Only the notifications not read yet.")
    limit: int = Field(50, ge=1, le=200)


class NotificationOut(Schema):
    id: int
    kind: str = Field(..., description="The event: " + ", ".join(notifications.EVENTS) + ", or another.")
    title: str
    body: str
    link: str = Field(..., description="A path in the web app (blank: none).")
    target_id: int | None
    created_at: dt.datetime
    read: bool


class NotificationsOut(Schema):
    unread: int = Field(..., description="How many of the caller's notifications are unread.")
    items: list[NotificationOut]


class ReadIn(Schema):
    ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] | None = Field(
        None, max_length=500, description="Mark these notifications read."
    )
    all: bool = Field(False, description="Mark every unread notification read.")


class ReadOut(Schema):
    marked: int = Field(..., description="How many notifications were unread and are now read.")
    unread: int


@router.get(
    "/notifications",
    response={200: NotificationsOut, **ERRORS},
    tags=["notifications"],
    summary="The caller's in-app notifications, newest first",
    description="A person's own notifications; an API key with no person behind it gets the "
    "workspace-wide ones (those addressed to nobody in particular).",
)
def list_notifications(request: HttpRequest, filters: Query[NotificationFilters]) -> Any:
    who = _need(request, Perm.WORKSPACE_VIEW)
    rows = notifications.list_notifications(
        who.workspace_id, who.user_id, unread_only=filters.unread_only, limit=filters.limit
    )
    return {
        "unread": notifications.unread_count(who.workspace_id, who.user_id),
        "items": [dataclasses.asdict(n) for n in rows],
    }


@router.post(
    "/notifications/read",
    response={200: ReadOut, **ERRORS},
    tags=["notifications"],
    summary="Mark notifications read: some by id, or all",
    description='Send `{"ids": [1, 2]}` or `{"all": true}`. Ids that are not the caller\'s, or are '
    "already read, are skipped; the answer says how many were marked.",
)
def read_notifications(request: HttpRequest, payload: ReadIn) -> Any:
    who = _need(request, Perm.WORKSPACE_VIEW)
    if payload.all == (payload.ids is not None):
        raise ApiError(422, 'Send either "ids" (a list of notification ids) or "all": true.')
    marked = notifications.mark_read(who.workspace_id, who.user_id, None if payload.all else payload.ids)
    return {"marked": marked, "unread": notifications.unread_count(who.workspace_id, who.user_id)}


class UnreadIn(Schema):
    ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(
        ..., min_length=1, max_length=500, description="Mark these notifications unread again."
    )


@router.post(
    "/notifications/unread",
    response={200: ReadOut, **ERRORS},
    tags=["notifications"],
    summary="Mark notifications unread again, by id",
    description="Ids that are not the caller's, or are unread already, are skipped; the answer says "
    "how many were marked.",
)
def unread_notifications(request: HttpRequest, payload: UnreadIn) -> Any:
    who = _need(request, Perm.WORKSPACE_VIEW)
    marked = notifications.mark_unread(who.workspace_id, who.user_id, payload.ids)
    return {"marked": marked, "unread": notifications.unread_count(who.workspace_id, who.user_id)}


class EmailPreferencesIn(Schema):
    emailed: dict[str, bool] = Field(
        default_factory=dict,
        description="Event -> emailed or not, for the events named ("
        + ", ".join(notifications.EVENTS)
        + "); "
        "the others keep their current choice.",
    )
    digest: bool = Field(False, description="One email a day instead of one per event.")
    digest_hour: int = Field(8, ge=0, le=23, description="The hour of the daily email, in `timezone`.")
    timezone: str = Field("UTC", max_length=64, description="An IANA time zone, e.g. Europe/Moscow.")


class EmailPreferencesOut(Schema):
    emailed: dict[str, bool] = Field(..., description="Every event, and whether it emails the caller.")
    defaults: dict[str, bool] = Field(..., description="What each event does for someone who never chose.")
    digest: bool
    digest_hour: int
    timezone: str


def _person(who: Actor) -> int:
    if who.user_id is None:
        raise ApiError(
            422,
            "An API key has no person behind it, so it has no email preferences; call this with a "
            "person's session.",
        )
    return who.user_id


def _prefs_out(p: notifications.EmailPreferences) -> dict[str, Any]:
    return {
        "emailed": p.emailed,
        "defaults": notifications.EMAIL_DEFAULTS,
        "digest": p.digest,
        "digest_hour": p.digest_hour,
        "timezone": p.timezone,
    }


@router.get(
    "/me/email-preferences",
    response={200: EmailPreferencesOut, **ERRORS},
    tags=["notifications"],
    summary="Which events email the caller, and whether as a daily digest",
)
def get_email_preferences(request: HttpRequest) -> Any:
    return _prefs_out(notifications.email_preferences(_person(_need(request, Perm.WORKSPACE_VIEW))))


@router.put(
    "/me/email-preferences",
    response={200: EmailPreferencesOut, **ERRORS},
    tags=["notifications"],
    summary="Choose which events email the caller, and whether as a daily digest",
)
def put_email_preferences(request: HttpRequest, payload: EmailPreferencesIn) -> Any:
    user_id = _person(_need(request, Perm.WORKSPACE_VIEW))
    current = notifications.email_preferences(user_id)
    try:
        saved = notifications.save_email_preferences(
            user_id,
            emailed={**current.emailed, **payload.emailed},
            digest=payload.digest,
            digest_hour=payload.digest_hour,
            timezone=payload.timezone,
        )
    except notifications.NotificationsError as exc:
        raise ApiError(exc.status, exc.message, field=exc.field) from exc
    return _prefs_out(saved)


def _out(e: notifications.EndpointView) -> dict[str, Any]:
    return {
        "id": e.id,
        "url": e.url,
        "description": e.description,
        "events": list(e.events),
        "active": e.active,
        "created_at": e.created_at,
        "recent_deliveries": [dataclasses.asdict(d) for d in e.recent],
    }


@router.get(
    "/webhooks",
    response={200: list[dict[str, Any]], **ERRORS},
    summary="Webhook endpoints, with recent deliveries",
)
def list_webhooks(request: HttpRequest) -> Any:
    who = _need(request, Perm.WEBHOOKS_MANAGE)
    return [_out(e) for e in notifications.endpoints(who.workspace_id)]


@router.post(
    "/webhooks",
    response={201: dict[str, Any], **ERRORS},
    summary="Register a webhook endpoint; its signing secret is in this answer only",
)
def create_webhook(request: HttpRequest, payload: WebhookIn) -> Any:
    who = _need(request, Perm.WEBHOOKS_MANAGE)
    new = notifications.create_endpoint(
        who.workspace_id, payload.url, events=payload.events, description=payload.description, by=who
    )
    out = _out(notifications.endpoint(who.workspace_id, new.id))
    return Status(201, {**out, "secret": new.secret})


@router.get(
    "/webhooks/{endpoint_id}",
    response={200: dict[str, Any], **ERRORS},
    summary="One webhook endpoint and its latest deliveries",
)
def get_webhook(request: HttpRequest, endpoint_id: int) -> Any:
    who = _need(request, Perm.WEBHOOKS_MANAGE)
    return _out(notifications.endpoint(who.workspace_id, endpoint_id))


@router.delete("/webhooks/{endpoint_id}", response={204: None, **ERRORS}, summary="Delete a webhook endpoint")
def delete_webhook(request: HttpRequest, endpoint_id: int) -> Any:
    who = _need(request, Perm.WEBHOOKS_MANAGE)
    notifications.remove_endpoint(who.workspace_id, endpoint_id, by=who)
    return Status(204, None)


@router.post(
    "/webhooks/{endpoint_id}/test",
    response={200: dict[str, Any], **ERRORS},
    summary="Send a test event now and report how the endpoint answered",
)
def test_webhook(request: HttpRequest, endpoint_id: int) -> Any:
    who = _need(request, Perm.WEBHOOKS_MANAGE)
    return dataclasses.asdict(notifications.send_test(who.workspace_id, endpoint_id, by=who))
