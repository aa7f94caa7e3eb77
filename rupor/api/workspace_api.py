"""The caller and their workspace: who is calling (``/me``), the members, the rubrics."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from rupor.accounts import service as accounts
from rupor.accounts.models import Membership, User, Workspace
from rupor.accounts.roles import PERMISSIONS, Perm
from rupor.api import schemas as s
from rupor.api.auth import actor, need
from rupor.api.errors import ERRORS

router = Router()


def _workspace_out(w: Workspace) -> dict[str, Any]:
    return {
        "id": w.pk,
        "name": w.name,
        "slug": w.slug,
        "timezone": w.timezone,
        "late_window_minutes": w.late_window_minutes,
        "approval": w.approval,
        "require_two_factor": w.require_two_factor,
    }


@router.get(
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
        "two_factor": accounts.has_two_factor(user.pk) if user else None,
    }


@router.get(
    "/members",
    response={200: list[s.MemberOut], **ERRORS},
    tags=["workspace"],
    summary="Members of the workspace",
)
def list_members(request: HttpRequest) -> Any:
    who = need(request, Perm.MEMBERS_VIEW)
    memberships = list(accounts.members(who.workspace_id))
    with_two_factor = accounts.two_factor_users([m.user_id for m in memberships])
    return [_member_out(m, m.user_id in with_two_factor) for m in memberships]


def _member_out(m: Membership, two_factor: bool | None = None) -> dict[str, Any]:
    return {
        "id": m.pk,
        "email": m.user.email,
        "name": m.user.name,
        "role": m.role,
        "replies_need_approval": m.replies_need_approval,
        "two_factor": accounts.has_two_factor(m.user_id) if two_factor is None else two_factor,
    }


@router.put(
    "/members/{membership_id}/reply-approval",
    response={200: s.MemberOut, **ERRORS},
    tags=["workspace"],
    summary="Whether a member's inbox replies wait for approval (not for roles that approve)",
)
def set_reply_approval(request: HttpRequest, membership_id: int, payload: s.ReplyApprovalIn) -> Any:
    who = need(request, Perm.MEMBERS_MANAGE)
    return _member_out(accounts.set_reply_approval(who, membership_id, payload.required))


@router.put(
    "/workspace/two-factor",
    response={200: s.WorkspaceOut, **ERRORS},
    tags=["workspace"],
    summary="Require two-factor sign-in of the members, or leave it to each (owners)",
    description=(
        "Members of a workspace that requires it are sent to set up two-factor sign-in before anything else "
        "in it, and the API refuses their browser session until they have. API keys are not affected: a key "
        "is not a person's sign-in. Someone turning it on must use two-factor sign-in themselves (409)."
    ),
)
def set_two_factor_requirement(request: HttpRequest, payload: s.TwoFactorRequirementIn) -> Any:
    who = need(request, Perm.WORKSPACE_SECURITY)
    return _workspace_out(accounts.set_two_factor_required(who, payload.required))


@router.get(
    "/rubrics",
    response={200: list[s.RubricOut], **ERRORS},
    tags=["planning"],
    summary="Rubrics of the content plan",
)
def list_rubrics(request: HttpRequest) -> Any:
    who = need(request, Perm.POSTS_VIEW)
    return list(Workspace.objects.get(pk=who.workspace_id).rubrics.all())
