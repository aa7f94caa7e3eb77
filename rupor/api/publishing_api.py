"""Publication targets: their history, and what a person can do about them; engine health."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from django.db import transaction
from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from rupor.accounts.roles import Perm
from rupor.api.auth import need as _need
from rupor.api.errors import ERRORS, ApiError
from rupor.publishing import health
from rupor.publishing import service as publishing
from rupor.publishing.models import PublicationTarget

router = Router(tags=["publishing"])


class ResolveIn(Schema):
    resolution: Literal["published", "republish"] = Field(
        ..., description="'published': it is on the channel; 'republish': it is not, send it again."
    )
    remote_url: str = Field("", max_length=500)


class RetryIn(Schema):
    target_ids: list[Annotated[int, Field(ge=1, le=2**62)]] | None = Field(
        None, max_length=1000, description="Only these; all failed targets when omitted."
    )


def _own_target(workspace_id: int, target_id: int) -> None:
    if not PublicationTarget.objects.filter(pk=target_id, workspace_id=workspace_id).exists():
        raise ApiError(404, "Not found.")


def _act(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        with transaction.atomic():
            return fn(*args, **kwargs)
    except publishing.ActionError as exc:
        raise ApiError(exc.status, str(exc)) from exc


# Registered before /targets/{target_id}: URL patterns match in order.
@router.post(
    "/targets/retry-failed",
    response={200: dict[str, Any], **ERRORS},
    summary="Retry failed publications after a fix",
)
def retry_failed(request: HttpRequest, payload: RetryIn) -> Any:
    who = _need(request, Perm.POSTS_PUBLISH)
    count = _act(publishing.retry_failed, who.workspace_id, payload.target_ids, actor=who.label, by=who)
    return {"rescheduled": count}


@router.get(
    "/targets/{target_id}",
    response={200: dict[str, Any], **ERRORS},
    summary="A publication target: state, every attempt and transition",
)
def target_history(request: HttpRequest, target_id: int) -> Any:
    who = _need(request, Perm.POSTS_INTERNAL)  # attempt logs are the team's, not the client's
    _own_target(who.workspace_id, target_id)
    found = publishing.history(target_id)
    if found is None:
        raise ApiError(404, "Not found.")
    return dataclasses.asdict(found)


@router.post(
    "/targets/{target_id}/resolve",
    response={200: dict[str, Any], **ERRORS},
    summary="Resolve an unconfirmed publication with one click",
)
def resolve(request: HttpRequest, target_id: int, payload: ResolveIn) -> Any:
    who = _need(request, Perm.POSTS_PUBLISH)
    _own_target(who.workspace_id, target_id)
    state = _act(
        publishing.resolve_unconfirmed,
        target_id,
        payload.resolution,
        actor=who.label,
        remote_url=payload.remote_url,
        by=who,
    )
    return {"id": target_id, "state": state}


@router.post(
    "/targets/{target_id}/publish-anyway",
    response={200: dict[str, Any], **ERRORS},
    summary="Publish a missed target now, late",
)
def publish_anyway(request: HttpRequest, target_id: int) -> Any:
    who = _need(request, Perm.POSTS_PUBLISH)
    _own_target(who.workspace_id, target_id)
    state = _act(publishing.publish_anyway, target_id, actor=who.label, by=who)
    return {"id": target_id, "state": state}


@router.get(
    "/health",
    response={200: dict[str, Any], **ERRORS},
    summary="Workers alive, backlog, lateness and failures per network",
)
def engine_health(request: HttpRequest) -> Any:
    who = _need(request, Perm.CHANNELS_VIEW)
    return dataclasses.asdict(health.health_snapshot(who.workspace_id))
