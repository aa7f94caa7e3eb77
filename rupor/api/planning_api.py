"""Plan endpoints: rubrics, mix meter, gaps, ideas, queue slots, approvals, import/export, iCal, media.

Mounted by ``rupor/api/app.py`` with ``api.add_router("/", router)``. Views parse, call a planning
action and render; every refusal is a :class:`~rupor.planning.service.PlanningError` rendered in
the API's one error shape.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Literal

from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from ninja import Query, Router, Schema
from ninja.responses import Status
from pydantic import Field

from rupor.accounts import service as accounts
from rupor.accounts.models import Workspace
from rupor.accounts.roles import Perm
from rupor.api import schemas as s
from rupor.api.auth import actor as _actor
from rupor.api.auth import need as _need
from rupor.api.errors import ERRORS, ApiError, ErrorItem, ErrorOut
from rupor.channels.models import Channel
from rupor.core import clock
from rupor.core.timezones import LocalTimeError, to_local, to_utc
from rupor.planning import approvals, conventions, ical, mix, plan_io, slots
from rupor.planning import content as planned
from rupor.planning import media as media_lib
from rupor.planning.models import Media, Post, Rubric
from rupor.planning.service import PlanningError

router = Router()

ERR = ERRORS  # every error in the API's one shape


def _tz(who: accounts.Actor) -> str:
    return str(Workspace.objects.values_list("timezone", flat=True).get(pk=who.workspace_id))


def instant(who: accounts.Actor, value: dt.datetime, field: str) -> dt.datetime:
    """A time given to the API, in UTC: with an offset it is converted (so no database sees an
    offset it cannot store, such as -18:20); without one it is read in the workspace's zone."""
    try:
        return to_utc(value, _tz(who))
    except LocalTimeError as exc:
        raise PlanningError(str(exc), field) from exc


def _period(
    who: accounts.Actor, start: dt.datetime | None, end: dt.datetime | None, days: int = 30
) -> tuple[dt.datetime, dt.datetime]:
    begin = instant(who, start, "start") if start else clock.now()
    finish = instant(who, end, "end") if end else begin + dt.timedelta(days=days)
    return begin, finish


def _upload(request: HttpRequest, limit: int) -> UploadedFile:
    """The multipart ``file`` field, read here so that a broken body is a 400 in the API's shape."""
    try:
        upload = request.FILES.get("file")
    except MultiPartParserError as exc:
        raise PlanningError("The upload is not a valid multipart/form-data body.", "file") from exc
    if upload is None:
        raise PlanningError("Send the file as multipart/form-data in a field named 'file'.", "file")
    if (upload.size or 0) > limit:
        raise PlanningError(f"The file is larger than {limit // (1024 * 1024)} MB.", "file")
    return upload


FILE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    },
}


def _post_out(post: Post, who: accounts.Actor | None = None) -> dict[str, Any]:
    from rupor.api.posts_api import post_out as render  # posts_api imports instant() from here

    return render(Post.objects.select_related("workspace", "rubric", "author").get(pk=post.pk), who)


# -- rubrics ------------------------------------------------------------------------------


class RubricIn(Schema):
    name: str = Field(..., max_length=80)
    color: str = Field("#6b7280", pattern=r"^#[0-9a-fA-F]{6}$")
    target_share: int = Field(0, ge=0, le=100)
    is_selling: bool = False
    position: int | None = Field(None, ge=0, le=1000)


class RubricOut(Schema):
    id: int
    name: str
    color: str
    target_share: int
    is_selling: bool
    position: int


def _rubric_out(r: Rubric) -> dict[str, Any]:
    return {
        "id": r.pk,
        "name": r.name,
        "color": r.color,
        "target_share": r.target_share,
        "is_selling": r.is_selling,
        "position": r.position,
    }


@router.get(
    "/plan/rubrics",
    response={200: list[RubricOut], **ERR},
    tags=["plan"],
    summary="Rubrics with their target shares",
)
def list_rubrics(request: HttpRequest) -> Any:
    who = _need(request, Perm.POSTS_VIEW)
    return [_rubric_out(r) for r in mix.list_rubrics(who.workspace_id)]


def _rubric_input(payload: RubricIn) -> mix.RubricInput:
    return mix.RubricInput(
        payload.name, payload.color, payload.target_share, payload.is_selling, payload.position
    )


