"""What every page module of the web UI shares: the typed request, the access check
(:func:`workspace_view`) and a few small helpers. Pages live in ``*_views.py`` modules, one per
domain; each parses input, calls a domain's service and renders."""

from __future__ import annotations

from collections.abc import Callable
from functools import update_wrapper
from typing import Any, Concatenate, ParamSpec, cast

from django import forms as djforms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from rupor.accounts import service as accounts
from rupor.accounts.middleware import RuporRequest
from rupor.accounts.models import User, Workspace
from rupor.accounts.roles import Perm, Role, can
from rupor.channels import service as channels
from rupor.channels.models import Channel
from rupor.core.timezones import zone
from rupor.planning.models import Post
from rupor.publishing import service as publishing
from rupor.publishing.models import TargetState
from rupor.web import forms

P = ParamSpec("P")


class SignedInRequest(RuporRequest):
    """A request behind ``login_required``: ``user`` is a signed-in :class:`User`."""

    user: User


class WorkspaceRequest(SignedInRequest):
    """A request inside :func:`workspace_view`: signed in, with a current workspace and a role in
    it that allows the view's permission."""

    workspace: Workspace
    role: Role


WorkspacePage = Callable[Concatenate[WorkspaceRequest, P], HttpResponseBase]
View = Callable[Concatenate[HttpRequest, P], HttpResponseBase]


# -- access ------------------------------------------------------------------------------


def workspace_view(perm: Perm) -> Callable[[WorkspacePage[P]], View[P]]:
    """Login required, a current workspace required, and ``perm`` in it — else 403.

    The view receives a :class:`WorkspaceRequest`. Times render in the workspace's zone for the
    length of the request.
    """

    def decorate(view: WorkspacePage[P]) -> View[P]:
        def wrapper(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
            here = cast(RuporRequest, request)  # CurrentWorkspaceMiddleware has run
            if here.workspace is None or here.role is None:
                messages.info(request, _("Create your first workspace to get started."))
                return redirect("web:workspace_new")
            if not can(here.role, perm):
                raise PermissionDenied(_("Your role in this workspace does not allow this."))
            timezone.activate(zone(here.workspace.timezone))
            try:
                # Checked above: signed in (login_required), a workspace and a role that allows perm.
                return view(cast(WorkspaceRequest, request), *args, **kwargs)
            finally:
                timezone.deactivate()

        update_wrapper(wrapper, view)
        wrapper.required_perm = perm  # type: ignore[attr-defined]  # a mark on the function, read by the role matrix test
        guarded: View[P] = login_required(wrapper)
        return guarded

    return decorate


def workspace_request(request: HttpRequest) -> WorkspaceRequest:
    """``request`` as :func:`workspace_view` hands it to its view, for code that was given a plain
    ``HttpRequest``; a programming error outside such a view."""
    if getattr(request, "workspace", None) is None or getattr(request, "role", None) is None:
        raise RuntimeError("workspace_request() is for views behind workspace_view")
    return cast(WorkspaceRequest, request)


def _actor(request: HttpRequest) -> accounts.Actor:
    """The signed-in person acting in the current workspace with their role there."""
    here = workspace_request(request)
    return accounts.Actor(here.workspace.pk, here.role, user_id=here.user.pk, label=here.user.email)


def _ws(request: HttpRequest) -> Workspace:
    return workspace_request(request).workspace


# -- small helpers -----------------------------------------------------------------------


def _bind_error(form: djforms.Form, field: str | None, message: str) -> None:
    """Show a service's refusal next to the field it names (or above the form)."""
    name = (field or "").split(".")[-1] if field else None
    if field and field.startswith("credentials."):
        name = forms.CRED_PREFIX + field.split(".", 1)[1]
    form.add_error(name if name in form.fields else None, message)


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    # Only a path on this site: redirect() would read a bare word ("abc") as a view name.
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(fallback)


def _get_channel(request: HttpRequest, channel_id: int) -> Channel:
    """A channel of the current workspace; another workspace's (or none) is a 404."""
    try:
        return channels.get_channel(_ws(request).pk, channel_id)
    except channels.ChannelError as exc:
        raise Http404 from exc


def _target_rows(posts: list[Post]) -> dict[int, list[dict[str, Any]]]:
    """Per post: each channel with its publication target's state (the dashboard, the post list)."""
    variants = [v for p in posts for v in p.variants.all()]
    states = publishing.summaries([v.pk for v in variants])
    labels = dict(TargetState.choices)
    rows: dict[int, list[dict[str, Any]]] = {}
    for post in posts:
        rows[post.pk] = []
        for v in post.variants.all():
            summary = states.get(v.pk)
            state = summary.state if summary else TargetState.DRAFT
            rows[post.pk].append(
                {
                    "channel": v.channel,
                    "state": state,
                    "label": labels.get(state, state),
                    "error": summary.error_message if summary else "",
                    "url": summary.remote_url if summary else "",
                    "target_id": summary.id if summary else None,
                }
            )
    return rows
