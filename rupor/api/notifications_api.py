"""Outgoing notification webhooks: list, register (the secret is returned once), delete, test."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.responses import Status
from pydantic import Field

from rupor.accounts.roles import Perm
from rupor.api.auth import need as _need
from rupor.api.errors import ERRORS
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
        who.workspace_id, payload.url, events=payload.events, description=payload.description
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
    notifications.remove_endpoint(who.workspace_id, endpoint_id)
    return Status(204, None)


@router.post(
    "/webhooks/{endpoint_id}/test",
    response={200: dict[str, Any], **ERRORS},
    summary="Send a test event now and report how the endpoint answered",
)
def test_webhook(request: HttpRequest, endpoint_id: int) -> Any:
    who = _need(request, Perm.WEBHOOKS_MANAGE)
    return dataclasses.asdict(notifications.send_test(who.workspace_id, endpoint_id))