@router.post(
    "/plan/rubrics",
    response={201: RubricOut, **ERR},
    tags=["plan"],
    summary="Create a rubric (target shares add up to at most 100 %)",
)
def create_rubric(request: HttpRequest, payload: RubricIn) -> Any:
    return Status(201, _rubric_out(mix.create_rubric(_actor(request), _rubric_input(payload))))


@router.put(
    "/plan/rubrics/{rubric_id}", response={200: RubricOut, **ERR}, tags=["plan"], summary="Change a rubric"
)
def update_rubric(request: HttpRequest, rubric_id: int, payload: RubricIn) -> Any:
    return _rubric_out(mix.update_rubric(_actor(request), rubric_id, _rubric_input(payload)))


@router.delete(
    "/plan/rubrics/{rubric_id}",
    response={204: None, **ERR},
    tags=["plan"],
    summary="Delete a rubric (its posts stay, without a rubric)",
)
def delete_rubric(request: HttpRequest, rubric_id: int) -> Any:
    mix.delete_rubric(_actor(request), rubric_id)
    return Status(204, None)


# -- mix meter, gaps, ideas ---------------------------------------------------------------


class PeriodQuery(Schema):
    start: dt.datetime | None = Field(
        None, description="Default: now. Without an offset it is read in the workspace zone."
    )
    end: dt.datetime | None = Field(None, description="Default: start + 30 days.")
    channel_id: int | None = Field(None, ge=1, le=2**62)


class RubricShareOut(Schema):
    rubric_id: int | None
    name: str
    posts: int
    share: float
    target_share: int
    is_selling: bool
    over_target: bool


class ChannelMixOut(Schema):
    channel_id: int
    channel_name: str
    network: str
    total: int
    rubrics: list[RubricShareOut]
    selling_share: float
    selling_target: int
    warnings: list[str]


class MixOut(Schema):
    start: dt.datetime
    end: dt.datetime
    timezone: str
    channels: list[ChannelMixOut]


@router.get(
    "/plan/mix",
    response={200: MixOut, **ERR},
    tags=["plan"],
    summary="Share of each rubric per channel against its target, with warnings",
)
def get_mix(request: HttpRequest, q: Query[PeriodQuery]) -> Any:
    who = _need(request, Perm.POSTS_VIEW)
    start, end = _period(who, q.start, q.end)
    report = mix.mix(who.workspace_id, start, end, q.channel_id)
    return {
        "start": start,
        "end": end,
        "timezone": _tz(who),
        "channels": [dataclasses.asdict(c) for c in report],
    }


class GapOut(Schema):
    channel_id: int
    channel_name: str
    start: dt.datetime
    end: dt.datetime
    hours: float
    cadence_hours: int
    message: str


@router.get(
    "/plan/gaps",
    response={200: list[GapOut], **ERR},
    tags=["plan"],
    summary="Stretches longer than a channel's cadence without a post",
)
def get_gaps(request: HttpRequest, q: Query[PeriodQuery]) -> Any:
    who = _need(request, Perm.POSTS_VIEW)
    start, end = _period(who, q.start, q.end)
    return [dataclasses.asdict(g) for g in mix.gaps(who.workspace_id, start, end, q.channel_id)]


@router.get(
    "/plan/ideas",
    response={200: list[s.PostOut], **ERR},
    tags=["plan"],
    summary="Ideas backlog: drafts without a date (PostOut shape)",
)
def get_ideas(request: HttpRequest) -> Any:
    who = _need(request, Perm.POSTS_VIEW)
    return [_post_out(p, who) for p in mix.ideas(who.workspace_id)[:500]]


# -- queue --------------------------------------------------------------------------------


class SlotIn(Schema):
    channel_id: int = Field(..., ge=1, le=2**62)
    weekday: int | str = Field(..., description="0 (Monday) to 6 (Sunday), or the English name")
    time: dt.time = Field(..., description="HH:MM, wall-clock time in the workspace zone")


class SlotOut(Schema):
    id: int
    channel_id: int
    weekday: int
    time: str


def _slot_out(slot: slots.SlotView) -> dict[str, Any]:
    return {
        "id": slot.id,
        "channel_id": slot.channel_id,
        "weekday": slot.weekday,
        "time": slot.time.strftime("%H:%M"),
    }


class ChannelQuery(Schema):
    channel_id: int | None = Field(None, ge=1, le=2**62)


