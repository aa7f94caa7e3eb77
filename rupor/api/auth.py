"""API authentication: workspace API keys (Bearer) or the browser session (with CSRF)."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.http import HttpRequest
from ninja.security import APIKeyCookie, HttpBearer

from rupor.accounts import service as accounts
from rupor.accounts import throttle
from rupor.accounts.models import Workspace
from rupor.accounts.roles import Perm
from rupor.api.errors import ApiError

WORKSPACE_HEADER = "X-Rupor-Workspace"


class ApiRequest(HttpRequest):
    """A request past the API's authentication, for type checkers: django-ninja sets ``auth`` to
    what the authentication class below returned, the caller's :class:`~rupor.accounts.service.Actor`."""

    auth: accounts.Actor


class ApiKeyAuth(HttpBearer):
    openapi_description = "A workspace API key: `Authorization: Bearer rpr_…`. The key's role applies."

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        address = throttle.client_address(request)
        wait = throttle.wait_seconds((throttle.API_KEY_ADDRESS, address))
        if wait:
            # Refused before the key is looked at, so guessing cannot go on at full speed.
            raise ApiError(
                429,
                f"Too many requests with an unknown API key from this address; try again in {wait} seconds.",
            )
        actor = accounts.authenticate_api_key(token)
        if actor is None:
            throttle.record_failure((throttle.API_KEY_ADDRESS, address))
        return actor


class SessionWorkspaceAuth(APIKeyCookie):
    """The browser session. Unsafe methods need the CSRF token; the workspace comes from the
    ``X-Rupor-Workspace`` header (a slug) or the one selected in the UI."""

    param_name = settings.SESSION_COOKIE_NAME
    openapi_description = "The browser session cookie (CSRF token required for writes)."

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:  # noqa: ARG002 - django-ninja's APIKeyCookie signature; the session is read by Django
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        slug = request.headers.get(WORKSPACE_HEADER) or request.session.get("rupor_workspace")
        if request.headers.get(WORKSPACE_HEADER):
            workspace = Workspace.objects.filter(slug=slug, memberships__user=user).first()
            if workspace is None:
                return None
            actor = accounts.actor_for_user(user, workspace)
        else:
            ctx = accounts.resolve_membership(user, slug)
            actor = accounts.actor_for_user(user, ctx[0]) if ctx else None
        if actor is not None and accounts.two_factor_missing(user.pk, actor.workspace_id):
            # The web pages send such a member to set it up first; the API refuses the session.
            raise ApiError(
                403,
                "This workspace requires two-factor sign-in; set it up on your profile page (/profile/two-factor/) first.",
            )
        return actor


def actor(request: HttpRequest) -> accounts.Actor:
    """Who is calling: the typed read of ``request.auth`` (every operation requires one of the
    authentication classes above, so django-ninja has set it before the view runs)."""
    return cast(ApiRequest, request).auth


def need(request: HttpRequest, perm: Perm) -> accounts.Actor:
    """The caller, if their role allows ``perm``; a 403 in the API's error shape otherwise."""
    who = actor(request)
    if not who.can(perm):
        raise ApiError(403, f"Your role ({who.role.value}) does not allow this ({perm.value}).")
    return who
