"""Attach the current workspace and the user's role in it to each browser request."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.http import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from rupor.accounts.models import Workspace
    from rupor.accounts.roles import Role

SESSION_KEY = "rupor_workspace"


class RuporRequest(HttpRequest):
    """A request as :class:`CurrentWorkspaceMiddleware` leaves it, for type checkers: Django's own
    request object with the current ``workspace`` and the user's ``role`` in it (``None`` for a
    visitor, or someone in no workspace yet). Views annotate ``request`` with it (or with a
    narrower subclass, such as the web's ``WorkspaceRequest``) instead of reading loose attributes."""

    workspace: Workspace | None
    role: Role | None


class CurrentWorkspaceMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: RuporRequest) -> HttpResponse:
        from rupor.accounts import service

        request.workspace = None
        request.role = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            slug = request.session.get(SESSION_KEY)
            ctx = service.resolve_membership(user, slug)
            if ctx is not None:
                request.workspace, request.role = ctx
                if slug != ctx[0].slug:
                    request.session[SESSION_KEY] = ctx[0].slug
        return self.get_response(request)