@router.get(
    "/queue/slots",
    response={200: list[SlotOut], **ERR},
    tags=["queue"],
    summary="Weekly queue slots (workspace time zone)",
)
def list_slots(request: HttpRequest, q: Query[ChannelQuery]) -> Any:
    who = _need(request, Perm.POSTS_VIEW)
    return [_slot_out(slot) for slot in slots.list_slots(who.workspace_id, q.channel_id)]


@router.post(
    "/queue/slots",
    response={201: SlotOut, **ERR},
    tags=["queue"],
    summary="Add a weekly queue slot to a channel",
)
def add_slot(request: HttpRequest, payload: SlotIn) -> Any:
    return Status(
        201, _slot_out(slots.add_slot(_actor(request), payload.channel_id, payload.weekday, payload.time))
    )


@router.delete(
    "/queue/slots/{slot_id}", response={204: None, **ERR}, tags=["queue"], summary="Remove a queue slot"
)
def delete_slot(request: HttpRequest, slot_id: int) -> Any:
    slots.delete_slot(_actor(request), slot_id)
    return Status(204, None)


class NextQuery(Schema):
    channel_id: int = Field(..., ge=1, le=2**62)


class NextOut(Schema):
    channel_id: int
    at: dt.datetime
    at_local: str
    timezone: str


@router.get(
    "/queue/next",
    response={200: NextOut, **ERR},
    tags=["queue"],
    summary="The channel's next free queue slot",
)
def next_slot(request: HttpRequest, q: Query[NextQuery]) -> Any:
    who = _need(request, Perm.POSTS_VIEW)
    slots._channel(who.workspace_id, q.channel_id)
    when = slots.next_free_slot(who.workspace_id, [q.channel_id])
    if when is None:
        raise PlanningError(
            "This channel has no free queue slot in the next 12 weeks; add queue slots first.",
            "channel_id",
            409,
        )
    tz = _tz(who)
    return {
        "channel_id": q.channel_id,
        "at": when,
        "at_local": to_local(when, tz).isoformat(),
        "timezone": tz,
    }


@router.post(
    "/posts/{post_id}/queue",
    response={200: s.PostOut, **ERR},
    tags=["queue"],
    summary="Add a post to the queue: the next free slot of its channels",
)
def queue_post(request: HttpRequest, post_id: int) -> Any:
    return _post_out(slots.add_to_queue(_actor(request), post_id))


# -- approvals ----------------------------------------------------------------------------


class CommentIn(Schema):
    comment: str = Field("", max_length=5000)


class ClientDecisionIn(Schema):
    decision: Literal["approve", "request_changes", "reject"]
    comment: str = Field("", max_length=5000)
    fingerprint: str | None = Field(
        None,
        max_length=64,
        description="The post's content_fingerprint as you saw it; an approval of a post that changed since is refused (409).",
    )


class ApproveIn(CommentIn):
    fingerprint: str | None = Field(
        None,
        max_length=64,
        description="The post's content_fingerprint as you saw it; an approval of a post that changed since is refused (409).",
    )


class ReviewOut(Schema):
    id: int
    post_id: int
    stage: str
    decision: str
    comment: str
    actor: str
    at: dt.datetime


@router.post(
    "/posts/{post_id}/submit",
    response={200: s.PostOut, **ERR},
    tags=["approvals"],
    summary="Submit a post for review",
)
def submit(request: HttpRequest, post_id: int, payload: CommentIn) -> Any:
    return _post_out(approvals.submit(_actor(request), post_id, payload.comment))


@router.post(
    "/posts/{post_id}/approve",
    response={200: s.PostOut, **ERR},
    tags=["approvals"],
    summary="Approve a post in review",
)
def approve(request: HttpRequest, post_id: int, payload: ApproveIn) -> Any:
    return _post_out(approvals.approve(_actor(request), post_id, payload.comment, seen=payload.fingerprint))


@router.post(
    "/posts/{post_id}/request-changes",
    response={200: s.PostOut, **ERR},
    tags=["approvals"],
    summary="Send a post back with a comment",
)
def request_changes(request: HttpRequest, post_id: int, payload: CommentIn) -> Any:
    return _post_out(approvals.request_changes(_actor(request), post_id, payload.comment))


