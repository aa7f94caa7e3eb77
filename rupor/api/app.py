"""The REST API under ``/api/v1``: parse, call a domain action, render. Nothing else lives here."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Query
from ninja.parser import Parser
from ninja.responses import Status
from ninja.types import DictStrAny

from rupor.accounts import service as accounts
from rupor.accounts.models import User, Workspace
from rupor.accounts.roles import PERMISSIONS, Perm
from rupor.api import schemas as s
from rupor.api.auth import ApiKeyAuth, SessionWorkspaceAuth, actor, need
from rupor.api.errors import ApiError, install
from rupor.api.planning_api import instant
from rupor.channels import service as channels
from rupor.channels.models import Channel
from rupor.core.timezones import to_local
from rupor.networks import registry
from rupor.planning import approvals, compose
from rupor.planning import service as planning
from rupor.planning.models import Post, PostVariant
from rupor.publishing import service as publishing


def _nul_in(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_nul_in(k) or _nul_in(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_nul_in(v) for v in value)
    return False


class TextParser(Parser):
    """JSON bodies without NUL characters: no database stores them (PostgreSQL refuses them
    outright), so they are refused here with a clear 400. Queries and form fields are
    :class:`rupor.core.middleware.RefuseNulMiddleware`'s."""

    def parse_body(self, request: HttpRequest) -> DictStrAny:
        data = super().parse_body(request)
        if _nul_in(data):
            raise ApiError(400, _("Text must not contain NUL characters (\\u0000)."))
        return data


api = NinjaAPI(
    parser=TextParser(),
    title="Rupor API",
    version="1",
    description=(
        "Plan, publish and measure social media from one place. Authenticate with a workspace API key "
        "(`Authorization: Bearer rpr_…`); every object belongs to the key's workspace. Errors are "
        '`{"detail": "...", "errors": [{"field": "...", "message": "..."}]}` with a 4xx status.'
    ),
    auth=[ApiKeyAuth(), SessionWorkspaceAuth()],
    urls_namespace="api",
    docs_url="/docs",
)
install(api)

ERRORS: dict[int, Any] = {
    400: s.ErrorOut,
    401: s.ErrorOut,
    403: s.ErrorOut,
    404: s.ErrorOut,
    409: s.ErrorOut,
    422: s.ErrorOut,
}


def _workspace_out(w: Workspace) -> dict[str, Any]:
    return {
        "id": w.pk,
        "name": w.name,
        "slug": w.slug,
        "timezone": w.timezone,
        "late_window_minutes": w.late_window_minutes,
        "approval": w.approval,
    }


# -- me and the workspace ---------------------------------------------------------------


@api.get(
    "/me",
    response={200: s.MeOut, **ERRORS},
    tags=["workspace"],
    summary="Who is calling, in which workspace, with which role",
)
def me(request: HttpRequest) -> Any:
    who = actor(request)
    workspace = Workspace.objects.get(pk=who.workspace_id)
    user = User.objects.filter(pk=who.user_id).first() if who.user_id else None
    return {
        "kind": "user" if user else "api_key",
        "email": user.email if user else None,
        "name": user.name if user else None,
        "workspace": _workspace_out(workspace),
        "role": who.role.value,
        "permissions": sorted(p.value for p in PERMISSIONS[who.role]),
        "workspaces": [_workspace_out(w) for w in accounts.workspaces_for(user)]
        if user
        else [_workspace_out(workspace)],
    }


@api.get(
    "/members",
    response={200: list[s.MemberOut], **ERRORS},
    tags=["workspace"],
    summary="Members of the workspace",
)
def list_members(request: HttpRequest) -> Any:
    who = need(request, Perm.MEMBERS_VIEW)
    return [
        {"id": m.pk, "email": m.user.email, "name": m.user.name, "role": m.role}
        for m in accounts.members(who.workspace_id)
    ]


@api.get(
    "/rubrics",
    response={200: list[s.RubricOut], **ERRORS},
    tags=["planning"],
    summary="Rubrics of the content plan",
)
def list_rubrics(request: HttpRequest) -> Any:
    who = need(request, Perm.POSTS_VIEW)
    return list(Workspace.objects.get(pk=who.workspace_id).rubrics.all())


@api.get(
    "/networks",
    response={200: list[s.NetworkOut], **ERRORS},
    tags=["channels"],
    summary="Networks, what each can do, and what connecting needs",
)
def list_networks(request: HttpRequest) -> Any:
    need(request, Perm.CHANNELS_VIEW)
    available = set(registry.available())
    out = []
    for key, name in registry.DISPLAY_NAMES.items():
        if key in available:
            adapter = registry.adapter(key)
            limits = {
                k: (v.total_seconds() if isinstance(v, dt.timedelta) else v)
                for k, v in dataclasses.asdict(adapter.limits).items()
            }
            out.append(
                {
                    "key": key,
                    "name": name,
                    "available": True,
                    "capabilities": sorted(c.value for c in adapter.capabilities),
                    "credential_fields": [
                        {
                            **dataclasses.asdict(f),
                            "label": str(f.label),
                            "help": str(f.help),
                        }  # lazy translations
                        for f in adapter.credential_fields
                    ],
                    "limits": limits,
                }
            )
        else:
            out.append(
                {
                    "key": key,
                    "name": name,
                    "available": False,
                    "capabilities": [],
                    "credential_fields": [],
                    "limits": {},
                }
            )
    return out


