"""Posts: the plan's posts with one variant per channel, and each variant's publication state."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.responses import Status

from rupor.accounts import service as accounts
from rupor.accounts.roles import Perm
from rupor.api import schemas as s
from rupor.api.auth import need
from rupor.api.errors import ERRORS, ApiError
from rupor.api.planning_api import instant
from rupor.core.timezones import to_local
from rupor.networks import registry
from rupor.planning import approvals, compose
from rupor.planning import service as planning
from rupor.planning.models import Post, PostVariant
from rupor.publishing import service as publishing

router = Router()


def _variant_out(v: PostVariant, summary: publishing.TargetSummary | None) -> dict[str, Any]:
    network = v.channel.network
    length = None
    if network in registry.available():
        length = registry.adapter(network).text_length(v.text)
    target = (
        dataclasses.asdict(summary)
        if summary
        else {
            "id": None,
            "state": "draft",
            "due_at": None,
            "attempts": 0,
            "remote_id": "",
            "remote_url": "",
            "published_at": None,
            "error_kind": "",
            "error_message": "",
        }
    )
    return {
        "id": v.pk,
        "channel_id": v.channel_id,
        "channel_name": v.channel.name,
        "network": network,
        "text": v.text,
        "link": v.link,
        "poll": v.poll,
        "first_comment": v.first_comment,
        "media_ids": [vm.media_id for vm in v.variantmedia_set.all()],
        "length": length,
        "problems": [dataclasses.asdict(p) for p in planning.variant_problems(v)],
        "target": target,
    }


def post_out(p: Post, who: accounts.Actor | None = None) -> dict[str, Any]:
    """A post as the API shows it; ``who`` without ``posts.internal`` (the client) sees no internal
    notes, no author's email and no error text from the attempts."""
    variants = list(p.variants.all())
    sums = publishing.summaries([v.pk for v in variants])
    tz = p.workspace.timezone
    publication = publishing.derive_status(t.state for t in sums.values())
    internal = who is None or who.can(Perm.POSTS_INTERNAL)
    if not internal:
        sums = {k: dataclasses.replace(t, error_message="") for k, t in sums.items()}
    return {
        "id": p.pk,
        "title": p.title,
        "text": p.text,
        "rubric_id": p.rubric_id,
        "status": publication or p.status,
        "plan_status": p.status,
        "scheduled_at": p.scheduled_at,
        "scheduled_at_local": to_local(p.scheduled_at, tz).isoformat() if p.scheduled_at else None,
        "timezone": tz,
        "publish_late": p.publish_late,
        "notes": p.notes if internal else "",
        "author": p.author.email if p.author and internal else None,
        "created_at": p.created_at,
        "updated_at": p.updated_at,
        "variants": [_variant_out(v, sums.get(v.pk)) for v in variants],
        "content_fingerprint": approvals.content_fingerprint(p)
        if p.status in approvals.AWAITING_DECISION
        else None,
    }


def _variant_inputs(items: list[s.VariantIn]) -> tuple[planning.VariantInput, ...]:
    return tuple(
        planning.VariantInput(
            channel_id=v.channel_id,
            text=v.text,
            link=v.link,
            poll=v.poll.dict() if v.poll else None,
            first_comment=v.first_comment,
            media_ids=tuple(v.media_ids),
            options=v.options,
        )
        for v in items
    )


class PostFilters(Schema):
    status: str | None = None
    channel_id: int | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None


@router.get(
    "/posts",
    response={200: list[s.PostOut], **ERRORS},
    tags=["posts"],
    summary="Posts of the plan, with each target's state",
)
def list_posts(request: HttpRequest, filters: Query[PostFilters]) -> Any:
    who = need(request, Perm.POSTS_VIEW)
    if filters.status and filters.status not in dict(planning.SHOWN_STATUSES):
        raise ApiError(422, f"{filters.status!r} is not a post status.", "status")
    start = instant(who, filters.start, "start") if filters.start else None
    end = instant(who, filters.end, "end") if filters.end else None
    qs = planning.list_posts(
        who.workspace_id, status=filters.status, start=start, end=end, channel_id=filters.channel_id
    ).select_related("workspace")
    return [post_out(p, who) for p in qs[:500]]


@router.post(
    "/posts",
    response={201: s.PostOut, **ERRORS},
    tags=["posts"],
    summary="Create a post with one variant per channel",
)
def create_post(request: HttpRequest, payload: s.PostIn) -> Any:
    who = need(request, Perm.POSTS_EDIT)
    data = planning.PostInput(
        title=payload.title,
        text=payload.text,
        rubric_id=payload.rubric_id,
        status=payload.status,
        scheduled_at=payload.scheduled_at,
        publish_now=payload.publish_now,
        publish_late=payload.publish_late,
        notes=payload.notes,
        variants=_variant_inputs(payload.variants),
    )
    return Status(201, post_out(compose.compose(compose.ComposeRequest(who, data)).raise_if_refused()))


@router.get(
    "/posts/{post_id}",
    response={200: s.PostOut, **ERRORS},
    tags=["posts"],
    summary="One post, its variants and their publication state",
)
def get_post(request: HttpRequest, post_id: int) -> Any:
    who = need(request, Perm.POSTS_VIEW)
    return post_out(planning.get_post(who.workspace_id, post_id), who)


@router.patch(
    "/posts/{post_id}",
    response={200: s.PostOut, **ERRORS},
    tags=["posts"],
    summary="Edit, schedule, reschedule or cancel a post",
)
def patch_post(request: HttpRequest, post_id: int, payload: s.PostPatch) -> Any:
    who = need(request, Perm.POSTS_EDIT)
    sent = payload.dict(exclude_unset=True)
    for key in ("title", "text", "status", "notes", "publish_late"):
        if key in sent and sent[key] is None:
            raise ApiError(422, f"{key} cannot be null.", key)
    data = planning.PostInput(
        title=payload.title or "",
        text=payload.text or "",
        rubric_id=payload.rubric_id,
        status=payload.status or "draft",
        scheduled_at=payload.scheduled_at,
        publish_now=payload.publish_now,
        publish_late=bool(payload.publish_late),
        notes=payload.notes or "",
        variants=_variant_inputs(payload.variants) if payload.variants is not None else None,
    )
    request_ = compose.ComposeRequest(who, data, post_id=post_id, fields=frozenset(sent))
    return post_out(compose.compose(request_).raise_if_refused())


@router.delete(
    "/posts/{post_id}",
    response={204: None, **ERRORS},
    tags=["posts"],
    summary="Delete a post that has not been published",
)
def delete_post(request: HttpRequest, post_id: int) -> Any:
    who = need(request, Perm.POSTS_EDIT)
    planning.delete_post(who, post_id)
    return Status(204, None)