@router.post(
    "/posts/{post_id}/reject",
    response={200: s.PostOut, **ERR},
    tags=["approvals"],
    summary="Reject a post in review",
)
def reject(request: HttpRequest, post_id: int, payload: CommentIn) -> Any:
    return _post_out(approvals.reject(_actor(request), post_id, payload.comment))


@router.post(
    "/posts/{post_id}/client-review",
    response={200: s.PostOut, **ERR},
    tags=["approvals"],
    summary="The client's decision (client accounts)",
)
def client_review(request: HttpRequest, post_id: int, payload: ClientDecisionIn) -> Any:
    who = _actor(request)
    return _post_out(
        approvals.client_review(who, post_id, payload.decision, payload.comment, seen=payload.fingerprint),
        who,
    )


@router.get(
    "/posts/{post_id}/reviews",
    response={200: list[ReviewOut], **ERR},
    tags=["approvals"],
    summary="The approval history of a post",
)
def list_reviews(request: HttpRequest, post_id: int) -> Any:
    who = _need(request, Perm.POSTS_VIEW)
    out = [dataclasses.asdict(r) for r in approvals.reviews(who.workspace_id, post_id)]
    if not who.can(Perm.POSTS_INTERNAL):  # the client sees decisions, not the team's addresses
        for row in out:
            if row["actor"] != who.label:
                row["actor"] = ""
    return out


class ClientLinkIn(Schema):
    post_id: int | None = Field(None, ge=1, le=2**62)
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    expires_in_hours: int = Field(24 * 7, ge=1, le=24 * 60)


class ClientLinkOut(Schema):
    id: int
    url: str
    expires_at: dt.datetime
    post_ids: list[int]


@router.post(
    "/plan/client-links",
    response={201: ClientLinkOut, **ERR},
    tags=["approvals"],
    summary="A magic link for the client to review a post or a period without an account",
)
def create_client_link(request: HttpRequest, payload: ClientLinkIn) -> Any:
    who = _actor(request)
    start = end = None
    if payload.post_id is None:
        start, end = _period(who, payload.start, payload.end)
    link = approvals.client_link_for(
        who,
        post_id=payload.post_id,
        start=start,
        end=end,
        ttl=dt.timedelta(hours=payload.expires_in_hours),
    )
    return Status(
        201, {"id": link.id, "url": link.url, "expires_at": link.expires_at, "post_ids": list(link.post_ids)}
    )


@router.delete(
    "/plan/client-links/{link_id}",
    response={204: None, **ERR},
    tags=["approvals"],
    summary="Revoke a review link",
)
def revoke_client_link(request: HttpRequest, link_id: int) -> Any:
    approvals.revoke_client_link(_actor(request), link_id)
    return Status(204, None)


# -- import / export ----------------------------------------------------------------------


class ImportErrorItem(ErrorItem):
    row: int | None = None


class PlannedChannelOut(Schema):
    id: int
    name: str
    network: str
    text: str


class PlannedPostOut(Schema):
    row: int
    title: str
    text: str
    rubric: str
    status: str
    scheduled_at: dt.datetime | None
    local_time: str | None
    channels: list[PlannedChannelOut]
    media_urls: list[str]


class ImportOut(Schema):
    dry_run: bool
    created: list[int]
    posts: list[PlannedPostOut]


class ImportErrorOut(ErrorOut):
    """The one error shape; each error also names its row, and ``posts`` are the rows as read."""

    errors: list[ImportErrorItem]  # type: ignore[assignment]  # items with a row: still the one shape
    posts: list[PlannedPostOut] = []


def _planned_out(p: plan_io.PlannedPost) -> dict[str, Any]:
    out = dataclasses.asdict(p)
    out["local_time"] = p.local_time.strftime("%Y-%m-%d %H:%M") if p.local_time else None
    return out


class ImportQuery(Schema):
    dry_run: bool = False


@router.post(
    "/plan/import",
    response={
        200: ImportOut,
        201: ImportOut,
        422: ImportErrorOut,
        **{k: v for k, v in ERR.items() if k != 422},
    },
    tags=["plan"],
    summary="Import a CSV/XLSX plan (all or nothing); dry_run=true previews it",
    openapi_extra=FILE_BODY,
)
def import_plan(request: HttpRequest, q: Query[ImportQuery]) -> Any:
    who = _need(request, Perm.POSTS_EDIT)
    file = _upload(request, plan_io.MAX_FILE_BYTES)
    report = plan_io.import_plan(who, file.name or "", file.read(), dry_run=q.dry_run)
    posts = [_planned_out(p) for p in report.posts]
    if not report.ok:
        rows = report.bad_rows
        what = "would be" if q.dry_run else "was"
        return Status(
            422,
            {
                "detail": f"{len(rows)} row(s) are bad ({', '.join(map(str, rows))}); nothing {what} created.",
                "errors": [
                    {"field": f"row {p.row}", "message": p.message, "row": p.row} for p in report.problems
                ],
                "posts": posts,
            },
        )
    return Status(
        200 if q.dry_run else 201, {"dry_run": q.dry_run, "created": report.created_ids, "posts": posts}
    )