# -- channels ---------------------------------------------------------------------------


def _channel_out(c: Channel) -> dict[str, Any]:
    return {
        "id": c.pk,
        "network": c.network,
        "name": c.name,
        "remote_id": c.remote_id,
        "base_url": c.base_url,
        "status": c.status,
        "status_message": c.status_message,
        "color": c.color,
        "cadence_hours": c.cadence_hours,
        "has_credentials": bool(c.credentials_encrypted),
        "verified_at": c.verified_at,
        "created_at": c.created_at,
        "settings": channels.visible_settings(c),
        "last_error": c.last_error,
        "last_error_at": c.last_error_at,
        "last_error_job": c.last_error_job,
    }


@api.get(
    "/channels", response={200: list[s.ChannelOut], **ERRORS}, tags=["channels"], summary="Connected channels"
)
def list_channels(request: HttpRequest) -> Any:
    who = need(request, Perm.CHANNELS_VIEW)
    return [_channel_out(c) for c in channels.list_channels(who.workspace_id)]


@api.post(
    "/channels",
    response={201: s.ChannelOut, **ERRORS},
    tags=["channels"],
    summary="Connect a channel (credentials are verified against the network)",
)
def create_channel(request: HttpRequest, payload: s.ChannelIn) -> Any:
    who = need(request, Perm.CHANNELS_MANAGE)
    data = channels.ChannelInput(
        network=payload.network,
        name=payload.name,
        remote_id=payload.remote_id,
        credentials=payload.credentials,
        base_url=payload.base_url,
        settings=payload.settings,
        color=payload.color,
        cadence_hours=payload.cadence_hours,
    )
    return Status(201, _channel_out(channels.connect(who, data, verify=payload.verify)))


@api.get(
    "/channels/{channel_id}", response={200: s.ChannelOut, **ERRORS}, tags=["channels"], summary="One channel"
)
def get_channel(request: HttpRequest, channel_id: int) -> Any:
    who = need(request, Perm.CHANNELS_VIEW)
    return _channel_out(channels.get_channel(who.workspace_id, channel_id))


@api.patch(
    "/channels/{channel_id}",
    response={200: s.ChannelOut, **ERRORS},
    tags=["channels"],
    summary="Rename, reconnect or pause a channel",
)
def patch_channel(request: HttpRequest, channel_id: int, payload: s.ChannelPatch) -> Any:
    who = need(request, Perm.CHANNELS_MANAGE)
    changes = payload.dict(exclude_unset=True)
    verify = changes.pop("verify", True)
    return _channel_out(channels.update(who, channel_id, changes, verify=verify))


@api.delete(
    "/channels/{channel_id}",
    response={204: None, **ERRORS},
    tags=["channels"],
    summary="Remove a channel (its published history is kept)",
)
def delete_channel(request: HttpRequest, channel_id: int) -> Any:
    who = need(request, Perm.CHANNELS_MANAGE)
    channels.remove(who, channel_id)
    return Status(204, None)


# -- posts ------------------------------------------------------------------------------


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


def _post_out(p: Post, who: accounts.Actor | None = None) -> dict[str, Any]:
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


class PostFilters(s.Schema):
    status: str | None = None
    channel_id: int | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None


@api.get(
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
    return [_post_out(p, who) for p in qs[:500]]


@api.post(
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
    return Status(201, _post_out(compose.compose(compose.ComposeRequest(who, data)).raise_if_refused()))


@api.get(
    "/posts/{post_id}",
    response={200: s.PostOut, **ERRORS},
    tags=["posts"],
    summary="One post, its variants and their publication state",
)
def get_post(request: HttpRequest, post_id: int) -> Any:
    who = need(request, Perm.POSTS_VIEW)
    return _post_out(planning.get_post(who.workspace_id, post_id), who)


@api.patch(
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
    return _post_out(compose.compose(request_).raise_if_refused())


@api.delete(
    "/posts/{post_id}",
    response={204: None, **ERRORS},
    tags=["posts"],
    summary="Delete a post that has not been published",
)
def delete_post(request: HttpRequest, post_id: int) -> Any:
    who = need(request, Perm.POSTS_EDIT)
    planning.delete_post(who, post_id)
    return Status(204, None)


api.add_router(
    "/", "rupor.api.planning_api.router"
)  # plan: rubrics, mix, queue, approvals, import/export, iCal, media
api.add_router(
    "/", "rupor.api.inbox_api.router"
)  # inbox: comments and messages, replies, moderation, polling, webhook URL
api.add_router(
    "/", "rupor.api.analytics_api.router"
)  # analytics: post and channel figures, collecting, competitors
api.add_router(
    "/", "rupor.api.publishing_api.router"
)  # publishing: target history, resolve, retry, publish anyway, health
api.add_router("/", "rupor.api.notifications_api.router")  # outgoing webhooks: register, test, delete