class ExportQuery(Schema):
    format: Literal["csv", "xlsx"] = "csv"
    start: dt.datetime | None = None
    end: dt.datetime | None = None


CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@router.get(
    "/plan/export",
    response={200: None, **ERR},
    tags=["plan"],
    summary="The plan as CSV or XLSX, in the import format",
)
def export_plan(request: HttpRequest, q: Query[ExportQuery]) -> Any:
    who = _need(request, Perm.POSTS_VIEW)
    tz = _tz(who)
    try:
        start = to_utc(q.start, tz) if q.start else None
        end = to_utc(q.end, tz) if q.end else None
    except LocalTimeError as exc:
        raise PlanningError(str(exc), "start") from exc
    data = plan_io.export_plan(who.workspace_id, q.format, start=start, end=end)
    slug = Workspace.objects.values_list("slug", flat=True).get(pk=who.workspace_id)
    response = HttpResponse(data, content_type=CONTENT_TYPES[q.format])
    response["Content-Disposition"] = f'attachment; filename="{slug}-plan.{q.format}"'
    return response


# -- iCal ---------------------------------------------------------------------------------


class FeedOut(Schema):
    url: str


@router.get(
    "/plan/ical",
    response={200: FeedOut, **ERR},
    tags=["plan"],
    summary="The secret iCal address of the workspace's plan",
)
def get_feed(request: HttpRequest) -> Any:
    return {"url": ical.feed_url(_actor(request))}


@router.post(
    "/plan/ical/rotate",
    response={200: FeedOut, **ERR},
    tags=["plan"],
    summary="Replace the secret iCal address (the old one stops working)",
)
def rotate_feed(request: HttpRequest) -> Any:
    return {"url": ical.rotate_feed(_actor(request))}


# -- media --------------------------------------------------------------------------------


class MediaOut(Schema):
    id: int
    kind: str
    content_type: str
    size: int
    width: int | None
    height: int | None
    sha256: str
    original_name: str
    url: str | None
    thumbnail_url: str | None
    alt_text: str = Field("", description="What the picture shows, sent to networks that take alt text")
    created_at: dt.datetime


def _media_out(m: Media) -> dict[str, Any]:
    return {
        "id": m.pk,
        "kind": m.kind,
        "content_type": m.content_type,
        "size": m.size,
        "width": m.width,
        "height": m.height,
        "sha256": m.sha256,
        "original_name": m.original_name,
        "url": media_lib.media_url(m),
        "thumbnail_url": media_lib.media_url(m, thumbnail=True),
        "alt_text": m.alt_text,
        "created_at": m.created_at,
    }


@router.post(
    "/media",
    response={201: MediaOut, **ERR},
    tags=["media"],
    summary="Upload a picture or video to the media library",
    openapi_extra=FILE_BODY,
)
def upload_media(request: HttpRequest) -> Any:
    who = _need(request, Perm.POSTS_EDIT)
    file = _upload(request, media_lib.MAX_VIDEO_BYTES)
    return Status(
        201, _media_out(media_lib.save_media(who, file.name or "upload", file))
    )  # streamed, never read whole


class MediaQuery(Schema):
    kind: Literal["photo", "video"] | None = None


@router.get("/media", response={200: list[MediaOut], **ERR}, tags=["media"], summary="The media library")
def list_media(request: HttpRequest, q: Query[MediaQuery]) -> Any:
    who = _need(request, Perm.POSTS_VIEW)
    return [_media_out(m) for m in media_lib.list_media(who.workspace_id, q.kind)[:500]]


@router.delete(
    "/media/{media_id}",
    response={204: None, **ERR},
    tags=["media"],
    summary="Delete an unused file from the media library (409 naming the posts that use it)",
)
def delete_media(request: HttpRequest, media_id: int) -> Any:
    media_lib.delete_media(_actor(request), media_id)
    return Status(204, None)


class MediaPatch(Schema):
    alt_text: str = Field(..., max_length=media_lib.ALT_TEXT_MAX)


@router.patch(
    "/media/{media_id}",
    response={200: MediaOut, **ERR},
    tags=["media"],
    summary="Describe a picture (alt text, sent to the networks that take it)",
)
def patch_media(request: HttpRequest, media_id: int, payload: MediaPatch) -> Any:
    who = _need(request, Perm.POSTS_EDIT)
    return _media_out(media_lib.set_alt_text(who, media_id, payload.alt_text))


# -- checking variants as the composer does --------------------------------------------------


class CheckIn(Schema):
    text: str = Field("", max_length=100_000, description="The shared text (a variant without text uses it)")
    media_ids: list[int] = Field(default_factory=list, max_length=20, description="The shared media")
    variants: list[s.VariantIn] = Field(default_factory=list, max_length=50)


class AdviceOut(Schema):
    code: str = Field(
        ...,
        description="needs_media, alt_missing, link_not_clickable, long, long_title or hashtags",
    )
    message: str


class ConventionOut(Schema):
    summary: str
    tips: list[str]


class VariantCheckOut(Schema):
    channel_id: int
    network: str
    problems: list[ErrorItem] = Field(..., description="What the network refuses: the post cannot go out so")
    advice: list[AdviceOut] = Field(
        ..., description="The network's conventions: soft warnings, never a refusal"
    )
    convention: ConventionOut | None


class SameTextOut(Schema):
    channel_ids: list[int]
    similarity: float = Field(..., description="0-1, after normalising case, spaces, punctuation and links")
    identical: bool
    message: str


class CheckOut(Schema):
    variants: list[VariantCheckOut]
    same_text: list[SameTextOut] = Field(
        ..., description="Variants for different networks whose texts are the same or nearly (90% or more)"
    )


@router.post(
    "/plan/check",
    response={200: CheckOut, **ERR},
    tags=["posts"],
    summary="Check variants as the composer does: limits, network conventions, one text everywhere",
)
def check_variants(request: HttpRequest, payload: CheckIn) -> Any:
    who = _need(request, Perm.POSTS_EDIT)
    wanted = {v.channel_id for v in payload.variants}
    found = {c.pk: c for c in Channel.live.filter(workspace_id=who.workspace_id, pk__in=wanted)}
    media_ids = set(payload.media_ids) | {m for v in payload.variants for m in v.media_ids}
    library = {m.pk: m for m in Media.objects.filter(workspace_id=who.workspace_id, pk__in=media_ids)}
    out: list[dict[str, Any]] = []
    texts: list[conventions.VariantText] = []
    for i, v in enumerate(payload.variants):
        channel = found.get(v.channel_id)
        if channel is None:
            raise ApiError(404, "No such channel.", f"variants[{i}].channel_id")
        ids = v.media_ids or payload.media_ids
        missing = [m for m in ids if m not in library]
        if missing:
            raise ApiError(
                404, f"Media {missing[0]} is not in this workspace's library.", f"variants[{i}].media_ids"
            )
        media = [library[m] for m in ids]
        text = payload.text if v.text is None else v.text
        built = planned.build_content(
            text=text,
            media=media,
            link=v.link,
            poll=v.poll.dict() if v.poll else None,
            first_comment=v.first_comment,
            options=v.options,
        )
        conv = conventions.convention(channel.network)
        out.append(
            {
                "channel_id": channel.pk,
                "network": channel.network,
                "problems": [
                    {"field": p.field, "message": p.message} for p in planned.content_problems(channel, built)
                ],
                "advice": [
                    dataclasses.asdict(a)
                    for a in planned.content_advice(channel, text=text, media=media, link=v.link)
                ],
                "convention": {"summary": str(conv.summary), "tips": [str(t) for t in conv.tips]}
                if conv
                else None,
            }
        )
        texts.append(
            conventions.VariantText(
                channel.pk, conventions.label(channel.name, channel.network), channel.network, text
            )
        )
    same = [
        {
            "channel_ids": g.keys,
            "similarity": round(g.similarity, 3),
            "identical": g.identical,
            "message": g.message,
        }
        for g in conventions.same_texts(texts)
    ]
    return {"variants": out, "same_text": same}
